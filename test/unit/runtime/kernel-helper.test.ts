import {
  KernelMemory,
  runSharedItem,
  scaledAddJs,
  scaledSumInto,
  SQUARE_CHUNK,
  sumOfSquaresJs,
  sumsOfSquares,
  TILE,
  useKernelHelper,
  type KernelHelper,
  type SharedTask,
} from '../../../src/core/kernels/aggregation-kernels';
import { dpFedAvg, fedAvg } from '../../../src/core/federated';
import { installKernelHelper, sharedItemSource } from '../../../src/runtime/kernel-helper';
import { fakeSecureRandom } from '../core/federated/fake-secure-random';

const bits64 = (v: Float64Array) => Array.from(new BigUint64Array(v.buffer, v.byteOffset, v.length));

function inMemory(memory: KernelMemory, count: number, length: number, seed: number): Float32Array[] {
  let s = seed | 1;
  return Array.from({ length: count }, (_, k) => {
    const v = memory.float32(length);
    for (let i = 0; i < length; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      v[i] = ((s >>> 0) / 4294967296 - 0.5) * (k + 1);
    }
    return v;
  });
}

/** A helper that records which items it was offered and runs them in a given order. */
function scriptedHelper(order: (count: number) => number[]): KernelHelper & { tasks: SharedTask[] } {
  const tasks: SharedTask[] = [];
  return {
    tasks,
    share(_memory, task, runHere) {
      tasks.push(task);
      for (const item of order(task.count)) runHere(item);
    },
  };
}

