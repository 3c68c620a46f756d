/**
 * Firestore's REST representation of a document (what the Workflows connector
 * `googleapis.firestore.v1.projects.databases.documents.get` returns): every value is wrapped by
 * type, e.g. `{ "status": { "stringValue": "closed" } }`, integers as strings. The local engine
 * returns embedded documents in this exact shape so the workflow reads them as it does in the cloud.
 * https://cloud.google.com/firestore/docs/reference/rest/v1/Value
 */
export type FirestoreValue =
  | { nullValue: null }
  | { booleanValue: boolean }
  | { integerValue: string }
  | { doubleValue: number }
  | { stringValue: string }
  | { arrayValue: { values?: FirestoreValue[] } }
  | { mapValue: { fields?: Record<string, FirestoreValue> } };

export function toFirestoreValue(value: unknown): FirestoreValue {
  if (value === null || value === undefined) return { nullValue: null };
  if (typeof value === 'boolean') return { booleanValue: value };
  if (typeof value === 'number')
    return Number.isInteger(value) ? { integerValue: String(value) } : { doubleValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (Array.isArray(value))
    return { arrayValue: value.length ? { values: value.map(toFirestoreValue) } : {} };
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return {
      mapValue: entries.length
        ? { fields: Object.fromEntries(entries.map(([k, v]) => [k, toFirestoreValue(v)])) }
        : {},
    };
  }
  throw new TypeError(`cannot represent a ${typeof value} as a Firestore value`);
}

export function toFirestoreDocument(name: string, data: Record<string, unknown>, updateTime: Date) {
  const fields =
    (toFirestoreValue(data) as { mapValue: { fields?: Record<string, FirestoreValue> } }).mapValue.fields ??
    {};
  return { name, fields, createTime: updateTime.toISOString(), updateTime: updateTime.toISOString() };
}
