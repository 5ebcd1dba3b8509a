// Domain errors. Routes map `status` and `code` to the JSON error body of design.md invariant 7;
// the message is user-facing Chinese.

/**
 * Every error code the service answers with: one closed list, so a new code is added here (and appears in
 * /openapi.json) rather than typed as a free string somewhere.
 */
export const ERROR_CODES = [
  "account_ended", "account_exists", "account_expired", "account_locked", "account_taken", "already_changing",
  "already_decided", "already_imported", "already_rated", "attachments_missing", "audit_key_missing",
  "calendar_out_of_range", "code_used", "comment_required", "database_unavailable", "denied",
  "file_attached_elsewhere", "file_purpose_mismatch", "file_type_not_allowed", "forbidden", "grant_ended", "host_exists", "host_revoked",
  "http_error", "idempotency_key_reused", "instance_taken", "internal", "invalid_input", "invalid_stage",
  "invalid_target", "link_invalid", "malformed_envelope", "mixed_units", "month_not_over", "no_account",
  "no_assignee", "no_instance", "no_mobile", "no_rule", "nobody_to_nudge", "not_allowed", "not_completed",
  "not_found", "not_justified", "not_locked", "not_rated", "not_returned", "not_yours", "note_required",
  "nudge_throttled", "payload_too_large", "period_overlaps", "receiver_mismatch", "request_closed", "resource_gone",
  "resubmit_required", "second_factor_missing", "signature_invalid", "sms_rejected", "sms_unavailable", "stage_not_open", "statement_exists", "statement_unsigned", "system_exists",
  "token_expired", "token_id_exhausted", "token_revoked", "too_early", "too_many_requests", "totp_confirmed",
  "totp_unavailable", "totp_wrong", "unauthenticated", "undecryptable", "unknown_button", "unknown_file",
  "unknown_host", "unknown_resource", "unknown_user", "unreachable", "upload_quota_exceeded", "usage", "user_inactive", "validity_past",
  "version_exists", "wecom_not_configured", "wrong_action", "wrong_direction", "wrong_year",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES);
export const isErrorCode = (code: unknown): code is ErrorCode => typeof code === "string" && KNOWN_CODES.has(code);

export type FieldErrors = Record<string, string[]>;

export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
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
export const conflict = (code: ErrorCode, message: string) => new ServiceError(code, message, 409);
export const tooMany = (message: string) => new ServiceError("too_many_requests", message, 429);
export const unprocessable = (code: ErrorCode, message: string, fields?: FieldErrors) =>
  new ServiceError(code, message, 422, fields);

// ---------------------------------------------------------------------------------------------------------
// The operator's log (invariant 8). An internal error is logged by its shape, never its words: a database
// error's message is drizzle's "Failed query: … params: …", whose parameters hold phone numbers and token
// hashes, and a connection error's message carries the same once drizzle wraps it.
// ---------------------------------------------------------------------------------------------------------

/** The error and its causes, outermost first (drizzle wraps the driver's error in `cause`). */
function causeChain(err: unknown): Record<string, unknown>[] {
  const chain: Record<string, unknown>[] = [];
  let at: unknown = err;
  while (at !== null && typeof at === "object" && chain.length < 8 && !chain.includes(at as Record<string, unknown>)) {
    chain.push(at as Record<string, unknown>);
    at = (at as { cause?: unknown }).cause;
  }
  return chain;
}

/** An error the database raised: the driver attaches the query (postgres.js, drizzle) or names it PostgresError. */
const isDatabaseLink = (link: Record<string, unknown>) => Object.prototype.hasOwnProperty.call(link, "query") || link.name === "PostgresError";

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$.]{0,62}$/;
const CODE = /^[A-Z0-9_]{2,40}$/;

// V8's own messages that name only code (a property or a variable), never data: kept, for they say what broke.
const CODE_ONLY_MESSAGES = [
  /^Cannot read properties of (null|undefined) \(reading '[A-Za-z0-9_$]{1,64}'\)$/,
  /^Cannot set properties of (null|undefined) \(setting '[A-Za-z0-9_$]{1,64}'\)$/,
  /^[A-Za-z0-9_$.]{1,80} is not (a function|defined|iterable|a constructor)$/,
  /^Maximum call stack size exceeded$/,
];

function describeLink(link: Record<string, unknown>): string {
  // drizzle's DrizzleQueryError keeps the name "Error": its class says more. PGlite's are named "error", of a
  // minified class.
  const ctor = (link.constructor as { name?: unknown } | undefined)?.name;
  const candidates = [
    typeof link.name === "string" && /^[A-Z]/.test(link.name) && link.name !== "Error" ? link.name : null,
    typeof ctor === "string" && ctor.length >= 3 && ctor !== "Object" ? ctor : null,
    link.name,
  ];
  const name = candidates.find((c): c is string => typeof c === "string" && IDENTIFIER.test(c)) ?? "Error";
  const words: string[] = [name];
  const code = link.code;
  if (typeof code === "string" && CODE.test(code)) words.push(/^[0-9A-Z]{5}$/.test(code) && /\d/.test(code) ? `SQLSTATE ${code}` : code);
  const constraint = link.constraint ?? link.constraint_name;
  if (typeof constraint === "string" && IDENTIFIER.test(constraint)) words.push(`（约束 ${constraint}）`);
  for (const [key, label] of [["table_name", "表"], ["column_name", "列"]] as const) {
    const value = link[key];
    if (typeof value === "string" && IDENTIFIER.test(value)) words.push(`${label} ${value}`);
  }
  const message = typeof link.message === "string" ? link.message : "";
  const said = CODE_ONLY_MESSAGES.some((shape) => shape.test(message)) ? `: ${message}` : "";
  return words.join(" ") + said;
}

