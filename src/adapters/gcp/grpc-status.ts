/**
 * gRPC status codes the Google Cloud clients attach to their errors as `error.code`
 * (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). Only the ones the adapters branch on.
 */
export const GrpcStatus = {
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  ABORTED: 10,
} as const;

/** google.rpc.Code by name (googleapis/google/rpc/code.proto), as a REST error body names it. */
const CODE_BY_NAME: Record<string, number> = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

/**
 * The body of an HTTP/JSON error (AIP-193: `{error: {code, message, status}}`) when the client
 * handed back the raw HTTP error. google-gax 5 does so in its HTTP/JSON mode (`fallback: true`):
 * it surfaces gaxios's error for a non-2xx answer, whose `code` is the HTTP status, not a gRPC code
 * (googleapis/gax-nodejs#1803). google-gax 6 converts it; reading both keeps the adapters correct
 * on either client major.
 */
function restErrorBody(error: unknown): { status?: unknown; message?: unknown } | undefined {
  const data = (error as { response?: { data?: unknown } } | null)?.response?.data;
  let body: unknown = data;
  if (typeof data === 'string') {
    try {
      body = JSON.parse(data);
    } catch {
      return undefined;
    }
  }
  const inner = (body as { error?: unknown } | null)?.error;
  return inner && typeof inner === 'object' ? (inner as { status?: unknown; message?: unknown }) : undefined;
}

/**
 * The numeric gRPC code of an error from a Google Cloud client, whether it came over gRPC
 * (`error.code`, 0–16) or as an HTTP/JSON error body naming the status; undefined for other errors.
 */
export function grpcCodeOf(error: unknown): number | undefined {
  const status = restErrorBody(error)?.status;
  if (typeof status === 'string' && status in CODE_BY_NAME) return CODE_BY_NAME[status];
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' && Number.isInteger(code) && code >= 0 && code <= 16 ? code : undefined;
}

/** What a Google Cloud client error says: `STATUS: message` for an HTTP/JSON error, else its message. */
export function googleErrorMessage(error: unknown): string {
  const body = restErrorBody(error);
  if (body && typeof body.message === 'string')
    return typeof body.status === 'string' ? `${body.status}: ${body.message}` : body.message;
  return (error as Error | null)?.message ?? String(error);
}
