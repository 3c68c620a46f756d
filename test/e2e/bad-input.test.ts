import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expectOneLineError, himas, REPO_ROOT } from './cli-runner';

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

  it('an unknown flag, with the nearest one', () => {
    const result = himas(['train', '--roundz', '3'], { cwd });
    expectOneLineError(result, /unknown flag --roundz for `himas train` \(did you mean '--rounds'\?\)/);
    expect(result.status).toBe(2);
  });

  it('an unknown command, with the nearest one', () => {
    const result = himas(['trian'], { cwd });
    expectOneLineError(result, /unknown command 'trian' \(did you mean 'train'\?\); commands: data, train/);
    expect(result.status).toBe(2);
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

  it('a config file with an unknown field, with the nearest one', () => {
    writeFileSync(path.join(cwd, 'bad.yaml'), 'rounds: 3\nroundz: 4\nlocal_epochs: 2\n');
    expectOneLineError(
      himas(['train', '--config', 'bad.yaml'], { cwd }),
      /bad\.yaml: unknown field\(s\) 'roundz' \(did you mean 'rounds'\?\), 'local_epochs' \(did you mean 'localEpochs'\?\)/,
    );
  });

  it('negative numbers reach the field check, which says what the field allows', () => {
    const cases: [string[], RegExp][] = [
      [['--rounds', '-3'], /config field 'rounds' = -3 \(from --rounds\): must be ≥ 1/],
      [['--clip-norm', '-1'], /config field 'clipNorm' = -1 \(from --clip-norm\): must be > 0/],
      [
        ['--noise-multiplier', '-1'],
        /config field 'noiseMultiplier' = -1 \(from --noise-multiplier\): must be ≥ 0/,
      ],
      [['--patients', '-100'], /config field 'patients' = -100 \(from --patients\): must be ≥ 200/],
    ];
    for (const [args, pattern] of cases) {
      const result = himas(['train', ...args], { cwd: fresh() });
      expectOneLineError(result, pattern);
      expect(result.stderr).not.toMatch(/ambiguous/);
      expect(result.status).toBe(2);
    }
    // A value that looks like a flag: one line, and how to pass it anyway.
    expectOneLineError(
      himas(['train', '--data', '-x'], { cwd }),
      /--data needs a value, and the next argument starts with '-' like a flag; to pass such a value write --data=VALUE/,
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
      himas(
        [
          'train',
          '--data',
          broken,
          '--rounds',
          '1',
          '--job-runner',
          'in-process',
          '--secure-aggregation',
          'false',
        ],
        { cwd },
      ),
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

  /** A folder of its own for a command that must write nothing: what is in it afterwards is what it wrote. */
  const fresh = () => mkdtempSync(path.join(cwd, 'clean-'));
  const writtenIn = (dir: string) => readdirSync(dir);

  it('checks settings that depend on the hospitals before anything is written or any ε spent', () => {
    const ledgers = () =>
      existsSync(path.join(data, 'privacy-ledger')) ? readdirSync(path.join(data, 'privacy-ledger')) : [];
    const spentBefore = ledgers();
    const dir = fresh();
    const quorum = himas(['train', '--data', data, '--quorum', '5', '--job-runner', 'in-process'], {
      cwd: dir,
    });
    expectOneLineError(
      quorum,
      /--quorum 5 is more than the 2 hospitals of this run \(h1-academic, h2-cardiac\): no round could close; use at most 2/,
    );
    expect(quorum.status).toBe(2);
    // The generated cohort is checked in memory, before it is written.
    expectOneLineError(
      himas(['train', '--quorum', '5'], { cwd: dir }),
      /--quorum 5 is more than the 3 hospitals/,
    );
    const tooMany = himas(['train', '--hospitals', '10', '--run-id', 'ten'], { cwd: dir });
    expectOneLineError(tooMany, /hospitals=10: allowed an integer from 1 to 5 for preset 'archetypes'/);
    // A budget that cannot pay for a single round would let every hospital spend its patients' ε for nothing.
    const budget = himas(['train', '--noise-multiplier', '1', '--epsilon-budget', '0.5', '--rounds', '3'], {
      cwd: dir,
    });
    expectOneLineError(
      budget,
      /--epsilon-budget 0\.5 cannot pay for one round: a round with noise multiplier 1 costs hospital-level ε = 4\.729 .*`himas privacy plan --target-epsilon 0\.5 --delta 0\.00001 --sampling-rate 1 --steps 3`/,
    );
    expect(writtenIn(dir)).toEqual([]);
    expect(ledgers()).toEqual(spentBefore);
  });

  it('secure aggregation over too few hospitals, or with a quorum below the minimum, is refused before any data is read', () => {
    const dir = fresh();
    const two = himas(['train', '--hospitals', '2'], { cwd: dir });
    expectOneLineError(
      two,
      /config field 'hospitals' = 2 \(from --hospitals\): secure aggregation needs at least 3 hospitals \(got 2\).*add hospital-level noise \(--noise-multiplier > 0\).*or turn secure aggregation off knowingly \(--secure-aggregation false\)/,
    );
    expect(two.status).toBe(2);
    const quorum = himas(['train', '--quorum', '1'], { cwd: dir });
    expectOneLineError(
      quorum,
      /config field 'quorum' = 1 \(from --quorum\): quorum 1 is below the secure-aggregation minimum of 3 hospitals per sum.*raise --quorum to ≥ 3, or turn secure aggregation off knowingly/,
    );
    expect(quorum.status).toBe(2);
    const lowered = himas(['train', '--secure-aggregation-min-hospitals', '2'], { cwd: dir });
    expectOneLineError(lowered, /a minimum of 2 hospitals per unmasked sum .* add hospital-level noise/);
    // A folder of two hospitals whose files are not even CSV: the refusal comes before they are read.
    const unread = path.join(dir, 'two-hospitals');
    mkdirSync(unread);
    for (const h of ['h1-academic', 'h2-cardiac'])
      for (const split of ['train', 'test'])
        writeFileSync(path.join(unread, `${h}.${split}.csv`), 'not,a\ncohort');
    const folder = himas(['train', '--data', unread, '--job-runner', 'in-process'], { cwd: dir });
    expectOneLineError(
      folder,
      /refused before reading any data: secure aggregation needs at least 3 hospitals \(got 2\)/,
    );
    expect(folder.status).toBe(2);
    expect(writtenIn(dir)).toEqual(['two-hospitals']);
  });

  it('run ids: characters and no path segments, checked before anything is written', () => {
    const dir = fresh();
    for (const id of ['a b', '../../etc/x', '-starts-with-dash', 'x'.repeat(129)]) {
      const result = himas(['train', `--run-id=${id}`], { cwd: dir });
      expectOneLineError(
        result,
        /--run-id '.*' is not a run id: use 1 to 128 letters, digits, '\.', '_' or '-'/,
      );
      expect(result.status).toBe(2);
    }
    expectOneLineError(
      himas(['train', '--resume', '../x'], { cwd: dir }),
      /--resume '\.\.\/x' is not a run id/,
    );
    expect(writtenIn(dir)).toEqual([]);
    expect(existsSync(path.join(cwd, 'etc'))).toBe(false);
  });

  it("another run's report in --out is kept unless --force says to replace it", () => {
    const dir = fresh();
    mkdirSync(path.join(dir, 'out'));
    writeFileSync(path.join(dir, 'out', 'report.json'), '{"runId":"earlier"}');
    const result = himas(
      ['train', '--data', data, '--out', 'out', '--rounds', '1', '--secure-aggregation', 'false'],
      { cwd: dir },
    );
    expectOneLineError(
      result,
      /out\/report\.json already holds a run's report; choose another --out, or pass --force to replace it/,
    );
    expect(result.status).toBe(2);
    expect(readFileSync(path.join(dir, 'out', 'report.json'), 'utf8')).toBe('{"runId":"earlier"}');
  });

  it('missing and read-only output folders: one line naming the path and the cause', () => {
    const dir = fresh();
    const file = path.join(data, 'h1-academic.train.csv');
    expectOneLineError(
      himas(['train', '--out', path.join(file, 'run')], { cwd: dir }),
      /cannot write the run folder \S+h1-academic\.train\.csv\/run: \S+h1-academic\.train\.csv is a file, not a folder/,
    );
    expectOneLineError(
      himas(['audit', '--out', 'no/such/folder/audit.jsonl'], { cwd: dir }),
      /cannot write the audit log no\/such\/folder\/audit\.jsonl: the folder \S+no\/such\/folder does not exist/,
    );
    // A read-only file system, mounted in a mount namespace of the command's own (gone with it).
    const ro = path.join(dir, 'ro');
    mkdirSync(ro);
    const cli = path.join(REPO_ROOT, 'bin', 'himas.js');
    const underRo = (args: string) =>
      spawnSync(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          `mount -t tmpfs -o ro,size=1m tmpfs ${ro} && exec "${process.execPath}" ${cli} ${args}`,
        ],
        { cwd: dir, encoding: 'utf8', env: { ...process.env, HIMAS_HOME: path.join(dir, '.himas') } },
      );
    const cases: [string, RegExp][] = [
      [
        `train --out ${ro}/run --rounds 1`,
        /cannot write the run folder \S+\/ro\/run: \S+\/ro cannot be written: the file system is read-only \(EROFS\)/,
      ],
      [
        `train --home ${ro}/store --rounds 1`,
        /cannot write the HIMAS store \S+\/ro\/store: \S+\/ro cannot be written: the file system is read-only \(EROFS\)/,
      ],
      [
        `data generate --out ${ro}/cohort`,
        /cannot write the cohort folder \S+\/ro\/cohort: \S+\/ro cannot be written: the file system is read-only \(EROFS\)/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const result = underRo(args);
      expectOneLineError(
        { status: result.status, stdout: result.stdout, stderr: result.stderr, seconds: 0 },
        pattern,
      );
      expect(result.status).toBe(2);
    }
    expect(writtenIn(dir).sort()).toEqual(['ro']);
  });

  it('predict: --stay with --input/--out, and --run with a CSV, are errors, not silently ignored', () => {
    const csv = path.join(data, 'h1-academic.test.csv');
    writeFileSync(path.join(cwd, 'one-stay.json'), '{"first_careunit":"MICU"}');
    expectOneLineError(
      himas(
        ['predict', '--model', 'some-model', '--stay', 'one-stay.json', '--input', csv, '--out', 'x.csv'],
        { cwd },
      ),
      /--stay scores one stay and --input\/--out score a CSV file: pass one or the other/,
    );
    expectOneLineError(
      himas(['predict', '--run', 'r', '--input', csv], { cwd }),
      /--run serves one stay \(--stay\); to score a CSV, pass the run folder's model: --model runs\/<run id>\/model/,
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
