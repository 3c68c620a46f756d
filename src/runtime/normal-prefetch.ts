import { Worker } from 'node:worker_threads';

/**
 * Standard normals drawn on another thread (worker_threads) into a SharedArrayBuffer, so that
 * DP-FedAvg's noise — 23 ms per million samples on the bench machine, as long as the whole clipped
 * sum — is drawn while the aggregator sums on its own core. The worker draws exactly as
 * CryptoRandom.fillStandardNormal does (node:crypto randomFillSync, Marsaglia's polar method, both
 * of each pair used): `normalsFromWords` below is that loop, and test/unit/runtime pins that the
 * worker's copy of it gives the same samples from the same words. Samples are handed out once;
 * the worker then overwrites its buffer with zeros.
 */

/** The polar-method loop shared by CryptoRandom and the worker (the worker's copy is WORKER_SOURCE). */
export function normalsFromWords(
  words: Uint32Array,
  index: number,
  out: Float64Array | Float32Array,
  filled: number,
): { index: number; filled: number } {
  const n = words.length;
  let i = filled;
  let w = index;
  while (i < out.length && w + 4 <= n) {
    const u = (((words[w] >>> 5) * 67108864 + (words[w + 1] >>> 6)) / 9007199254740992) * 2 - 1;
    const v = (((words[w + 2] >>> 5) * 67108864 + (words[w + 3] >>> 6)) / 9007199254740992) * 2 - 1;
    w += 4;
    const s = u * u + v * v;
    if (s >= 1 || s === 0) continue;
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    out[i++] = u * f;
    if (i < out.length) out[i++] = v * f;
  }
  return { index: w, filled: i };
}

/**
 * The worker: on {values, flag, length}, fills values[0 … length) and sets flag to 1 (2 on
 * error); on {wipe: values} zeroes it. Plain JavaScript so it runs from a string under any loader
 * (tsx, Jest, compiled dist); its loop is normalsFromWords, word for word.
 */
export const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { randomFillSync } = require('node:crypto');
${normalsLoopSource()}
const words = new Uint32Array(16384);
parentPort.on('message', (m) => {
  if (m.wipe) { m.wipe.fill(0); return; }
  const flag = new Int32Array(m.flag);
  try {
    const out = new Float64Array(m.values, 0, m.length);
    let state = { index: words.length, filled: 0 };
    while (state.filled < out.length) {
      if (state.index + 4 > words.length) { randomFillSync(words); state.index = 0; }
      state = normalsFromWords(words, state.index, out, state.filled);
    }
    Atomics.store(flag, 0, 1);
  } catch (e) {
    Atomics.store(flag, 0, 2);
  }
  Atomics.notify(flag, 0);
});
`;

/** normalsFromWords as plain JavaScript source (written out, not Function.toString: coverage tools rewrite that). */
export function normalsLoopSource(): string {
  return `function normalsFromWords(words, index, out, filled) {
  const n = words.length;
  let i = filled;
  let w = index;
  while (i < out.length && w + 4 <= n) {
    const u = (((words[w] >>> 5) * 67108864 + (words[w + 1] >>> 6)) / 9007199254740992) * 2 - 1;
    const v = (((words[w + 2] >>> 5) * 67108864 + (words[w + 3] >>> 6)) / 9007199254740992) * 2 - 1;
    w += 4;
    const s = u * u + v * v;
    if (s >= 1 || s === 0) continue;
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    out[i++] = u * f;
    if (i < out.length) out[i++] = v * f;
  }
  return { index: w, filled: i };
}`;
}

/** Below this many samples drawing here is cheaper than a round trip to the worker. */
export const PREFETCH_MIN_LENGTH = 65536;
/** How long a fill may wait for the worker before drawing itself (the worker is stuck or gone). */
const WAIT_MS = 60_000;

let worker: Worker | null | undefined;

/** The process's noise worker, started on first use; null if worker_threads cannot start one. */
function noiseWorker(): Worker | null {
  if (worker === undefined) {
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.unref(); // never keeps the process alive
      worker.on('error', () => {
        worker = null;
      });
    } catch {
      worker = null;
    }
  }
  return worker;
}

/** One request to the worker: `length` samples that will be in `values` once flag is 1. */
export class PrefetchedNormals {
  private constructor(
    readonly length: number,
    private readonly values: SharedArrayBuffer,
    private readonly flag: Int32Array,
    private readonly from: Worker,
  ) {}

  /** Starts drawing `length` normals on the worker, or null (too short, or no worker). */
  static request(length: number): PrefetchedNormals | null {
    if (length < PREFETCH_MIN_LENGTH) return null;
    const from = noiseWorker();
    if (from === null) return null;
    const values = new SharedArrayBuffer(length * 8);
    const flag = new Int32Array(new SharedArrayBuffer(4));
    from.postMessage({ values, flag: flag.buffer, length });
    return new PrefetchedNormals(length, values, flag, from);
  }

  /**
   * Waits for the samples (Atomics.wait: Node lets the main thread block) and copies them into
   * `out`; false if the worker failed or did not answer in time (the caller then draws itself).
   */
  takeInto(out: Float64Array | Float32Array): boolean {
    if (out.length !== this.length) {
      this.discard();
      return false;
    }
    const deadline = Date.now() + WAIT_MS;
    while (Atomics.load(this.flag, 0) === 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.flag, 0, 0, left);
    }
    if (Atomics.load(this.flag, 0) !== 1) return false;
    out.set(new Float64Array(this.values, 0, this.length));
    this.discard();
    return true;
  }

  /** Has the worker zero the samples once drawn (it handles messages in order); they are never used. */
  discard(): void {
    this.from.postMessage({ wipe: new Float64Array(this.values) });
  }
}
