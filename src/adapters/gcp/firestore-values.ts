import { Timestamp } from '@google-cloud/firestore';
import type { DocumentData } from '../../ports/document-store';

/**
 * How HIMAS documents are stored in Firestore: as plain JSON, exactly as the embedded store keeps
 * them (it stores JSON text). So the same value reads back the same on both stacks: `undefined`
 * fields are dropped, Dates become ISO strings, NaN becomes null, and nothing Firestore-specific
 * (Timestamp, GeoPoint, references) is written.
 *
 * One JSON shape Firestore cannot hold: an array directly inside an array ("Cannot convert an
 * array value in an array value"). No HIMAS document has one today (schemas/documents.ts: arrays
 * hold strings, numbers or objects; the risk histogram's arrays sit inside an object), but the
 * port accepts any JSON, so an inner array is wrapped in a one-field map `{ "~array": [...] }` on
 * the way in and unwrapped on the way out. The key is reserved: a map that uses it is rejected
 * rather than silently misread.
 */
export const NESTED_ARRAY_KEY = '~array';

/** A JSON copy of `data` that Firestore can store. */
export function encodeDocument(data: DocumentData): DocumentData {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new TypeError(
      `document data must be an object, got ${Array.isArray(data) ? 'an array' : typeof data}`,
    );
  }
  return encodeValue(JSON.parse(JSON.stringify(data)), false) as DocumentData;
}

/** The JSON value a stored Firestore document stands for. */
export function decodeDocument<T>(data: DocumentData): T {
  return decodeValue(data, false) as T;
}

function encodeValue(value: unknown, insideArray: boolean): unknown {
  if (Array.isArray(value)) {
    const items = value.map((item) => encodeValue(item, true));
    return insideArray ? { [NESTED_ARRAY_KEY]: items } : items;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.some(([key]) => key === NESTED_ARRAY_KEY)) {
      throw new TypeError(
        `the field name ${JSON.stringify(NESTED_ARRAY_KEY)} is reserved by the Firestore adapter`,
      );
    }
    return Object.fromEntries(entries.map(([key, item]) => [key, encodeValue(item, false)]));
  }
  return value;
}

function decodeValue(value: unknown, insideArray: boolean): unknown {
  if (Array.isArray(value)) return value.map((item) => decodeValue(item, true));
  // Written by someone else (console, another client): keep the port's plain-JSON promise.
  if (value instanceof Timestamp) return value.toDate().toISOString();
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (
      insideArray &&
      keys.length === 1 &&
      keys[0] === NESTED_ARRAY_KEY &&
      Array.isArray(record[NESTED_ARRAY_KEY])
    ) {
      return decodeValue(record[NESTED_ARRAY_KEY], false);
    }
    return Object.fromEntries(keys.map((key) => [key, decodeValue(record[key], false)]));
  }
  return value;
}
