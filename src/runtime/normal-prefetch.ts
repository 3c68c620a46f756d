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

/** Samples per chunk: the worker and the caller take chunks from one shared counter. */
export const CHUNK_SAMPLES = 8192;
// Control words (Int32Array over a SharedArrayBuffer): next chunk to take, chunks done, failed.
const NEXT = 0;
const DONE = 1;
const FAILED = 2;

/**
 * The worker: on {values, control, length} takes chunk after chunk (Atomics.add on NEXT) and fills
 * it, counting it in DONE (the last one wakes the caller); on error sets FAILED. On {wipe} zeroes
 * the buffer. Plain JavaScript so it runs from a string under any loader (tsx, Jest, compiled
 * dist); its loop is normalsFromWords, word for word.
 */
export const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { randomFillSync } = require('node:crypto');
${normalsLoopSource()}
const words = new Uint32Array(16384);
let index = words.length;
parentPort.on('message', (m) => {
  if (m.wipe) { m.wipe.fill(0); return; }
  const control = new Int32Array(m.control);
  const chunks = Math.ceil(m.length / ${CHUNK_SAMPLES});
  try {
    for (;;) {
      const c = Atomics.add(control, ${NEXT}, 1);
      if (c >= chunks) break;
      const from = c * ${CHUNK_SAMPLES};
      const out = new Float64Array(m.values, from * 8, Math.min(m.length, from + ${CHUNK_SAMPLES}) - from);
      let state = { index, filled: 0 };
      while (state.filled < out.length) {
        if (state.index + 4 > words.length) { randomFillSync(words); state.index = 0; }
        state = normalsFromWords(words, state.index, out, state.filled);
      }
      index = state.index;
      if (Atomics.add(control, ${DONE}, 1) + 1 === chunks) Atomics.notify(control, ${DONE});
    }
  } catch (e) {
    Atomics.store(control, ${FAILED}, 1);
    Atomics.notify(control, ${DONE});
  }
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
export const PREFETCH_MIN_LENGTH = 16384;
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

/**
 * One request: `length` samples in chunks, drawn by the worker from the moment of the request and,
 * once the caller asks for them, by the caller too (whoever is free takes the next chunk), so the
 * draw uses both cores when the caller has nothing else to do.
 */
export class PrefetchedNormals {
  private constructor(
    readonly length: number,
    private readonly values: SharedArrayBuffer,
    private readonly control: Int32Array,
    private readonly from: Worker,
  ) {}

  /** Starts drawing `length` normals on the worker, or null (too short, or no worker). */
  static request(length: number): PrefetchedNormals | null {
    if (length < PREFETCH_MIN_LENGTH) return null;
    const from = noiseWorker();
    if (from === null) return null;
    const values = new SharedArrayBuffer(length * 8);
    const control = new Int32Array(new SharedArrayBuffer(12));
    from.postMessage({ values, control: control.buffer, length });
    return new PrefetchedNormals(length, values, control, from);
  }

  /**
   * Draws the chunks the worker has not taken with `draw` (the caller's own CSPRNG), waits for the
   * worker's (Atomics.wait: Node lets the main thread block), and copies all into `out`; false if
   * the worker failed or did not finish in time (the caller then draws everything afresh).
   */
  takeInto(out: Float64Array | Float32Array, draw: (chunk: Float64Array) => void): boolean {
    if (out.length !== this.length) {
      this.discard();
      return false;
    }
    const chunks = Math.ceil(this.length / CHUNK_SAMPLES);
    const control = this.control;
    for (;;) {
      const c = Atomics.add(control, NEXT, 1);
      if (c >= chunks) break;
      const from = c * CHUNK_SAMPLES;
      draw(new Float64Array(this.values, from * 8, Math.min(this.length, from + CHUNK_SAMPLES) - from));
      Atomics.add(control, DONE, 1);
    }
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      if (Atomics.load(control, FAILED) !== 0) return false;
      const done = Atomics.load(control, DONE);
      if (done >= chunks) break;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(control, DONE, done, left);
    }
    out.set(new Float64Array(this.values, 0, this.length));
    this.discard();
    return true;
  }

  /** Has the worker zero the samples once drawn (it handles messages in order); they are never used again. */
  discard(): void {
    this.from.postMessage({ wipe: new Float64Array(this.values) });
  }
}
