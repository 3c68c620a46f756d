import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exitCode } from '../../src/cli/exit-codes';
import { expectOneLineError, himas, REPO_ROOT, type CliResult } from './cli-runner';

/**
 * Issue 20, storage faults: a full disk, a read-only store, a damaged DuckDB file and a truncated
 * or altered model blob each end in one line that names the file and says what to do, with the
 * exit code that says so, and the work the store had accepted is still there, unchanged.
 *
 * The faults are real: a small tmpfs filled up, mounted in a private user and mount namespace
 * (`unshare -rm`: no root needed where unprivileged user namespaces are allowed), an immutable
 * file (chattr +i, when running as root, which ignores permissions) or a file without write
 * permission, and bytes overwritten.
 */
const HIMAS = path.join(REPO_ROOT, 'bin', 'himas.js');
const TRAINING = [
  ...['--rounds', '1', '--hospitals', '3', '--patients', '600', '--seed', '7', '--hidden-units', '8'],
  ...['--noise-multiplier', '0', '--patient-privacy', 'none', '--secure-aggregation', 'false'],
  ...['--job-runner', 'in-process', '--deadline-seconds', '30'],
];

describe('storage faults of the embedded store', () => {
  let cwd: string;
  /** A home holding one completed run, `accepted`: the work no fault may corrupt. */
  let pristine: string;
  let stay: string;
  let acceptedStatus: string;
  let acceptedRisk: string;

  beforeAll(() => {
    cwd = mkdtempSync(path.join(os.tmpdir(), 'himas-storage-'));
    pristine = path.join(cwd, 'pristine');
    const trained = himas(
      ['train', ...TRAINING, '--home', pristine, '--run-id', 'accepted', '--out', 'accepted'],
      {
        cwd,
      },
    );
    if (trained.status !== 0) throw new Error(`the run to protect failed:\n${trained.stderr}`);
    stay = path.join(cwd, 'stay.json');
    writeFileSync(
      stay,
      JSON.stringify(firstTestStay(path.join(cwd, 'accepted', 'data', 'h1-academic.test.csv'))),
    );
    acceptedStatus = statusOf(pristine);
    acceptedRisk = predict(pristine).stdout;
    expect(acceptedRisk).toMatch(/risk/i);
  }, 180_000);
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  /** A copy of the pristine home to break. */
  function copyOfStore(name: string): string {
    const home = path.join(cwd, name);
    cpSync(pristine, home, { recursive: true });
    return home;
  }
  const statusOf = (home: string) => {
    const result = himas(['status', 'accepted', '--home', home, '--json'], { cwd });
    if (result.status !== 0) throw new Error(result.stderr);
    return result.stdout;
  };
  const predict = (home: string) =>
    himas(['predict', '--run', 'accepted', '--stay', stay, '--home', home, '--json'], { cwd });
  const storeFile = (home: string) => path.join(home, 'himas.duckdb');
  const weights = (home: string) => path.join(home, 'blobs', 'models', 'accepted-r0001', 'weights.bin');

  it('a full disk: the run stops with one line naming the file that did not fit, and the accepted run is intact', () => {
    const disk = path.join(cwd, 'small-disk');
    const home = path.join(disk, 'home');
    mkdirSync(disk);
    const out = path.join(cwd, 'second');
    // A real full disk needs a tmpfs of our own: a private user and mount namespace gives one
    // without root. A machine that forbids both cannot run this test, and says so (not a skip).
    if (!userNamespaces())
      throw new Error('this test mounts a small tmpfs in `unshare -rm`: allow unprivileged user namespaces');
    const script = [
      'set -e',
      'mount -t tmpfs -o size=8m tmpfs "$DISK"',
      'mkdir "$DISK/home"',
      'cp -a "$PRISTINE/." "$DISK/home/"',
      // The rest of the disk taken: the new run's first write does not fit.
      'dd if=/dev/zero of="$DISK/filler" bs=64k 2>/dev/null || true',
      'set +e',
      `node "$HIMAS" train ${TRAINING.join(' ')} --data "$DATA" --home "$DISK/home" --run-id second --out "$OUT" 2>"$OUT.stderr"`,
      'echo "$?" > "$OUT.status"',
      // Still inside the namespace (the tmpfs goes with it): what the store says of the accepted run.
      'node "$HIMAS" status accepted --home "$DISK/home" --json > "$OUT.accepted.json"',
      'node "$HIMAS" predict --run accepted --stay "$STAY" --home "$DISK/home" --json > "$OUT.risk.json"',
    ].join('\n');
    const data = path.join(cwd, 'accepted', 'data');
    const env = { ...process.env, DISK: disk, PRISTINE: pristine, OUT: out, HIMAS, STAY: stay, DATA: data };
    const shell = spawnSync('unshare', ['-rm', 'sh', '-c', script], {
      env,
      encoding: 'utf8',
      timeout: 240_000,
    });
    expect(shell.error).toBeUndefined();
    const stderr = readFileSync(`${out}.stderr`, 'utf8');
    const last = stderr.trim().split('\n').at(-1)!;
    expect(Number(readFileSync(`${out}.status`, 'utf8'))).not.toBe(0);
    expect(last).toMatch(
      new RegExp(`^himas: error: .*the disk holding ${escape(home)}/\\S+ is full .*free space on that disk`),
    );
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(`${out}.accepted.json`, 'utf8')).toBe(acceptedStatus);
    expect(readFileSync(`${out}.risk.json`, 'utf8')).toBe(acceptedRisk);
  }, 300_000);

  it('a read-only store file: one line naming it, exit code storage, and the file is untouched', () => {
    const home = copyOfStore('read-only');
    const before = sha256(storeFile(home));
    const unlock = makeReadOnly(storeFile(home));
    let result: CliResult;
    try {
      result = himas(['train', ...TRAINING, '--home', home, '--run-id', 'second', '--out', 'read-only-run'], {
        cwd,
      });
    } finally {
      unlock();
    }
    expectOneLineError(
      result,
      new RegExp(`^himas: error: ${escape(storeFile(home))} cannot be written .*make it writable`),
    );
    expect(result.status).toBe(exitCode('storage'));
    expect(sha256(storeFile(home))).toBe(before);
    expect(statusOf(home)).toBe(acceptedStatus);
  });

  it('a damaged store file: reads and new runs refuse it in one line, and it is not written', () => {
    const home = copyOfStore('damaged-store');
    // Past DuckDB's file headers, in the first data block (checksummed).
    overwrite(storeFile(home), 12_288, Buffer.alloc(4096, 0xde));
    const damaged = sha256(storeFile(home));
    for (const args of [
      ['status', 'accepted', '--home', home],
      ['train', ...TRAINING, '--home', home, '--run-id', 'second', '--out', 'damaged-run'],
    ]) {
      const result = himas(args, { cwd });
      expectOneLineError(
        result,
        new RegExp(`^himas: error: ${escape(storeFile(home))} is damaged .*restore it from a backup`),
      );
      expect(result.status).toBe(exitCode('storage'));
    }
    expect(sha256(storeFile(home))).toBe(damaged);
  });

  it('a store file that is not a DuckDB database at all', () => {
    const home = copyOfStore('foreign-store');
    writeFileSync(storeFile(home), 'not a database\n'.repeat(400));
    const result = himas(['status', '--home', home], { cwd });
    expectOneLineError(result, /is damaged \(IO Error: .*not a valid DuckDB database file/);
    expect(result.status).toBe(exitCode('storage'));
  });

  it.each([
    ['truncated', (file: string) => writeFileSync(file, readFileSync(file).subarray(0, 100))],
    ['altered', (file: string) => overwrite(file, 40, Buffer.from([readFileSync(file)[40]! ^ 1]))],
  ])(
    'a %s model blob: the model is refused in one line naming its file, and nothing else changed',
    (_, damage) => {
      const home = copyOfStore(`blob-${_}`);
      const original = readFileSync(weights(home));
      damage(weights(home));
      const result = predict(home);
      expectOneLineError(
        result,
        new RegExp(`^himas: error: ${escape(weights(home))} is damaged .*restore it from a backup`),
      );
      expect(result.status).toBe(exitCode('storage'));
      // Restoring the one file restores the model exactly: nothing else was touched.
      writeFileSync(weights(home), original);
      expect(predict(home).stdout).toBe(acceptedRisk);
      expect(statusOf(home)).toBe(acceptedStatus);
    },
  );
});

