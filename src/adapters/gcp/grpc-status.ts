/**
 * gRPC status codes the Google Cloud clients attach to their errors as `error.code`
 * (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). Only the ones the adapters branch on.
 */
export const GrpcStatus = {
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  ABORTED: 10,
} as const;

/** The numeric gRPC code of an error from a Google Cloud client, or undefined for other errors. */
export function grpcCodeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}
