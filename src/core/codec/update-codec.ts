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

/**
 * The wire is little-endian; on a little-endian host (every platform Node ships for in practice) a
 * typed array's memory already is the wire layout, so values move with one memcpy instead of a
 * DataView call per value. Probed with typed arrays because core must not import node:os.
 */
export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export type UpdateEncoding = 'float32' | 'int32';

export class UpdateFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpdateFormatError';
  }
}

/** Encodes an update blob: one copy of the values on a little-endian host, per-value writes otherwise. */
export function encodeUpdate(values: Float32Array | Int32Array): Uint8Array {
  if (!LITTLE_ENDIAN_HOST) return encodeUpdateWithDataView(values);
  const bytes = new Uint8Array(HEADER_BYTES + values.length * 4);
  writeHeader(bytes, values);
  bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), HEADER_BYTES);
  return bytes;
}

/** The portable encoder (any host byte order): what encodeUpdate runs on a big-endian host. */
export function encodeUpdateWithDataView(values: Float32Array | Int32Array): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + values.length * 4);
  const view = writeHeader(bytes, values);
  for (let i = 0; i < values.length; i++) {
    if (values instanceof Int32Array) view.setInt32(HEADER_BYTES + i * 4, values[i], true);
    else view.setFloat32(HEADER_BYTES + i * 4, values[i], true);
  }
  return bytes;
}

function writeHeader(bytes: Uint8Array, values: Float32Array | Int32Array): DataView {
  const view = new DataView(bytes.buffer);
  MAGIC.forEach((b, i) => view.setUint8(i, b));
  view.setUint8(4, FORMAT_VERSION);
  view.setUint8(5, values instanceof Int32Array ? 1 : 0);
  view.setUint32(8, values.length, true);
  return view;
}

export interface DecodedUpdate {
  encoding: UpdateEncoding;
  values: Float32Array | Int32Array;
}

/**
 * Checks a blob's header and length and returns its values in a fresh array: on a little-endian
 * host one slice of the payload (a copy into a new, aligned buffer the result owns), otherwise
 * per-value DataView reads.
 */
export function decodeUpdate(bytes: Uint8Array): DecodedUpdate {
  if (!LITTLE_ENDIAN_HOST) return decodeUpdateWithDataView(bytes);
  const { encoding, count } = readHeader(bytes);
  const start = bytes.byteOffset + HEADER_BYTES;
  const payload = bytes.buffer.slice(start, start + count * 4);
  return { encoding, values: encoding === 'int32' ? new Int32Array(payload) : new Float32Array(payload) };
}

/** Allocates a decoded update's values: e.g. in kernel memory, where the aggregation kernels read them in place. */
export interface UpdateAllocator {
  float32(length: number): Float32Array;
  int32(length: number): Int32Array;
}

/**
 * decodeUpdate into arrays from `allocate` (one copy of the payload, the one decodeUpdate makes
 * into a fresh buffer); the same checks and values.
 */
export function decodeUpdateInto(bytes: Uint8Array, allocate: UpdateAllocator): DecodedUpdate {
  if (!LITTLE_ENDIAN_HOST) return decodeUpdateWithDataView(bytes);
  const { encoding, count } = readHeader(bytes);
  const values = encoding === 'int32' ? allocate.int32(count) : allocate.float32(count);
  new Uint8Array(values.buffer, values.byteOffset, count * 4).set(
    bytes.subarray(HEADER_BYTES, HEADER_BYTES + count * 4),
  );
  return { encoding, values };
}

/** The portable decoder (any host byte order): what decodeUpdate runs on a big-endian host. */
export function decodeUpdateWithDataView(bytes: Uint8Array): DecodedUpdate {
  const { encoding, count, view } = readHeader(bytes);
  const values = encoding === 'int32' ? new Int32Array(count) : new Float32Array(count);
  for (let i = 0; i < count; i++) {
    values[i] =
      encoding === 'int32'
        ? view.getInt32(HEADER_BYTES + i * 4, true)
        : view.getFloat32(HEADER_BYTES + i * 4, true);
  }
  return { encoding, values };
}

function readHeader(bytes: Uint8Array): { encoding: UpdateEncoding; count: number; view: DataView } {
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
  return { encoding: encodingByte === 1 ? 'int32' : 'float32', count, view };
}
