import type { Context } from "hono";

/** Where a request came from, for the audit log; null when the server does not say (tests calling the app directly). */
export function sourceIp(c: Context): string | null {
  // @hono/node-server passes the Node request as env.incoming.
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? null;
}

/** What an `Idempotency-Key` header may be: 1–200 visible ASCII characters. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;
