import fc from 'fast-check';
import { decodeUpdate, encodeUpdate, UpdateFormatError } from '../../../../src/core/codec/update-codec';

function decodeError(bytes: Uint8Array): UpdateFormatError {
  try {
    decodeUpdate(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(UpdateFormatError);
    return error as UpdateFormatError;
  }
  throw new Error('decodeUpdate accepted the bytes');
}

describe('update codec', () => {
  it('writes the documented header: "HMUP", version 1, encoding, reserved, little-endian count', () => {
    const bytes = encodeUpdate(new Float32Array([1, -2, 0.5]));
    expect(Array.from(bytes.subarray(0, 12))).toEqual([0x48, 0x4d, 0x55, 0x50, 1, 0, 0, 0, 3, 0, 0, 0]);
    expect(bytes.length).toBe(12 + 3 * 4);
    // 1.0f little-endian is 00 00 80 3f.
    expect(Array.from(bytes.subarray(12, 16))).toEqual([0, 0, 0x80, 0x3f]);
    expect(encodeUpdate(new Int32Array([-1]))[5]).toBe(1);
    expect(Array.from(encodeUpdate(new Int32Array([-1])).subarray(12))).toEqual([255, 255, 255, 255]);
  });

  it('round-trips float32 values bit for bit, including NaN, ±Infinity and -0', () => {
    fc.assert(
      fc.property(fc.float32Array({ maxLength: 200 }), (values) => {
        const decoded = decodeUpdate(encodeUpdate(values));
        expect(decoded.encoding).toBe('float32');
        expect(decoded.values).toBeInstanceOf(Float32Array);
        expect(new Uint8Array(decoded.values.buffer)).toEqual(
          new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)),
        );
      }),
    );
    const special = new Float32Array([Number.NaN, Infinity, -Infinity, -0]);
    const back = decodeUpdate(encodeUpdate(special)).values;
    expect(Number.isNaN(back[0])).toBe(true);
    expect(back[1]).toBe(Infinity);
    expect(back[2]).toBe(-Infinity);
    expect(Object.is(back[3], -0)).toBe(true);
  });

  it('round-trips int32 values (masked updates)', () => {
    fc.assert(
      fc.property(fc.int32Array({ maxLength: 200 }), (values) => {
        const decoded = decodeUpdate(encodeUpdate(values));
        expect(decoded.encoding).toBe('int32');
        expect(decoded.values).toBeInstanceOf(Int32Array);
        expect(Array.from(decoded.values)).toEqual(Array.from(values));
      }),
    );
    const extremes = new Int32Array([-2147483648, 2147483647, 0]);
    expect(Array.from(decodeUpdate(encodeUpdate(extremes)).values)).toEqual([-2147483648, 2147483647, 0]);
  });

  it('decodes from a view at an odd byte offset into a larger buffer', () => {
    const encoded = encodeUpdate(new Float32Array([3.5, -7.25]));
    const backing = new Uint8Array(encoded.length + 3);
    backing.set(encoded, 1);
    const view = backing.subarray(1, 1 + encoded.length);
    expect(Array.from(decodeUpdate(view).values)).toEqual([3.5, -7.25]);
  });

  it('encodes an empty update as a bare header', () => {
    const bytes = encodeUpdate(new Float32Array(0));
    expect(bytes.length).toBe(12);
    expect(decodeUpdate(bytes).values).toHaveLength(0);
  });

  describe('rejects bad blobs with a clear reason', () => {
    const good = () => encodeUpdate(new Float32Array([1, 2, 3]));

    it('shorter than the header', () => {
      expect(decodeError(new Uint8Array(0)).message).toBe('update blob is 0 bytes, shorter than its header');
      expect(decodeError(good().slice(0, 11)).message).toBe(
        'update blob is 11 bytes, shorter than its header',
      );
    });

    it('bad magic', () => {
      const bytes = good();
      bytes[3] = 0x51;
      expect(decodeError(bytes).message).toBe('update blob does not start with "HMUP"');
    });

    it('unsupported format version', () => {
      const bytes = good();
      bytes[4] = 2;
      expect(decodeError(bytes).message).toBe('update blob format version 2 is not supported (expected 1)');
    });

    it('unknown encoding', () => {
      const bytes = good();
      bytes[5] = 7;
      expect(decodeError(bytes).message).toBe('update blob encoding 7 is unknown');
    });

    it('length mismatch (truncated or padded body, or a wrong count)', () => {
      const bytes = good();
      expect(decodeError(bytes.slice(0, bytes.length - 1)).message).toBe(
        'update blob declares 3 parameters (24 bytes) but has 23 bytes',
      );
      const padded = new Uint8Array(bytes.length + 4);
      padded.set(bytes);
      expect(decodeError(padded).message).toBe(
        'update blob declares 3 parameters (24 bytes) but has 28 bytes',
      );
      const lying = good();
      lying[8] = 0xff;
      lying[9] = 0xff;
      lying[10] = 0xff;
      lying[11] = 0xff;
      expect(decodeError(lying).message).toMatch(
        /declares 4294967295 parameters \(\d+ bytes\) but has 24 bytes/,
      );
    });
  });
});
