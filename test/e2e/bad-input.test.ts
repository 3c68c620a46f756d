import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expectOneLineError, himas } from './cli-runner';

/** Every kind of bad input ends in one line naming the problem and a non-zero exit, never a stack trace. */
describe('himas rejects bad input clearly', () => {
  let cwd: string;
  let data: string;

  beforeAll(() => {
    cwd = mkdtempSync(path.join(os.tmpdir(), 'himas-bad-'));
    data = path.join(cwd, 'data');
    const generated = himas(
      ['data', 'generate', '--hospitals', '2', '--patients', '600', '--seed', '7', '--out', data],
      { cwd },
    );
    if (generated.status !== 0) throw new Error(generated.stderr);
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('an unknown flag', () => {
    expectOneLineError(himas(['train', '--roundz', '3'], { cwd }), /unknown flag --roundz for `himas train`/);
  });

  it('an unknown command', () => {
    expectOneLineError(himas(['trian'], { cwd }), /unknown command 'trian'/);
  });

  it('a malformed config value', () => {
    expectOneLineError(
      himas(['train', '--rounds', 'abc'], { cwd }),
      /config field 'rounds' = 'abc' \(from --rounds\): expected a number/,
    );
    expectOneLineError(
      himas(['train', '--rounds', '0'], { cwd }),
      /config field 'rounds' = 0 \(from --rounds\): must be ≥ 1/,
    );
    expectOneLineError(
      himas(['train', '--batch-size', '12'], { cwd, env: { HIMAS_LOCAL_EPOCHS: '2.5' } }),
      /config field 'localEpochs' = 2.5 \(from HIMAS_LOCAL_EPOCHS\): must be an integer/,
    );
  });

  it('a config file with an unknown field', () => {
    writeFileSync(path.join(cwd, 'bad.yaml'), 'rounds: 3\nroundz: 4\n');
    expectOneLineError(
      himas(['train', '--config', 'bad.yaml'], { cwd }),
      /bad\.yaml: unknown field\(s\) 'roundz'/,
    );
  });

  it('a CSV with a missing column', () => {
    const broken = path.join(cwd, 'missing-column');
    mkdirSync(broken);
    const train = readFileSync(path.join(data, 'h1-academic.train.csv'), 'utf8').split('\n');
    const header = train[0].split(',');
    const drop = header.indexOf('bun_max');
    const without = train.map((line) =>
      line
        .split(',')
        .filter((_, i) => i !== drop)
        .join(','),
    );
    writeFileSync(path.join(broken, 'h1-academic.train.csv'), without.join('\n'));
    writeFileSync(path.join(broken, 'h1-academic.test.csv'), without.join('\n'));
    // Checked before anything starts: one line, not a failed hospital job mid-run.
    expectOneLineError(
      himas(['train', '--data', broken, '--rounds', '1', '--job-runner', 'in-process'], { cwd }),
      /h1-academic\.train\.csv: missing column\(s\) 'bun_max'/,
    );
  });

  it('a CSV with a non-numeric value', () => {
    const broken = path.join(cwd, 'not-numeric');
    mkdirSync(broken);
    const lines = readFileSync(path.join(data, 'h1-academic.test.csv'), 'utf8').split('\n');
    const header = lines[0].split(',');
    const cells = lines[3].split(',');
    cells[header.indexOf('heart_rate_mean')] = 'fast';
    lines[3] = cells.join(',');
    writeFileSync(path.join(broken, 'stays.csv'), lines.join('\n'));
    mkdirSync(path.join(cwd, 'some-model'));
    // predict reads the CSV before it needs a usable model, so the CSV problem is reported first.
    writeFileSync(path.join(cwd, 'some-model', 'model.json'), '{}');
    writeFileSync(path.join(cwd, 'some-model', 'weights.bin'), '');
    expectOneLineError(
      himas(
        ['predict', '--model', 'some-model', '--input', path.join(broken, 'stays.csv'), '--out', 'x.csv'],
        { cwd },
      ),
      /stays\.csv line 4: column 'heart_rate_mean' has 'fast'/,
    );
  });

  it('a model directory that does not exist', () => {
    expectOneLineError(
      himas(
        [
          'predict',
          '--model',
          'no/such/model',
          '--input',
          path.join(data, 'h1-academic.test.csv'),
          '--out',
          'x.csv',
        ],
        { cwd },
      ),
      /model directory no\/such\/model does not exist/,
    );
  });

  it('a data folder that does not exist, and a resume of an unknown run', () => {
    expectOneLineError(
      himas(['train', '--data', 'nowhere'], { cwd }),
      /data folder \S*nowhere does not exist/,
    );
    expectOneLineError(
      himas(['train', '--resume', 'no-such-run'], { cwd }),
      /no HIMAS store|no run 'no-such-run'/,
    );
  });

  it('generates the same cohort twice for the same seed', () => {
    const again = path.join(cwd, 'again');
    himas(['data', 'generate', '--hospitals', '2', '--patients', '600', '--seed', '7', '--out', again], {
      cwd,
    });
    expect(readFileSync(path.join(again, 'h1-academic.train.csv'), 'utf8')).toBe(
      readFileSync(path.join(data, 'h1-academic.train.csv'), 'utf8'),
    );
  });
});
