import * as path from 'node:path';
import { AGENT_SUBSCRIPTIONS, AGGREGATOR_SUBSCRIPTIONS } from '../../../src/local/embedded-platform';
import { FUNCTIONS } from '../../../src/local/stack/stack-control';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** What functions/<folder>/index.ts registers with functions-framework, observed by loading it. */
function registered(folder: string): { target: string; signatureType: 'cloudevent' | 'http' }[] {
  const found: { target: string; signatureType: 'cloudevent' | 'http' }[] = [];
  jest.isolateModules(() => {
    jest.doMock('@google-cloud/functions-framework', () => ({
      cloudEvent: (target: string) => found.push({ target, signatureType: 'cloudevent' }),
      http: (target: string) => found.push({ target, signatureType: 'http' }),
    }));
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- isolateModules needs a synchronous load
    require(path.join(REPO_ROOT, 'functions', folder, 'index.ts'));
    jest.dontMock('@google-cloud/functions-framework');
  });
  return found;
}

describe('the functions the emulator stack serves', () => {
  it('each folder registers its target with the signature type functions-framework is started with', () => {
    const quiet = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    for (const fn of FUNCTIONS)
      expect(registered(fn.folder)).toEqual([{ target: fn.target, signatureType: fn.signatureType }]);
    quiet.mockRestore();
  });

  it('every push subscription (the names Terraform creates) has a function to push to', () => {
    const targets = FUNCTIONS.map((f) => f.target);
    for (const s of AGENT_SUBSCRIPTIONS) expect(targets).toContain(s.entryPoint);
    expect(AGGREGATOR_SUBSCRIPTIONS.length).toBeGreaterThan(0);
    expect(targets).toContain('aggregate');
    // Process and log names are unique: stack.json and `restartFunction` look functions up by name.
    expect(new Set(FUNCTIONS.map((f) => f.name)).size).toBe(FUNCTIONS.length);
  });
});