function userNamespaces(): boolean {
  return spawnSync('unshare', ['-rm', 'true']).status === 0;
}

/** Immutable for root (which write permissions do not stop), read-only permissions otherwise. */
function makeReadOnly(file: string): () => void {
  if (process.getuid?.() === 0) {
    const locked = spawnSync('chattr', ['+i', file], { encoding: 'utf8' });
    if (locked.status !== 0) throw new Error(`chattr +i ${file} failed: ${locked.stderr}`);
    return () => spawnSync('chattr', ['-i', file]);
  }
  const mode = statSync(file).mode;
  spawnSync('chmod', ['a-w', file]);
  return () => spawnSync('chmod', [(mode & 0o777).toString(8), file]);
}

function overwrite(file: string, offset: number, bytes: Buffer): void {
  const content = readFileSync(file);
  bytes.copy(content, offset);
  writeFileSync(file, content);
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The first stay of a test split, as `himas predict --stay` takes it (features only). */
function firstTestStay(csv: string): Record<string, unknown> {
  const [header, first] = readFileSync(csv, 'utf8').trim().split('\n');
  const values = first!.split(',');
  const stay: Record<string, unknown> = {};
  for (const [i, column] of header!.split(',').entries()) {
    if (['label_inhospital_mortality', 'admittime', 'vasopressor_day1'].includes(column)) continue;
    const value = values[i]!;
    stay[column] =
      column === 'stay_id' || column === 'first_careunit' ? value : value === '' ? null : Number(value);
  }
  return stay;
}
