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
export const tooMany = (message: string) => new ServiceError("too_many_requests", message, 429);
export const unprocessable = (code: string, message: string, fields?: FieldErrors) =>
  new ServiceError(code, message, 422, fields);

/**
 * An unexpected error as the operator's log may show it. A database error's message carries the statement's
 * parameters, which can hold phone numbers (invariant 8): it is shown by its SQLSTATE and constraint only.
 */
export function describeInternalError(err: unknown): string {
  const db = databaseErrorOf(err);
  if (db && /^[0-9A-Z]{5}$/.test(db.code)) {
    const where = err instanceof Error ? (err.stack ?? "").split("\n").slice(1, 6).join("\n") : "";
    return `数据库错误 SQLSTATE ${db.code}${db.constraint ? `（约束 ${db.constraint}）` : ""}\n${where}`;
  }
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** Whether a database error is the unique violation of this constraint (SQLSTATE 23505). */
export function isUniqueViolation(err: unknown, constraint: string): boolean {
  const db = databaseErrorOf(err);
  return db?.code === "23505" && db.constraint === constraint;
}

/** The SQLSTATE and constraint of a database error drizzle wrapped (postgres-js names it `constraint_name`, PGlite `constraint`). */
function databaseErrorOf(err: unknown): { code: string; constraint: string | null } | null {
  const cause = err instanceof Error ? (err.cause as { code?: unknown; constraint?: unknown; constraint_name?: unknown } | undefined) : undefined;
  if (!cause || typeof cause.code !== "string") return null;
  const constraint = cause.constraint ?? cause.constraint_name;
  return { code: cause.code, constraint: typeof constraint === "string" ? constraint : null };
}
