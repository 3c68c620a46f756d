import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import {
  SHARED_MAX_VECTORS,
  useKernelHelper,
  type KernelHelper,
  type KernelMemory,
  type SharedTask,
} from '../core/kernels/aggregation-kernels';
import { kernelModule } from '../core/kernels/aggregation-wasm';

/**
 * The aggregation kernels' second thread (the machine has two cores): a worker with its own
 * instance of the kernel module bound to the same shared WebAssembly memory, which takes items of
 * a task (a batch of norms, a tile of the clipped sum) while the caller takes the others.
 *
 * Protocol, over one SharedArrayBuffer and Atomics (no message per task — posting costs
 * milliseconds): the caller writes the task, sets the state word to OPEN(generation) and notifies.
 * The worker enters by compareExchange OPEN → IN; both then claim items with Atomics.add on a
 * shared counter. When the caller has no item left it closes with compareExchange OPEN → CLOSED:
 * if that succeeds the worker never entered (descheduled, busy, gone) and the caller is done;
 * otherwise it waits for the worker's DONE, at most the one item the worker is running. So a slow
 * worker costs at most one item's time, and never a result: an item's outputs are written by
 * whichever thread claimed it, with the same kernel calls (runSharedItem, and its copy below).
 *
 * The worker holds one memory at a time (the last one it was sent); a task on another memory
 * posts that memory first, and the old one is released.
 */

const STATE = 0;
const NEXT = 1;
const MEMORY_ID = 2;
const KIND = 3;
const COUNT = 4;
const STEPS = 5;
const OUT_BYTE = 6;
const BATCHES = 7;
const TOTAL_STEPS = 8;
const BATCH_AT = 16; // [start, size] pairs: at most ⌈1024 / 8⌉ + 3
const POINTER_AT = BATCH_AT + 2 * 140;
const SCALE_BYTE = 4 * (POINTER_AT + SHARED_MAX_VECTORS);
const CONTROL_BYTES = SCALE_BYTE + 8 * SHARED_MAX_VECTORS;

const OPEN = 1;
const IN = 2;
const DONE = 3;
const CLOSED = 0;
const word = (generation: number, phase: number) => ((generation & 0x1fffffff) << 2) | phase;

