import { GrpcStatus, googleErrorMessage, grpcCodeOf } from '../../../src/adapters/gcp/grpc-status';

/**
 * The adapters branch on an error's canonical code. Over gRPC the client's error carries it as a
 * number; over HTTP/JSON google-gax 5 hands back the raw HTTP error, whose `code` is the HTTP status
 * and whose body names the status (AIP-193). Both must read the same.
 */
describe('grpcCodeOf and googleErrorMessage', () => {
  const httpError = (status: number, name: string, message: string, asText = false) => {
    const body = { error: { code: status, message, status: name } };
    return Object.assign(new Error(JSON.stringify(body)), {
      code: status,
      status,
      response: { status, data: asText ? JSON.stringify(body) : body },
    });
  };

  it('reads a gRPC error code', () => {
    const grpc = Object.assign(new Error('5 NOT_FOUND: no such topic'), { code: 5 });
    expect(grpcCodeOf(grpc)).toBe(GrpcStatus.NOT_FOUND);
    expect(googleErrorMessage(grpc)).toBe('5 NOT_FOUND: no such topic');
  });

  it('reads the status an HTTP/JSON error body names, not its HTTP status', () => {
    expect(grpcCodeOf(httpError(404, 'NOT_FOUND', 'Model does not exist.'))).toBe(GrpcStatus.NOT_FOUND);
    // 409 is both ALREADY_EXISTS and ABORTED in HTTP: only the body tells them apart.
    expect(grpcCodeOf(httpError(409, 'ALREADY_EXISTS', 'exists'))).toBe(GrpcStatus.ALREADY_EXISTS);
    expect(grpcCodeOf(httpError(409, 'ABORTED', 'contention', true))).toBe(GrpcStatus.ABORTED);
    expect(grpcCodeOf(httpError(503, 'UNAVAILABLE', 'down'))).toBe(14);
    expect(googleErrorMessage(httpError(503, 'UNAVAILABLE', 'Vertex is down'))).toBe(
      'UNAVAILABLE: Vertex is down',
    );
  });

  it('an HTTP status alone is not mistaken for a gRPC code', () => {
    expect(grpcCodeOf(Object.assign(new Error('teapot'), { code: 418 }))).toBeUndefined();
    expect(grpcCodeOf(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBeUndefined();
    expect(grpcCodeOf(null)).toBeUndefined();
  });
});
