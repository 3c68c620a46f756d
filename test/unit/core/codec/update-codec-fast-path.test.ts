import fc from 'fast-check';
import {
  decodeUpdate,
  decodeUpdateWithDataView,
  encodeUpdate,
  encodeUpdateWithDataView,
  LITTLE_ENDIAN_HOST,
} from '../../../../src/core/codec/update-codec';

const bytesOf = (v: Float32Array | Int32Array) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

describe('update codec: the one-copy path agrees with the portable DataView path', () => {
  it('probes the host byte order with typed arrays (x64 and arm64 are little-endian)', () => {
    expect(LITTLE_ENDIAN_HOST).toBe(new Uint8Array(new Uint32Array([1]).buffer)[0] === 1);
  });

  it('encodes float32 and int32 values to the same bytes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.float32Array({ maxLength: 100 }), fc.int32Array({ maxLength: 100 })), (v) => {
        expect(encodeUpdate(v)).toEqual(encodeUpdateWithDataView(v));
      }),
    );
  });

  it('encodes a view into a larger buffer from its own offset', () => {
    const backing = new Float32Array([9, 1.5, -2, 9]);
    expect(encodeUpdate(backing.subarray(1, 3))).toEqual(
      encodeUpdateWithDataView(new Float32Array([1.5, -2])),
    );
  });

  it('decodes to the same values, bit for bit, from an aligned or an odd offset', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.float32Array({ maxLength: 100 }), fc.int32Array({ maxLength: 100 })),
        fc.integer({ min: 0, max: 7 }),
        (v, offset) => {
          const encoded = encodeUpdate(v);
          const backing = new Uint8Array(encoded.length + offset);
          backing.set(encoded, offset);
          const blob = backing.subarray(offset);
          const fast = decodeUpdate(blob);
          const portable = decodeUpdateWithDataView(blob);
          expect(fast.encoding).toBe(portable.encoding);
          expect(fast.values.constructor).toBe(portable.values.constructor);
          expect(bytesOf(fast.values)).toEqual(bytesOf(portable.values));
          // The result owns its memory: writing to it leaves the blob alone.
          if (fast.values.length > 0) {
            fast.values[0] = 7;
            expect(decodeUpdate(blob).values[0]).toBe(portable.values[0]);
          }
        },
      ),
    );
  });

  it('rejects the same bad blobs with the same messages', () => {
    const good = encodeUpdate(new Float32Array([1, 2, 3]));
    for (const bad of [good.slice(0, 11), good.slice(0, 15), Uint8Array.from([0, ...good.subarray(1)])]) {
      expect(() => decodeUpdate(bad)).toThrow();
      let message = '';
      try {
        decodeUpdateWithDataView(bad);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(() => decodeUpdate(bad)).toThrow(message);
    }
  });
});
