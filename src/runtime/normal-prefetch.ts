import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { zigguratSource } from './ziggurat-normal';

/**
 * Standard normals drawn on another thread (worker_threads) into a SharedArrayBuffer, so that
 * DP-FedAvg's noise — 23 ms per million samples on the bench machine, as long as the whole clipped
 * sum — is drawn while the aggregator sums on its own core. The worker draws exactly as
 * CryptoRandom.fillStandardNormal does (node:crypto randomFillSync, the ziggurat of
 * ziggurat-normal.ts), and test/unit/runtime pins that the worker's copy of that loop gives the
 * same samples from the same words. Samples are handed out once;
 * the worker then overwrites its buffer with zeros.
 */

/** Samples per chunk: the worker and the caller each claim chunks, and never wait for one another. */
export const CHUNK_SAMPLES = 8192;
/** Below this many samples drawing here is cheaper than handing the work over. */
export const PREFETCH_MIN_LENGTH = 16384;

// Chunk states (Int32Array over a SharedArrayBuffer), changed only by Atomics: the request's
// generation << 2 | kind, so a worker still finishing an earlier request can never claim or mark a
// chunk of a later one (its compareExchange expects its own generation and fails).
const FREE = 0;
const WORKER_DRAWING = 1;
const WORKER_DONE = 2;
const CALLER = 3;
// Control words: the request generation (odd: a request is open; even: its samples were taken)
// and its length.
const GENERATION = 0;
const LENGTH = 1;
const tag = (generation: number, kind: number) => ((generation & 0x1fffffff) << 2) | kind;

/**
 * The worker. It never receives a message per request — posting a SharedArrayBuffer per round cost
 * milliseconds — but blocks on the control word (Atomics.wait; the timeout lets it notice the
 * process ending). On an odd generation it claims free chunks from the front (compareExchange
 * FREE → WORKER_DRAWING), fills each and marks it WORKER_DONE; once the caller has taken the
 * samples (the generation moves on) it zeroes the buffer. New buffers (when a request
 * outgrows them) arrive on a MessagePort it reads synchronously. Plain JavaScript so it runs from a
 * string under any loader (tsx, Jest, compiled dist); its sampler is zigguratNormals, word for word.
 */
