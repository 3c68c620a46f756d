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

/** Samples per chunk: the worker and the caller each claim chunks, and never wait for one another. */
export const CHUNK_SAMPLES = 8192;
// One state per chunk (Int32Array over a SharedArrayBuffer), changed only by Atomics.
const FREE = 0;
const WORKER_DRAWING = 1;
const WORKER_DONE = 2;
const CALLER = 3;

/**
 * The worker: on {values, states, length} claims free chunks from the front (compareExchange
 * FREE → WORKER_DRAWING), fills each and marks it WORKER_DONE. On {wipe} zeroes the buffer (it
 * handles messages in order, so after its last write). Plain JavaScript so it runs from a string
 * under any loader (tsx, Jest, compiled dist); its loop is normalsFromWords, word for word.
 */
export const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { randomFillSync } = require('node:crypto');
${normalsLoopSource()}
const words = new Uint32Array(16384);
let index = words.length;
parentPort.on('message', (m) => {
  if (m.wipe) { m.wipe.fill(0); return; }
  const states = new Int32Array(m.states);
  for (let c = 0; c < states.length; c++) {
    if (Atomics.compareExchange(states, c, ${FREE}, ${WORKER_DRAWING}) !== ${FREE}) continue;
    const from = c * ${CHUNK_SAMPLES};
    const out = new Float64Array(m.values, from * 8, Math.min(m.length, from + ${CHUNK_SAMPLES}) - from);
    let state = { index, filled: 0 };
    while (state.filled < out.length) {
      if (state.index + 4 > words.length) { randomFillSync(words); state.index = 0; }
      state = normalsFromWords(words, state.index, out, state.filled);
    }
    index = state.index;
    Atomics.store(states, c, ${WORKER_DONE});
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
 * once the caller asks for them, by the caller too. The caller never waits: a chunk the worker has
 * not finished is drawn by the caller into its output (the worker's late values are never used and
 * are zeroed), so a descheduled or failed worker costs at most the draw it would have saved.
 */
export class PrefetchedNormals {
  private constructor(
    readonly length: number,
    private readonly values: SharedArrayBuffer,
    private readonly states: Int32Array,
    private readonly from: Worker,
  ) {}

  /** Starts drawing `length` normals on the worker, or null (too short, or no worker). */
  static request(length: number): PrefetchedNormals | null {
    if (length < PREFETCH_MIN_LENGTH) return null;
    const from = noiseWorker();
    if (from === null) return null;
    const values = new SharedArrayBuffer(length * 8);
    const states = new Int32Array(new SharedArrayBuffer(4 * Math.ceil(length / CHUNK_SAMPLES)));
    from.postMessage({ values, states: states.buffer, length });
    return new PrefetchedNormals(length, values, states, from);
  }

  /**
   * Fills `out`: the chunks the worker finished are copied, every other one is drawn here with
   * `draw` (the caller's own CSPRNG), claimed from the back so the two rarely meet. False (nothing
   * written) if `out` is not of the requested length.
   */
  takeInto(out: Float64Array | Float32Array, draw: (chunk: Float64Array | Float32Array) => void): boolean {
    if (out.length !== this.length) {
      this.discard();
      return false;
    }
    const states = this.states;
    const chunk = (c: number) => [c * CHUNK_SAMPLES, Math.min(this.length, (c + 1) * CHUNK_SAMPLES)];
    for (let c = states.length - 1; c >= 0; c--) {
      if (Atomics.compareExchange(states, c, FREE, CALLER) !== FREE) continue;
      const [from, to] = chunk(c);
      draw(out.subarray(from, to));
    }
    for (let c = 0; c < states.length; c++) {
      const [from, to] = chunk(c);
      const state = Atomics.load(states, c);
      if (state === WORKER_DONE) out.set(new Float64Array(this.values, from * 8, to - from), from);
      else if (state === WORKER_DRAWING) draw(out.subarray(from, to));
    }
    this.discard();
    return true;
  }

  /** Has the worker zero the buffer once it is done with it; its samples are never used again. */
  discard(): void {
    this.from.postMessage({ wipe: new Float64Array(this.values) });
  }
}
