import { randomFillSync } from 'node:crypto';
import { CryptoRandom } from '../../../src/runtime/crypto-random';
import { CHUNK_SAMPLES, PrefetchedNormals, PREFETCH_MIN_LENGTH } from '../../../src/runtime/normal-prefetch';
import { zigguratNormals, zigguratSource, zigguratTables } from '../../../src/runtime/ziggurat-normal';

describe('normals drawn on a worker thread', () => {
  it('the worker’s copy of the ziggurat gives the same tables and the same samples from the same words', () => {
    const worker = new Function(`${zigguratSource()}; return { zigguratTables, zigguratNormals };`)() as {
      zigguratTables: typeof zigguratTables;
      zigguratNormals: typeof zigguratNormals;
    };
    const tables = zigguratTables();
    expect(worker.zigguratTables()).toEqual(tables);
    for (const [size, index, length] of [
      [40_000, 0, 20_000],
      [40_000, 3, 7],
      [40_000, 39_999, 11], // refills at once
      [16, 0, 5_000], // refills every few samples, through tails and wedges
    ]) {
      const seed = randomFillSync(new Uint32Array(size));
      const refills: Uint32Array[] = Array.from({ length: 4000 }, () =>
        randomFillSync(new Uint32Array(size)),
      );
      const run = (sampler: typeof zigguratNormals) => {
        const words = seed.slice();
        let r = 0;
        const out = new Float64Array(length);
        const end = sampler(words, index, out, tables, (w) => w.set(refills[r++]));
        return { out, end, r };
      };
      const a = run(worker.zigguratNormals);
      const b = run(zigguratNormals);
      expect(a.end).toBe(b.end);
      expect(a.r).toBe(b.r);
      expect(a.out).toEqual(b.out);
    }
  });

  it('a prefetched fill is standard normal and fresh: never the samples of an earlier fill', () => {
    const random = new CryptoRandom();
    const n = PREFETCH_MIN_LENGTH * 2;
    const draw = () => {
      random.prefetchStandardNormal(n);
      const out = new Float64Array(n);
      random.fillStandardNormal(out);
      return out;
    };
    const a = draw();
    const b = draw();
    for (const out of [a, b]) {
      const mean = out.reduce((s, x) => s + x, 0) / n;
      const variance = out.reduce((s, x) => s + (x - mean) ** 2, 0) / n;
      // 131072 samples: the standard errors are 0.003 (mean) and 0.004 (variance).
      expect(Math.abs(mean)).toBeLessThan(0.02);
      expect(Math.abs(variance - 1)).toBeLessThan(0.03);
      expect(out.every(Number.isFinite)).toBe(true);
    }
    expect(a.some((x, i) => x !== b[i])).toBe(true);
    expect(a[0]).not.toBe(b[0]);
  });

  it('a fill of another length than the prefetch draws in place, and the next prefetch still serves', () => {
    const random = new CryptoRandom();
    random.prefetchStandardNormal(PREFETCH_MIN_LENGTH);
    const other = new Float64Array(1000);
    random.fillStandardNormal(other);
    expect(other.every((x) => Number.isFinite(x))).toBe(true);
    expect(new Set(other).size).toBe(1000);
    random.prefetchStandardNormal(PREFETCH_MIN_LENGTH);
    const out = new Float64Array(PREFETCH_MIN_LENGTH);
    random.fillStandardNormal(out);
    expect(new Set(out).size).toBe(PREFETCH_MIN_LENGTH);
  });

  it('the worker draws chunks while the caller is busy, and the caller draws only what is left', () => {
    const n = 4 * CHUNK_SAMPLES;
    const request = PrefetchedNormals.request(n);
    expect(request).not.toBeNull();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000); // the caller "sums" for 1 s
    let drawnHere = 0;
    const out = new Float64Array(n);
    expect(
      request!.takeInto(out, (chunk) => {
        drawnHere += 1;
        new CryptoRandom().fillStandardNormal(chunk);
      }),
    ).toBe(true);
    expect(drawnHere).toBeLessThan(4);
    expect(new Set(out).size).toBe(n);
    // One open request per process: a second one meanwhile is refused, and its caller draws alone.
    const first = PrefetchedNormals.request(n);
    expect(first).not.toBeNull();
    expect(PrefetchedNormals.request(n)).toBeNull();
    first!.discard();
  });

  it('a short prefetch is not sent to the worker, and the fill is still drawn', () => {
    const random = new CryptoRandom();
    random.prefetchStandardNormal(10);
    const out = new Float64Array(10);
    random.fillStandardNormal(out);
    expect(new Set(out).size).toBe(10);
  });
});
