// Domain errors. Routes map `status` and `code` to the JSON error body of design.md invariant 7;
// the message is user-facing Chinese.

export type FieldErrors = Record<string, string[]>;

export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 | 503,
    readonly fields?: FieldErrors,
    /** The same refusal given again to a retried event: already audited the first time. */
    readonly replayed = false,
  ) {
    super(message);
    this.name = "ServiceError";
  }
}

export const invalid = (message: string, fields?: FieldErrors) =>
  new ServiceError("invalid_input", message, 400, fields);
export const unauthenticated = (message = "缺少或无效的访问令牌") =>
  new ServiceError("unauthenticated", message, 401);
export const forbidden = (message: string) => new ServiceError("forbidden", message, 403);
export const notFound = (message: string) => new ServiceError("not_found", message, 404);
export const conflict = (code: string, message: string) => new ServiceError(code, message, 409);
export const unprocessable = (code: string, message: string, fields?: FieldErrors) =>
  new ServiceError(code, message, 422, fields);