describe('the kernels’ second thread (worker_threads over the shared kernel memory)', () => {
  afterEach(() => useKernelHelper(null));

  it('the worker’s copy of runSharedItem is the core definition (same calls, same bits)', () => {
    const memory = KernelMemory.create()!;
    const deltas = inMemory(memory, 11, 3 * TILE, 5);
    const workerItem = new Function(`${sharedItemSource()}; return runSharedItem;`)() as typeof runSharedItem;
    const out = [memory.float64(3 * TILE), memory.float64(3 * TILE)];
    const task = (outByte: number): SharedTask => ({
      kind: 'scaledSum',
      count: 3,
      batches: [
        { start: 0, size: 8 },
        { start: 8, size: 2 },
        { start: 10, size: 1 },
      ],
      pointers: deltas.map((d) => d.byteOffset),
      scales: deltas.map((_, k) => (k % 3 === 0 ? 1 : 1 / (k + 1))),
      steps: TILE / 4,
      totalSteps: (3 * TILE) / 4,
      outByte,
    });
    for (let item = 0; item < 3; item++) {
      runSharedItem(memory.kernels, memory.buffer, task(out[0].byteOffset), item);
      workerItem(memory.kernels, memory.buffer, task(out[1].byteOffset), item);
    }
    expect(bits64(out[1])).toEqual(bits64(out[0]));
    // Norm items: chunk ⌊i / 3⌋ of batch i mod 3, into their own lane slots.
    const lanes = [memory.float64(8 * 11 * 2), memory.float64(8 * 11 * 2)];
    const squares = (outByte: number): SharedTask => ({
      ...task(outByte),
      kind: 'squares',
      count: 6,
      steps: (2 * TILE) / 8,
      totalSteps: (3 * TILE) / 8,
    });
    for (let item = 0; item < 6; item++) {
      runSharedItem(memory.kernels, memory.buffer, squares(lanes[0].byteOffset), item);
      workerItem(memory.kernels, memory.buffer, squares(lanes[1].byteOffset), item);
    }
    expect(bits64(lanes[1])).toEqual(bits64(lanes[0]));
    expect(lanes[0].every((x) => x > 0)).toBe(true);
  });

  it('items run in any order by either thread give the single-thread bits (norms and clipped sums)', () => {
    const memory = KernelMemory.create()!;
    const length = 5 * TILE + 13;
    const deltas = inMemory(memory, 19, length, 9);
    const scales = deltas.map((_, k) => (k % 2 === 0 ? 1 : 0.3 + k / 100));
    const expected = new Float64Array(length);
    deltas.forEach((d, k) => scaledAddJs(expected, d, scales[k]));
    const expectedSquares = deltas.map(sumOfSquaresJs);
    const reversed = scriptedHelper((n) => Array.from({ length: n }, (_, i) => n - 1 - i));
    useKernelHelper(reversed);
    expect(sumsOfSquares(deltas)).toEqual(expectedSquares);
    const out = memory.workspaceFloat64('sum', length);
    out.fill(9);
    scaledSumInto(out, deltas, scales);
    expect(bits64(out)).toEqual(bits64(expected));
    expect(reversed.tasks.map((t) => [t.kind, t.count])).toEqual([
      ['squares', 4], // batches of 8, 8, 2, 1 (one chunk each)
      ['scaledSum', 5], // whole tiles; the partial last one stays with the caller
    ]);
  });

  it('norms of vectors longer than a chunk: chunk items in any order give sumOfSquaresJs', () => {
    const memory = KernelMemory.create()!;
    const length = 2 * SQUARE_CHUNK + 8 * 3 + 5;
    const deltas = inMemory(memory, 11, length, 21);
    const expected = deltas.map(sumOfSquaresJs);
    const shuffled = scriptedHelper((n) => Array.from({ length: n }, (_, i) => (i * 7) % n));
    useKernelHelper(shuffled);
    expect(sumsOfSquares(deltas)).toEqual(expected);
    expect(shuffled.tasks[0].count).toBe(3 * 3); // batches 8, 2, 1 × chunks 3
    useKernelHelper(null);
    expect(sumsOfSquares(deltas)).toEqual(expected); // the single-thread kernel path
    expect(sumsOfSquares(deltas.map((d) => d.slice()))).toEqual(expected); // staged copies
  });

  it('with the real worker: the same bits, round after round, and on a second memory', () => {
    installKernelHelper();
    for (const seed of [1, 2, 3]) {
      const memory = KernelMemory.create()!;
      const length = 12 * TILE + 6;
      const deltas = inMemory(memory, 17, length, seed);
      const scales = deltas.map((_, k) => 1 / (1 + (k % 4)));
      const expected = new Float64Array(length);
      deltas.forEach((d, k) => scaledAddJs(expected, d, scales[k]));
      const expectedSquares = deltas.map(sumOfSquaresJs);
      for (let round = 0; round < 4; round++) {
        expect(sumsOfSquares(deltas)).toEqual(expectedSquares);
        const out = memory.workspaceFloat64('sum', length);
        let meanwhile = 0;
        scaledSumInto(out, deltas, scales, () => meanwhile++);
        expect(bits64(out)).toEqual(bits64(expected));
        expect(meanwhile).toBe(1);
      }
    }
  });

  it('dpFedAvg on two threads: the single-thread weights and norms, and every update over C clipped to C', () => {
    const memory = KernelMemory.create()!;
    const length = 3 * SQUARE_CHUNK + 11;
    const deltas = inMemory(memory, 13, length, 33);
    // Norms from 0.25 C to 4 C (C = 1), none near C itself (float32 rounding would decide those).
    deltas.forEach((d, k) => {
      const f = [0.25, 0.5, 0.9, 2, 4][k % 5] / Math.sqrt(sumOfSquaresJs(d));
      for (let i = 0; i < length; i++) d[i] *= f;
    });
    const updates = deltas.map((delta, k) => ({ hospitalId: `h${k}`, delta, numExamples: 1 }));
    const run = () =>
      dpFedAvg(fedAvg({ weighting: 'uniform' }), { clipNorm: 1, noiseMultiplier: 1 }).aggregate(
        new Float32Array(length),
        updates,
        undefined,
        { round: 1, expectedHospitals: 13, enrolledHospitals: 13, random: fakeSecureRandom(7) },
      );
    useKernelHelper(null);
    const alone = run();
    installKernelHelper();
    const shared = [run(), run()];
    for (const result of shared) {
      expect(Array.from(result.weights)).toEqual(Array.from(alone.weights));
      expect(result.report.updateNorms).toEqual(alone.report.updateNorms);
    }
    const over = updates.filter((_, k) => k % 5 >= 3).map((u) => u.hospitalId);
    expect([...alone.report.clippedHospitals].sort()).toEqual([...over].sort());
    for (const [id, norm] of Object.entries(alone.report.updateNorms))
      expect(norm > 1).toBe(over.includes(id));
  });

  it('vectors outside kernel memory, or a sum outside it, stay on the calling thread', () => {
    const offered = scriptedHelper((n) => Array.from({ length: n }, (_, i) => i));
    useKernelHelper(offered);
    const memory = KernelMemory.create()!;
    const deltas = inMemory(memory, 9, 3 * TILE, 4);
    const plain = deltas.map((d) => d.slice());
    expect(sumsOfSquares(plain)).toEqual(plain.map(sumOfSquaresJs));
    const out = new Float64Array(3 * TILE); // not in kernel memory: the helper could not write it
    scaledSumInto(
      out,
      deltas,
      deltas.map(() => 1),
    );
    expect(offered.tasks).toEqual([]);
  });
});
