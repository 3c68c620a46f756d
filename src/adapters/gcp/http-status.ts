/**
 * The HTTP status of an error from a REST-based Google Cloud client (BigQuery's ApiError carries it
 * as `code`, gaxios errors as `status` or `response.status`), or undefined for other errors.
 */
export function httpStatusOf(error: unknown): number | undefined {
  const e = error as { code?: unknown; status?: unknown; response?: { status?: unknown } } | null;
  for (const value of [e?.code, e?.status, e?.response?.status])
    if (typeof value === 'number' && value >= 100 && value < 600) return value;
  return undefined;
}