/**
 * An unexpected error as the operator's log may show it: the class, SQLSTATE or driver code and constraint of
 * the error and each of its causes, then the stack frames. No message line (they carry the statement, its
 * parameters, a URL or the input), and everything masked once more by maskSecrets as a last line of defence.
 */
export function describeInternalError(err: unknown): string {
  const chain = causeChain(err);
  if (chain.length === 0) return `非错误对象（${typeof err}）`;
  const head = chain.map(describeLink).join(" ← ");
  const summary = chain.some(isDatabaseLink) ? `数据库错误：${head}` : head;
  // Frames only: the stack's first lines repeat the message, which may run over several lines.
  const frames = chain
    .map((link) => (typeof link.stack === "string" ? link.stack.split("\n").filter((line) => /^\s+at\s/.test(line)) : []))
    .find((lines) => lines.length > 0);
  return maskSecrets([summary, ...(frames ?? []).slice(0, 8)].join("\n"));
}

/**
 * A one-line reason for a person at a terminal (the CLI, a failed start): the error's own words when they are
 * not a database error's (a file not found, a port taken), masked; a database error by its shape only.
 */
export function safeErrorMessage(err: unknown): string {
  if (isDatabaseUnavailable(err)) return `数据库暂时无法访问，请稍后重试（${describeInternalError(err).split("\n")[0]}）`;
  if (causeChain(err).some(isDatabaseLink)) return describeInternalError(err).split("\n")[0]!;
  return maskSecrets(err instanceof Error ? err.message : String(err));
}

// An 11-digit mainland mobile, not inside a longer number (timestamps, ids).
const MOBILE = /(?<![0-9])1[3-9][0-9]{9}(?![0-9])/g;
// API tokens (ys_…), hex digests and keys (token hashes are SHA-256 hex), and base64 / base64url secrets
// (WeCom's EncodingAESKey, access_tokens): a long run of their alphabet that mixes letters and digits.
const TOKEN = /\bys_[A-Za-z0-9_-]{16,}/g;
const HEX = /(?<![A-Za-z0-9])[0-9a-fA-F]{24,}(?![A-Za-z0-9])/g;
const BASE64 = /[A-Za-z0-9+/_-]{24,}={0,2}/g;
const mixed = (part: string) => /[a-z]/.test(part) && /[A-Z]/.test(part) && /[0-9]/.test(part);
// A key is one long random run; a path or a bundle name is short words between separators.
const looksRandom = (run: string) => mixed(run) && (!/[/_+-]/.test(run) || run.split(/[/_+-]/).some((part) => part.length >= 12 && mixed(part)));

/**
 * The last line of defence for a log line: 11-digit mobiles become 138****0001, tokens, hex digests and long
 * base64 runs become ***. File paths and identifiers survive: a base64 run must mix upper case, lower case and
 * digits, and a path's segments are short.
 */
export function maskSecrets(text: string): string {
  return text
    .replace(MOBILE, (m) => `${m.slice(0, 3)}****${m.slice(7)}`)
    .replace(TOKEN, "ys_***")
    .replace(HEX, "***")
    .replace(BASE64, (run) => (looksRandom(run) ? "***" : run));
}

// ---------------------------------------------------------------------------------------------------------
// The database gone away: a restart, a failover, a network cut. Answered 503 with Retry-After, never a 500.
// ---------------------------------------------------------------------------------------------------------

/** Seconds a client is told to wait (Retry-After) while the database is unavailable. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

export const databaseUnavailable = () =>
  new ServiceError("database_unavailable", `数据库暂时无法访问，本次操作未执行，请约 ${DATABASE_RETRY_AFTER_SECONDS} 秒后重试；持续出现请联系管理员`, 503);

// postgres.js's own connection errors: unambiguous, whoever raised them.
const DRIVER_CONNECTION_CODES = new Set(["CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT"]);
// A socket's errors: the database's only when the driver raised them for a query (it attaches `query`),
// or drizzle wrapped them; the same codes from a WeCom or SMS call are not the database's.
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);
// The server shutting down or restarting (57P01 admin, 57P02 crash, 57P03 starting up), an idle session
// ended (57P05), no connection slot left (53300), a statement cancelled by statement_timeout (57014).
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "57P05", "53300", "57014"]);

/**
 * Whether an error means "the database cannot be reached right now" rather than a fault of the request or the
 * code: the one place the API, the callbacks and the job runner ask.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const chain = causeChain(err);
  const fromDatabase = chain.some((link) => Object.prototype.hasOwnProperty.call(link, "query"));
  return chain.some((link) => {
    const code = link.code;
    if (typeof code !== "string") return false;
    if (DRIVER_CONNECTION_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code)) return true;
    // Class 08, connection exception, except 08P01 (a protocol violation is a bug, not an outage).
    if (/^08[0-9A-Z]{3}$/.test(code) && code !== "08P01") return true;
    return fromDatabase && SOCKET_CODES.has(code);
  });
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
