import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface, type Interface } from 'node:readline';

/**
 * The native peers of the aggregation bench, run by python3 + numpy when they are installed (the
 * bench installs nothing): plain read passes over the updates' bytes (the machine's memory floor is
 * the fastest of them; see FLOOR_PASSES) and the same DP-FedAvg in numpy, written as Flower's server-side fixed
 * clipping does it (flwr `DifferentialPrivacyServerSideFixedClipping`: per update `get_norm`,
 * scale by min(1, C/‖Δ‖), `reduce(np.add, …)`, Gaussian noise of std z·C, divide by m). One
 * long-lived python process answers one command per line, so the bench can interleave its calls
 * with HIMAS's own (the same machine load for both) and python start-up is never timed.
 */

const PEER_SOURCE = String.raw`
import json, sys, time
from functools import reduce
import numpy as np

state = {}

# Plain read passes over all K·P float32. float32 .sum() is numpy's pairwise summation, which is
# bound by its adds, not by memory, so it alone would set too low a floor; max() (float32, and an
# int32 view of the same bytes: integer compares, no NaN handling) streams at read bandwidth.
PASSES = {
    'sum': lambda a: float(a.sum()),
    'max': lambda a: float(a.max()),
    'max-int32': lambda a: int(a.view(np.int32).max()),
}

def reference():
    clip, z, m = state['clip'], state['z'], state['m']
    clipped = []
    for u in state['updates']:
        norm = np.linalg.norm(u)
        clipped.append(u * min(1.0, clip / float(norm)))
    total = reduce(np.add, clipped)
    noisy = (total + np.random.normal(0.0, z * clip, total.shape)) / m
    return float((state['global'] + noisy)[0])

TASKS = {'reference': reference}
for name, read in PASSES.items():
    TASKS['read-' + name] = (lambda r: lambda: r(state['data']))(read)
    TASKS['read-' + name + '-4k'] = (lambda r: lambda: r(state['data4k']))(read)

for line in sys.stdin:
    cmd = json.loads(line)
    if cmd['op'] == 'load':
        k, p = cmd['hospitals'], cmd['params']
        state.clear()
        data = np.fromfile(cmd['path'], dtype=np.float32).reshape(k, p)
        state.update(data=data, updates=[data[i] for i in range(k)], clip=cmd['clipNorm'],
                     z=cmd['noiseMultiplier'], m=k, **{'global': np.zeros(p, dtype=np.float32)})
        hugepages = None
        try:
            # numpy asks the kernel for transparent huge pages on large arrays (madvise); a copy
            # made without shows what a read pass costs on 4 KiB pages, the memory V8 gets.
            core = getattr(np, '_core', None) or getattr(np, 'core')
            setter = core.multiarray._set_madvise_hugepage
            hugepages = setter(False)
            state['data4k'] = data.copy()
            setter(hugepages)
        except AttributeError:
            state['data4k'] = data
        print(json.dumps({'ok': True, 'numpy': np.__version__, 'hugepages': hugepages}), flush=True)
    elif cmd['op'] == 'time':
        task = TASKS[cmd['task']]
        start = time.perf_counter()
        task()
        print(json.dumps({'seconds': time.perf_counter() - start}), flush=True)
`;

/** The plain read passes the peer times; the machine's floor is the fastest median among them. */
export const FLOOR_PASSES = ['max', 'max-int32', 'sum'] as const;
export type FloorPass = (typeof FLOOR_PASSES)[number];
/** The memory a read pass runs over: numpy's own array (huge pages where numpy gets them), or a 4 KiB-page copy. */
export type FloorPages = 'huge' | '4k';
export type PeerTask = 'reference' | `read-${FloorPass}` | `read-${FloorPass}-4k`;

export const floorTask = (pass: FloorPass, pages: FloorPages): PeerTask =>
  pages === 'huge' ? `read-${pass}` : `read-${pass}-4k`;

/** How the report names a read pass: the numpy call it times. */
export const floorPassLabel = (pass: FloorPass): string =>
  ({ max: 'float32 a.max()', 'max-int32': 'a.view(int32).max()', sum: 'float32 a.sum()' })[pass];

/** The python the peers run on: HIMAS_BENCH_PYTHON, else python3 on the PATH. */
export const peerPython = (): string => process.env.HIMAS_BENCH_PYTHON ?? 'python3';

/** Why there is no numpy peer on this machine, or null if there is one. */
export function numpyAbsence(python = peerPython()): string | null {
  const probe = spawnSync(python, ['-c', 'import numpy, sys; print(numpy.__version__)'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (probe.error)
    return `${python} is not installed (${(probe.error as NodeJS.ErrnoException).code ?? probe.error.message})`;
  if (probe.status !== 0)
    return `${python} has no numpy (${probe.stderr.trim().split('\n').pop() ?? 'import failed'})`;
  return null;
}

export class NumpyPeer {
  private readonly lines: Interface;
  private readonly pending: Array<(line: string) => void> = [];
  private dataFile: string | null = null;
  numpyVersion = '';
  /** Whether numpy's own arrays get transparent huge pages here (null: numpy cannot say). */
  hugepages: boolean | null = null;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout });
    this.lines.on('line', (line) => this.pending.shift()?.(line));
  }

  static start(python = peerPython()): NumpyPeer {
    const child = spawn(python, ['-c', PEER_SOURCE], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr.on('data', (d: Buffer) => process.stderr.write(`numpy peer: ${d.toString()}`));
    return new NumpyPeer(child);
  }

  private ask(command: object): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error('the numpy peer exited'));
      this.child.once('exit', onExit);
      this.pending.push((line) => {
        this.child.off('exit', onExit);
        resolve(JSON.parse(line) as Record<string, unknown>);
      });
      this.child.stdin.write(`${JSON.stringify(command)}\n`);
    });
  }

  /** Hands the peer the very bytes HIMAS aggregates (K rows of P float32, via a temporary file). */
  async load(deltas: readonly Float32Array[], clipNorm: number, noiseMultiplier: number): Promise<void> {
    this.removeDataFile();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'himas-bench-')), 'updates.f32');
    const fd = fs.openSync(file, 'w');
    for (const d of deltas) fs.writeSync(fd, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    fs.closeSync(fd);
    this.dataFile = file;
    const reply = await this.ask({
      op: 'load',
      path: file,
      hospitals: deltas.length,
      params: deltas[0].length,
      clipNorm,
      noiseMultiplier,
    });
    this.numpyVersion = String(reply.numpy);
    this.hugepages = typeof reply.hugepages === 'boolean' ? reply.hugepages : null;
    this.removeDataFile(); // numpy holds its own copy now
  }

  /** Seconds of one call of `task`, timed inside python (no IPC in the figure). */
  async time(task: PeerTask): Promise<number> {
    return (await this.ask({ op: 'time', task })).seconds as number;
  }

  stop(): void {
    this.removeDataFile();
    this.child.stdin.end();
    this.child.kill();
  }

  private removeDataFile(): void {
    if (this.dataFile === null) return;
    fs.rmSync(path.dirname(this.dataFile), { recursive: true, force: true });
    this.dataFile = null;
  }
}
