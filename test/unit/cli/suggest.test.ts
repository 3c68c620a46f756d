import { closestName, didYouMean } from '../../../src/cli/suggest';

describe('did you mean', () => {
  const commands = [
    'data',
    'train',
    'predict',
    'status',
    'agents',
    'audit',
    'stack',
    'workflows',
    'privacy',
    'bench',
  ];

  it('finds a swapped, dropped or doubled letter', () => {
    expect(closestName('trian', commands)).toBe('train');
    expect(closestName('stats', commands)).toBe('status');
    expect(closestName('predcit', commands)).toBe('predict');
    expect(closestName('workflow', commands)).toBe('workflows');
  });

  it('matches config keys across snake, kebab and camel case', () => {
    expect(closestName('local_epochs', ['rounds', 'localEpochs', 'batchSize'])).toBe('localEpochs');
    expect(closestName('local-epoch', ['rounds', 'localEpochs'])).toBe('localEpochs');
    expect(didYouMean('--roundz', ['--rounds', '--seed'])).toBe(" (did you mean '--rounds'?)");
  });

  it('stays quiet when nothing is close', () => {
    expect(closestName('run', commands)).toBeUndefined();
    expect(closestName('xyzzy', commands)).toBeUndefined();
    expect(didYouMean('completely-different', commands)).toBe('');
  });
});
