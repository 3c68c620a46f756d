import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { DenseLayout } from '../../src/core/model';

/**
 * The numpy reference of one DP-SGD epoch (dp-sgd-numpy-reference.py) in a python3 child process
 * that stays up for the whole comparison, so both sides are timed in the same run, interleaved.
 * The bench installs nothing: without python3 or numpy it says so and runs without the reference.
 */

export const NUMPY_VARIANTS = ['materialised', 'ghost'] as const;
export type NumpyVariant = (typeof NUMPY_VARIANTS)[number];

/** python3, or HIMAS_BENCH_PYTHON (another interpreter; tests point it at a missing one). */
export function pythonCommand(): string {
  return process.env.HIMAS_BENCH_PYTHON || 'python3';
}

export interface NumpyStatus {
  present: boolean;
  python?: string;
  numpy?: string;
  /** Why the reference could not run (no python3, no numpy, the script failed). */
  reason?: string;
}

export interface NumpyReferenceConfig {
  features: Float32Array;
  labels: Float32Array;
  rows: number;
  cols: number;
  /** Initial weights (getFlatWeights order) and the dense layout they follow. */
  weights: Float32Array;
  layout: DenseLayout;
  samplingProbability: number;
  stepsPerEpoch: number;
  expectedBatchSize: number;
  exampleClipNorm: number;
  noiseMultiplier: number;
  learningRate: number;
  l2: number;
  /** Default 'adam' (as the recipe); 'sgd' lets a test read the gradient off one step. */
  optimizer?: 'adam' | 'sgd';
}

export interface NumpyEpoch {
  seconds: number;
  /** CPU seconds of the python process over the epoch (all its threads: OpenBLAS may use both cores). */
  cpuSeconds: number;
  steps: number;
  examples: number;
}

const SCRIPT = path.join(__dirname, 'dp-sgd-numpy-reference.py');
const READY_TIMEOUT_MS = 60_000;

export class NumpyReference {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    private readonly dir: string,
    readonly status: NumpyStatus,
  ) {}

  /** Starts the reference, or returns why it cannot run (never throws for a missing python3 or numpy). */
  static async start(
    config: NumpyReferenceConfig,
    /** blasThreads: cap OpenBLAS (and OpenMP) at this many threads; default: numpy's own choice. */
    options: { blasThreads?: number } = {},
  ): Promise<NumpyReference | NumpyStatus> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'himas-numpy-dp-sgd-'));
    const file = (name: string, values: Float32Array) => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
      return p;
    };
    const hidden = config.layout.layers.slice(0, -1).map((l) => l.activation);
    const unsupported = hidden.find((a) => a !== 'relu' && a !== 'tanh' && a !== 'linear');
    if (unsupported || config.layout.layers.some((l) => l.biasOffset === null)) {
      fs.rmSync(dir, { recursive: true, force: true });
      return {
        present: false,
        reason: `the numpy reference covers relu/tanh/linear layers with biases only`,
      };
    }
    const args = JSON.stringify({
      rows: config.rows,
      cols: config.cols,
      featuresFile: file('features.f32', config.features),
      labelsFile: file('labels.f32', config.labels),
      weightsFile: file('weights.f32', config.weights),
      layers: config.layout.layers.map((l) => ({
        inputs: l.inputs,
        units: l.units,
        activation: l.activation,
      })),
      samplingProbability: config.samplingProbability,
      stepsPerEpoch: config.stepsPerEpoch,
      expectedBatchSize: config.expectedBatchSize,
      exampleClipNorm: config.exampleClipNorm,
      noiseMultiplier: config.noiseMultiplier,
      learningRate: config.learningRate,
      l2: config.l2,
      optimizer: config.optimizer ?? 'adam',
    });
    const command = pythonCommand();
    const threads = options.blasThreads === undefined ? null : String(options.blasThreads);
    const env = threads
      ? { ...process.env, OPENBLAS_NUM_THREADS: threads, OMP_NUM_THREADS: threads }
      : process.env;
    const child = spawn(command, [SCRIPT, args], { stdio: ['pipe', 'pipe', 'pipe'], env });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    const spawnError = new Promise<NumpyStatus>((resolve) =>
      child.once('error', (e: NodeJS.ErrnoException) =>
        resolve({
          present: false,
          reason:
            e.code === 'ENOENT'
              ? `${command} is not on PATH: the numpy reference was not run (the bench installs nothing)`
              : `${command} could not start: ${e.message}`,
        }),
      ),
    );
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = lines.next().then(({ value, done }): NumpyStatus => {
      if (done) return { present: false, reason: `${command} exited before answering: ${lastLine(stderr)}` };
      const message = JSON.parse(value as string) as {
        ready?: boolean;
        error?: string;
        numpy?: string;
        python?: string;
      };
      if (message.error) return { present: false, reason: `${message.error} (the bench installs nothing)` };
      return { present: true, python: message.python, numpy: message.numpy };
    });
    const timeout = new Promise<NumpyStatus>((resolve) => {
      const t = setTimeout(
        () =>
          resolve({ present: false, reason: `${command} did not start within ${READY_TIMEOUT_MS / 1000} s` }),
        READY_TIMEOUT_MS,
      );
      t.unref();
    });
    const status = await Promise.race([spawnError, first, timeout]);
    if (!status.present) {
      child.kill();
      fs.rmSync(dir, { recursive: true, force: true });
      return status;
    }
    return new NumpyReference(child, lines, dir, status);
  }

  /** One epoch of `variant`; seconds as the python process measured them. */
  async epoch(variant: NumpyVariant): Promise<NumpyEpoch> {
    return (await this.ask(`epoch ${variant}`)) as NumpyEpoch;
  }

  /** One step from the initial weights on `rows`: the updated weights (for the correctness test). */
  async check(variant: NumpyVariant, rows: ArrayLike<number>): Promise<Float64Array> {
    const answer = (await this.ask(`check ${variant} ${Array.from(rows).join(',')}`)) as {
      weights: number[];
    };
    return Float64Array.from(answer.weights);
  }

  async close(): Promise<void> {
    this.child.stdin.end('quit\n');
    await new Promise<void>((resolve) => {
      if (this.child.exitCode !== null) resolve();
      else this.child.once('exit', () => resolve());
    });
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private async ask(command: string): Promise<unknown> {
    this.child.stdin.write(`${command}\n`);
    const { value, done } = await this.lines.next();
    if (done) throw new Error(`the numpy reference exited during '${command}'`);
    const answer = JSON.parse(value as string) as { error?: string };
    if (answer.error) throw new Error(`numpy reference: ${answer.error}`);
    return answer;
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] || '(no output)';
}
