import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { himas, startHimas } from './cli-runner';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Issue 16: `himas status`, `agents` and `audit` answer while `himas train` holds the store (the
 * training process serves reads on a local socket), and still refuse a second `himas train`.
 */
describe('reading the store while a run trains', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = mkdtempSync(path.join(os.tmpdir(), 'himas-live-'));
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('status, agents and audit answer during a real `himas train`; a second train is refused', async () => {
    const child = startHimas(
      ['train', '--rounds', '3', '--run-id', 'live', '--out', 'out', '--local-epochs', '1'],
      {
        cwd,
      },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let running = true;
    void exited.then(() => (running = false));
    try {
      // Wait for the run document (the store exists and the run started).
      let during: ReturnType<typeof himas> | undefined;
      const deadline = Date.now() + 180_000;
      while (running && Date.now() < deadline) {
        if (existsSync(path.join(cwd, '.himas', 'himas.duckdb'))) {
          const status = himas(['status'], { cwd, timeoutMs: 30_000 });
          if (status.status === 0 && /live\s+running/.test(status.stdout)) {
            during = status;
            break;
          }
        }
        await sleep(250);
      }
      expect(running).toBe(true);
      expect(during?.stderr).toBe('');
      expect(during?.stdout).toMatch(/^live\s+running\s+running\s+\d\/3/m);

      const one = himas(['status', 'live'], { cwd, timeoutMs: 30_000 });
      expect(one.status).toBe(0);
      expect(one.stdout).toMatch(/Run live: running, round \d of 3/);
      const agents = himas(['agents', 'live'], { cwd, timeoutMs: 30_000 });
      expect(agents.status).toBe(0);
      expect(agents.stdout).toMatch(/Run live: running/);
      expect(agents.stdout).toMatch(/^Clinical decision support .*:\n {2}serves (live-r\d{4}|nothing: .+)$/m);
      const audit = himas(['audit', '--run', 'live'], { cwd, timeoutMs: 30_000 });
      expect(audit.status).toBe(0);
      // Possibly none yet this early; every record there is is the run's.
      for (const line of audit.stdout.split('\n').filter(Boolean))
        expect(JSON.parse(line)).toMatchObject({ runId: 'live' });

      // The store is still one writer's: another run is refused at once with the busy exit code.
      const second = himas(['train', '--rounds', '1', '--run-id', 'other', '--out', 'out2'], {
        cwd,
        timeoutMs: 60_000,
      });
      expect(second.status).toBe(6);
      expect(second.stderr).toMatch(/in use by another process/);
      expect(running).toBe(true);
    } finally {
      if (running) await exited;
    }
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/Error:/);
    // After the run, readers open the file itself.
    const after = himas(['status'], { cwd });
    expect(after.status).toBe(0);
    expect(after.stdout).toMatch(/^live\s+completed\s+succeeded\s+3\/3/m);
    expect(existsSync(path.join(cwd, '.himas', 'store.sock'))).toBe(false);
  }, 400_000);
});
