/**
 * The wire format of a model update blob (ARCHITECTURE.md section 2):
 *
 *   bytes 0-3  magic "HMUP"
 *   byte  4    format version (1)
 *   byte  5    encoding: 0 = float32, 1 = fixed-point int32 (masked, secure aggregation)
 *   bytes 6-7  reserved (0)
 *   bytes 8-11 parameter count (uint32, little-endian)
 *   then       count values, little-endian
 *
 * A small header lets the aggregator reject a truncated or foreign blob with a clear reason
 * instead of averaging garbage.
 */
const MAGIC = [0x48, 0x4d, 0x55, 0x50]; // "HMUP"
const HEADER_BYTES = 12;
const FORMAT_VERSION = 1;

export type UpdateEncoding = 'float32' | 'int32';

export class UpdateFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpdateFormatError';
  }
}

export function encodeUpdate(values: Float32Array | Int32Array): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + values.length * 4);
  const view = new DataView(bytes.buffer);
  MAGIC.forEach((b, i) => view.setUint8(i, b));
  view.setUint8(4, FORMAT_VERSION);
  view.setUint8(5, values instanceof Int32Array ? 1 : 0);
  view.setUint32(8, values.length, true);
  for (let i = 0; i < values.length; i++) {
    if (values instanceof Int32Array) view.setInt32(HEADER_BYTES + i * 4, values[i], true);
    else view.setFloat32(HEADER_BYTES + i * 4, values[i], true);
  }
  return bytes;
}

export function decodeUpdate(bytes: Uint8Array): {
  encoding: UpdateEncoding;
  values: Float32Array | Int32Array;
} {
  if (bytes.length < HEADER_BYTES)
    throw new UpdateFormatError(`update blob is ${bytes.length} bytes, shorter than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!MAGIC.every((b, i) => view.getUint8(i) === b))
    throw new UpdateFormatError('update blob does not start with "HMUP"');
  const version = view.getUint8(4);
  if (version !== FORMAT_VERSION)
    throw new UpdateFormatError(
      `update blob format version ${version} is not supported (expected ${FORMAT_VERSION})`,
    );
  const encodingByte = view.getUint8(5);
  if (encodingByte > 1) throw new UpdateFormatError(`update blob encoding ${encodingByte} is unknown`);
  const count = view.getUint32(8, true);
  const expected = HEADER_BYTES + count * 4;
  if (bytes.length !== expected) {
    throw new UpdateFormatError(
      `update blob declares ${count} parameters (${expected} bytes) but has ${bytes.length} bytes`,
    );
  }
  const values = encodingByte === 1 ? new Int32Array(count) : new Float32Array(count);
  for (let i = 0; i < count; i++) {
    values[i] =
      encodingByte === 1
        ? view.getInt32(HEADER_BYTES + i * 4, true)
        : view.getFloat32(HEADER_BYTES + i * 4, true);
  }
  return { encoding: encodingByte === 1 ? 'int32' : 'float32', values };
}