/** The worker (plain JavaScript, run from a string under any loader). Its item loop is runSharedItem's. */
export const KERNEL_WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const control = new Int32Array(workerData.control);
const scales = new Float64Array(workerData.control, ${SCALE_BYTE}, ${SHARED_MAX_VECTORS});
const port = workerData.port;
let current = null; // { id, memory, kernels }
let handled = -1;
${sharedItemSource()}
for (;;) {
  const state = Atomics.load(control, ${STATE});
  const generation = state >>> 2;
  if ((state & 3) !== ${OPEN} || generation === handled) {
    Atomics.wait(control, ${STATE}, state, 1000);
    continue;
  }
  handled = generation;
  if (Atomics.compareExchange(control, ${STATE}, state, (generation << 2) | ${IN}) !== state) continue;
  const id = control[${MEMORY_ID}];
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
    const { memory, module } = m.message;
    current = { id: m.message.id, memory, kernels: new WebAssembly.Instance(module, { env: { memory } }).exports };
  }
  if (current !== null && current.id === id) {
    const count = control[${COUNT}];
    const batches = [];
    for (let b = 0; b < control[${BATCHES}]; b++)
      batches.push({ start: control[${BATCH_AT} + 2 * b], size: control[${BATCH_AT} + 2 * b + 1] });
    const vectors = batches.length === 0 ? 0 : batches[batches.length - 1].start + batches[batches.length - 1].size;
    const task = {
      kind: control[${KIND}] === 0 ? 'squares' : 'scaledSum',
      count,
      batches,
      pointers: Array.from(control.subarray(${POINTER_AT}, ${POINTER_AT} + vectors)),
      scales: Array.from(scales.subarray(0, vectors)),
      steps: control[${STEPS}],
      totalSteps: control[${TOTAL_STEPS}],
      outByte: control[${OUT_BYTE}],
    };
    for (let item = Atomics.add(control, ${NEXT}, 1); item < count; item = Atomics.add(control, ${NEXT}, 1))
      runSharedItem(current.kernels, current.memory.buffer, task, item);
  }
  Atomics.store(control, ${STATE}, (generation << 2) | ${DONE});
  Atomics.notify(control, ${STATE});
}
`;

/** runSharedItem (src/core/kernels) as plain JavaScript source, written out (coverage tools rewrite Function.toString). */
export function sharedItemSource(): string {
  return `function runSharedItem(kernels, buffer, task, item) {
  if (task.kind === 'squares') {
    const { start, size } = task.batches[item % task.batches.length];
    const chunk = Math.floor(item / task.batches.length);
    const steps = Math.min(task.steps, task.totalSteps - chunk * task.steps);
    const state = task.outByte + 64 * (chunk * task.pointers.length + start);
    const offset = chunk * task.steps * 32;
    const pointers = task.pointers.slice(start, start + size).map((p) => p + offset);
    kernels['sumSquares' + size](state, steps, ...pointers);
    return;
  }
  const values = 4 * task.steps;
  const sumByte = task.outByte + item * values * 8;
  new Float64Array(buffer, sumByte, values).fill(0);
  for (const { start, size } of task.batches) {
    const pointers = task.pointers.slice(start, start + size).map((p) => p + item * values * 4);
    kernels['scaledAdd' + size](sumByte, task.steps, ...task.scales.slice(start, start + size), ...pointers);
  }
}`;
}

/** The helper thread, started on first use; its methods fall back to the caller alone if it cannot start. */
class WorkerKernelHelper implements KernelHelper {
  private worker: Worker | null = null;
  private port: MessagePort | null = null;
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_BYTES));
  private readonly scales = new Float64Array(this.control.buffer, SCALE_BYTE, SHARED_MAX_VECTORS);
  private generation = 0;
  private failed = false;
  private posted: KernelMemory | null = null;
  private readonly ids = new WeakMap<KernelMemory, number>();
  private nextId = 1;

  private start(): boolean {
    if (this.worker !== null) return true;
    if (this.failed) return false;
    try {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(KERNEL_WORKER_SOURCE, {
        eval: true,
        workerData: { control: this.control.buffer, port: port2 },
        transferList: [port2],
      });
      worker.unref(); // never keeps the process alive
      port1.unref();
      worker.on('error', () => {
        this.failed = true;
        this.worker = null;
      });
      this.worker = worker;
      this.port = port1;
      return true;
    } catch {
      this.failed = true;
      return false;
    }
  }

  share(memory: KernelMemory, task: SharedTask, runHere: (item: number) => void): void {
    const module = kernelModule();
    if (module === null || !this.start()) {
      for (let item = 0; item < task.count; item++) runHere(item);
      return;
    }
    const c = this.control;
    let id = this.ids.get(memory);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(memory, id);
    }
    if (this.posted !== memory) {
      this.port!.postMessage({ id, memory: memory.wasmMemory, module });
      this.posted = memory;
    }
    c[MEMORY_ID] = id;
    c[KIND] = task.kind === 'squares' ? 0 : 1;
    c[COUNT] = task.count;
    c[STEPS] = task.steps;
    c[TOTAL_STEPS] = task.totalSteps;
    c[OUT_BYTE] = task.outByte;
    c[BATCHES] = task.batches.length;
    task.batches.forEach((b, i) => {
      c[BATCH_AT + 2 * i] = b.start;
      c[BATCH_AT + 2 * i + 1] = b.size;
    });
    c.set(task.pointers, POINTER_AT);
    if (task.scales.length > 0) this.scales.set(task.scales);
    Atomics.store(c, NEXT, 0);
    this.generation = (this.generation + 1) & 0x1fffffff;
    const generation = this.generation;
    Atomics.store(c, STATE, word(generation, OPEN));
    Atomics.notify(c, STATE);
    for (let item = Atomics.add(c, NEXT, 1); item < task.count; item = Atomics.add(c, NEXT, 1)) runHere(item);
    if (
      Atomics.compareExchange(c, STATE, word(generation, OPEN), word(generation, CLOSED)) ===
      word(generation, OPEN)
    )
      return; // the worker never entered
    for (let s = Atomics.load(c, STATE); s !== word(generation, DONE); s = Atomics.load(c, STATE)) {
      if (this.worker === null) throw new Error('the kernel helper thread failed during a shared task');
      Atomics.wait(c, STATE, s, 100);
    }
  }
}

let installed: WorkerKernelHelper | null = null;

/**
 * Gives the aggregation kernels their second thread (idempotent). The aggregator's process calls
 * it once (CryptoRandom's module does, as the noise worker's owner); the worker starts on first use.
 */
export function installKernelHelper(): void {
  if (installed === null) installed = new WorkerKernelHelper();
  useKernelHelper(installed);
}