export const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { randomFillSync } = require('node:crypto');
${zigguratSource()}
const tables = zigguratTables();
const refill = (w) => randomFillSync(w);
const port = workerData.port;
const control = new Int32Array(workerData.control);
const words = new Uint32Array(16384);
let index = words.length;
let values = null;
let states = null;
let handled = 0;
for (;;) {
  const generation = Atomics.load(control, ${GENERATION});
  if (generation % 2 === 0 || generation === handled) {
    Atomics.wait(control, ${GENERATION}, generation, 1000);
    continue;
  }
  handled = generation;
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
    values = m.message.values;
    states = new Int32Array(m.message.states);
  }
  const length = Atomics.load(control, ${LENGTH});
  const chunks = Math.ceil(length / ${CHUNK_SAMPLES});
  for (let c = 0; c < chunks; c++) {
    const free = ((generation & 0x1fffffff) << 2) | ${FREE};
    if (Atomics.compareExchange(states, c, free, free | ${WORKER_DRAWING}) !== free) continue;
    const from = c * ${CHUNK_SAMPLES};
    const out = new Float64Array(values, from * 8, Math.min(length, from + ${CHUNK_SAMPLES}) - from);
    index = zigguratNormals(words, index, out, tables, refill);
    Atomics.compareExchange(states, c, free | ${WORKER_DRAWING}, free | ${WORKER_DONE});
  }
  // Zero the samples once the caller has taken them (the generation moved on); a next request
  // may already be open, and is handled after this (only this thread writes the buffer).
  while (Atomics.load(control, ${GENERATION}) === generation) Atomics.wait(control, ${GENERATION}, generation, 1000);
  new Float64Array(values, 0, length).fill(0);
}
`;

/** The process's noise worker and the buffers it shares with this thread. */
interface Channel {
  worker: Worker;
  port: MessagePort;
  control: Int32Array;
  values: SharedArrayBuffer | null;
  states: Int32Array | null;
  /** The request whose samples have not been taken yet (one at a time per process). */
  open: PrefetchedNormals | null;
}

let channel: Channel | null | undefined;

/** Starts the worker on first use; null if worker_threads cannot start one (the caller then draws alone). */
function noiseChannel(): Channel | null {
  if (channel === undefined) {
    try {
      const { port1, port2 } = new MessageChannel();
      const control = new Int32Array(new SharedArrayBuffer(8));
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { port: port2, control: control.buffer },
        transferList: [port2],
      });
      worker.unref(); // never keeps the process alive
      port1.unref();
      worker.on('error', () => {
        channel = null;
      });
      channel = { worker, port: port1, control, values: null, states: null, open: null };
    } catch {
      channel = null;
    }
  }
  return channel;
}

/**
 * One request: `length` samples in chunks, drawn by the worker from the moment of the request and,
 * once the caller asks for them, by the caller too. The caller never waits: a chunk the worker has
 * not finished is drawn by the caller into its output (the worker's late values are never used and
 * are zeroed), so a descheduled or failed worker costs at most the draw it would have saved.
 */
export class PrefetchedNormals {
  private taken = false;
  private constructor(
    readonly length: number,
    private readonly generation: number,
    private readonly channel: Channel,
    private readonly values: SharedArrayBuffer,
    private readonly states: Int32Array,
  ) {}

  /** Starts drawing `length` normals on the worker, or null (too short, no worker, or it is busy). */
  static request(length: number): PrefetchedNormals | null {
    if (length < PREFETCH_MIN_LENGTH) return null;
    const ch = noiseChannel();
    if (ch === null || ch.open !== null) return null;
    const chunks = Math.ceil(length / CHUNK_SAMPLES);
    if (ch.values === null || ch.values.byteLength < length * 8) {
      ch.values = new SharedArrayBuffer(length * 8);
      ch.states = new Int32Array(new SharedArrayBuffer(4 * chunks));
      ch.port.postMessage({ values: ch.values, states: ch.states.buffer });
    }
    const states = ch.states!;
    const generation = Atomics.load(ch.control, GENERATION) + 1; // odd: open
    for (let c = 0; c < chunks; c++) Atomics.store(states, c, tag(generation, FREE));
    Atomics.store(ch.control, LENGTH, length);
    Atomics.store(ch.control, GENERATION, generation);
    Atomics.notify(ch.control, GENERATION);
    const request = new PrefetchedNormals(length, generation, ch, ch.values, states);
    ch.open = request;
    return request;
  }

  /**
   * Fills `out`: the chunks the worker finished are copied, every other one is drawn here with
   * `draw` (the caller's own CSPRNG), claimed from the back so the two rarely meet. False (nothing
   * written) if `out` is not of the requested length.
   */
  takeInto(out: Float64Array | Float32Array, draw: (chunk: Float64Array | Float32Array) => void): boolean {
    if (out.length !== this.length || this.taken) {
      this.discard();
      return false;
    }
    const states = this.states;
    const chunks = Math.ceil(this.length / CHUNK_SAMPLES);
    const bounds = (c: number) => [c * CHUNK_SAMPLES, Math.min(this.length, (c + 1) * CHUNK_SAMPLES)];
    const free = tag(this.generation, FREE);
    const mine = tag(this.generation, CALLER);
    for (let c = chunks - 1; c >= 0; c--) {
      if (Atomics.compareExchange(states, c, free, mine) !== free) continue;
      const [from, to] = bounds(c);
      draw(out.subarray(from, to));
    }
    for (let c = 0; c < chunks; c++) {
      const [from, to] = bounds(c);
      const state = Atomics.load(states, c);
      if (state === tag(this.generation, WORKER_DONE))
        out.set(new Float64Array(this.values, from * 8, to - from), from);
      else if (state !== mine) draw(out.subarray(from, to)); // the worker's is unfinished: never used
    }
    this.discard();
    return true;
  }

  /** Closes the request: the worker zeroes the buffer once it is done with it; its samples are never used again. */
  discard(): void {
    if (this.taken) return;
    this.taken = true;
    // Chunks nobody claimed yet are the caller's now, so the worker stops drawing.
    for (let c = 0; c < Math.ceil(this.length / CHUNK_SAMPLES); c++)
      Atomics.compareExchange(this.states, c, tag(this.generation, FREE), tag(this.generation, CALLER));
    this.channel.open = null;
    Atomics.store(this.channel.control, GENERATION, this.generation + 1); // even: taken
    Atomics.notify(this.channel.control, GENERATION);
  }
}
