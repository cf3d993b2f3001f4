/**
 * Errors that carry their HTTP status. Services throw them; the API renders them as the spec's
 * `{"error": "...", "status": N}`; the CLI maps them to exit codes.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string) => new ApiError(400, message);
export const notFound = (message: string) => new ApiError(404, message);
export const conflict = (message: string) => new ApiError(409, message);
export const unavailable = (message: string) => new ApiError(503, message);

/** The gRPC status code of a Temporal client error (ServiceErrors carry it on their cause). */
export function grpcCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = typeof e?.code === 'number' ? e.code : e?.cause?.code;
  return typeof code === 'number' ? code : undefined;
}

/** gRPC failures every Temporal call can meet, as ApiErrors; undefined for the rest. */
export function temporalFailure(err: unknown, what: string): ApiError | undefined {
  switch (grpcCode(err)) {
    case 14: // UNAVAILABLE
    case 4: // DEADLINE_EXCEEDED
      return unavailable('Temporal is unreachable; try again shortly');
    case 5: // NOT_FOUND
      return notFound(`${what} not found`);
    default:
      return undefined;
  }
}
