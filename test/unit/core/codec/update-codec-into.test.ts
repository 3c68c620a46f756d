import {
  decodeUpdate,
  decodeUpdateInto,
  encodeUpdate,
  UpdateFormatError,
} from '../../../../src/core/codec/update-codec';
import { KernelMemory } from '../../../../src/core/kernels/aggregation-kernels';

describe('decodeUpdateInto', () => {
  it('decodes into the allocator’s arrays the same values as decodeUpdate, for both encodings', () => {
    const memory = KernelMemory.create()!;
    const floats = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i) * 1e-3);
    const ints = Int32Array.from({ length: 77 }, (_, i) => (i * 2654435761) | 0);
    for (const values of [floats, ints]) {
      const blob = encodeUpdate(values);
      // At an odd offset inside a larger buffer, as a blob read from a store may be.
      const padded = new Uint8Array(blob.length + 3);
      padded.set(blob, 3);
      const decoded = decodeUpdateInto(padded.subarray(3), memory);
      expect(decoded).toEqual(decodeUpdate(blob));
      expect(memory.owns(decoded.values)).toBe(true);
    }
  });

  it('refuses a truncated blob before allocating', () => {
    const blob = encodeUpdate(new Float32Array(10)).subarray(0, 30);
    const allocations: number[] = [];
    const allocate = {
      float32: (n: number) => (allocations.push(n), new Float32Array(n)),
      int32: (n: number) => (allocations.push(n), new Int32Array(n)),
    };
    expect(() => decodeUpdateInto(blob, allocate)).toThrow(UpdateFormatError);
    expect(allocations).toEqual([]);
  });
});
