// SMS one-time codes: the gateway interface, a development gateway that prints, and a retry wrapper that never
// sends twice. The vendor gateways (tencent.ts, aliyun.ts) share the input check, the HTTP exchange and the
// failure vocabulary defined here.
//
// The phone number and the code are secrets of the person logging in: neither may appear in an error message or
// a log line. Vendor texts are passed through `scrub()` because some echo the request (Aliyun's
// SignatureDoesNotMatch quotes the whole string-to-sign, number and code included).

import { randomUUID } from "node:crypto";
import type { z } from "zod";

export interface SmsCode {
  /** 11-digit mainland number, no prefix */
  mobile: string;
  code: string;
  /** validity shown in the message */
  minutes: number;
}

export type SmsFailureKind = "rejected" | "throttled" | "unavailable";

/**
 * A failed send.
 * - `message`: for operators (vendor error code, request id); never the phone number or the code.
 * - `userMessage`: Simplified Chinese, for the person logging in.
 * - `notSent`: true only when the vendor certainly did not send (it refused, or the request never left this
 *   machine). False when it may have gone out (timeout, HTTP 5xx, an answer we cannot read): do not resend.
 */
export class SmsError extends Error {
  constructor(
    readonly kind: SmsFailureKind,
    message: string,
    readonly userMessage: string,
    readonly notSent: boolean,
  ) {
    super(message);
    this.name = "SmsError";
  }
}

export interface SmsGateway {
  readonly name: string;
  sendCode(input: SmsCode): Promise<{ messageId: string }>;
}

/**
 * How the vendor modules classify a failure. Each maps to one kind, one `notSent` and one user text:
 * - badNumber / blockedNumber / setup: the vendor certainly refused (bad or unsubscribed number, template,
 *   signature, balance, credentials, signing) → "rejected", notSent.
 * - throttled: the vendor's frequency limits refused it → "throttled", notSent.
 * - unreachable: connection refused / DNS failure, the request was never written → "unavailable", notSent.
 * - uncertain: timeout, HTTP 5xx, vendor internal error, unreadable answer; the vendor may have sent it
 *   → "unavailable", NOT notSent.
 */
export type SmsProblem = "badNumber" | "blockedNumber" | "setup" | "throttled" | "unreachable" | "uncertain";

const PROBLEMS: Record<SmsProblem, { kind: SmsFailureKind; notSent: boolean; userMessage: string }> = {
  badNumber: { kind: "rejected", notSent: true, userMessage: "短信发送失败：手机号码无效，请联系安全管理员核对" },
  blockedNumber: { kind: "rejected", notSent: true, userMessage: "短信发送失败：该手机号码已退订或被拦截，请联系安全管理员" },
  setup: { kind: "rejected", notSent: true, userMessage: "短信发送失败：短信服务配置有误，请联系系统管理员" },
  throttled: { kind: "throttled", notSent: true, userMessage: "短信发送过于频繁，请稍后再试" },
  unreachable: { kind: "unavailable", notSent: true, userMessage: "短信服务暂时不可用，请稍后再试" },
  uncertain: { kind: "unavailable", notSent: false, userMessage: "短信服务暂时不可用，如未收到验证码，请稍后再试" },
};

/** For the vendor modules: an SmsError for `problem`; `message` must already be scrubbed. */
export function smsError(problem: SmsProblem, message: string): SmsError {
  const { kind, notSent, userMessage } = PROBLEMS[problem];
  return new SmsError(kind, message, userMessage, notSent);
}

// 13x–19x: what mainland carriers issue; anything else the vendors refuse anyway.
const MAINLAND_MOBILE = /^1[3-9]\d{9}$/;
const CODE = /^[0-9A-Za-z]{4,8}$/;

/** For every gateway: refuse malformed input before anything leaves the process (so certainly not sent). */
export function checkSmsInput(input: SmsCode): void {
  if (typeof input.mobile !== "string" || !MAINLAND_MOBILE.test(input.mobile))
    throw smsError("badNumber", "短信未发送：手机号码不是 11 位中国大陆手机号");
  if (typeof input.code !== "string" || !CODE.test(input.code)) throw smsError("setup", "短信未发送：验证码应为 4–8 位数字或字母");
  if (!Number.isInteger(input.minutes) || input.minutes < 1) throw smsError("setup", "短信未发送：有效期（分钟）应为正整数");
}

/** Removes the number and the code from a vendor text (in any form: +86…, percent-encoded JSON) and bounds it. */
export function scrub(text: string, input: SmsCode): string {
  let out = text;
  for (const secret of [input.mobile, input.code]) if (secret.length >= 4) out = out.split(secret).join("***");
  // Any other mainland-looking number (e.g. reformatted by the vendor) goes too.
  out = out.replace(/1[3-9]\d{9}/g, "***");
  return out.length > 300 ? `${out.slice(0, 300)}…` : out;
}

/** "138****0000": enough for a person to recognise their number, not enough to reconstruct it. */
function maskMobile(mobile: string): string {
  return `${mobile.slice(0, 3)}****${mobile.slice(-4)}`;
}

/** Development: prints a masked line instead of sending; the full message goes to `sink` (tests read the code there). */
export function consoleGateway(opts: { log?: (line: string) => void; sink?: (message: SmsCode) => void } = {}): SmsGateway {
  const log = opts.log ?? ((line: string) => console.log(line));
  return {
    name: "console",
    async sendCode(input) {
      checkSmsInput(input);
      log(`[短信 → ${maskMobile(input.mobile)}] 验证码 ******（${input.minutes} 分钟内有效）`);
      opts.sink?.({ mobile: input.mobile, code: input.code, minutes: input.minutes });
      return { messageId: `console-${randomUUID()}` };
    },
  };
}

/**
 * Retries once, and only when the first failure certainly sent nothing (SmsError.notSent), so nothing is sent
 * twice. Certain rejections (bad number, template, credentials) are not retried either: the same request would
 * be refused the same way, and repeated auth failures only add noise at the vendor.
 */
export function retryOnce(gateway: SmsGateway): SmsGateway {
  return {
    name: gateway.name,
    async sendCode(input) {
      try {
        return await gateway.sendCode(input);
      } catch (err) {
        if (err instanceof SmsError && err.notSent && err.kind !== "rejected") return gateway.sendCode(input);
        throw err;
      }
    },
  };
}

// Connection-level failures that happen before a single request byte is written: connect refused, DNS,
// no route, undici's own connect timeout. Anything else (reset, socket closed mid-request) may have reached
// the vendor.
const BEFORE_REQUEST = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);

/** Every `code` on the error, its causes, and (happy-eyeballs) AggregateError members. */
function errorCodes(err: unknown, depth = 0): string[] {
  if (!err || typeof err !== "object" || depth > 5) return [];
  const codes: string[] = [];
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") codes.push(code);
  const members = (err as { errors?: unknown }).errors;
  if (Array.isArray(members)) for (const member of members) codes.push(...errorCodes(member, depth + 1));
  codes.push(...errorCodes((err as { cause?: unknown }).cause, depth + 1));
  return codes;
}

/**
 * For the vendor modules: one POST, with the whole exchange (connect, answer, body) bounded by `timeoutMs`.
 * Returns status and body text; failures before that become SmsError("unavailable"), notSent only when the
 * request certainly never left.
 */
export async function vendorPost<T>(
  vendor: string,
  doFetch: typeof fetch,
  url: string,
  init: { headers: Record<string, string>; body: string },
  timeoutMs: number,
  answerShape: z.ZodType<T>,
): Promise<{ status: number; answer: T }> {
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Response;
  try {
    response = await doFetch(url, { method: "POST", headers: init.headers, body: init.body, signal });
  } catch (err) {
    // Not chained as `cause`: fetch errors may carry the request.
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    if (timedOut) throw smsError("uncertain", `${vendor}：${timeoutMs} 毫秒内无应答（短信可能已发出，不重试）`);
    const codes = errorCodes(err);
    const label = codes.length > 0 ? [...new Set(codes)].join("/") : err instanceof Error ? err.name : "未知错误";
    if (codes.length > 0 && codes.every((c) => BEFORE_REQUEST.has(c))) throw smsError("unreachable", `${vendor}：无法连接（${label}），请求未发出`);
    throw smsError("uncertain", `${vendor}：网络错误（${label}），短信可能已发出`);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    throw smsError("uncertain", `${vendor}：${timedOut ? `${timeoutMs} 毫秒内未读完应答` : "读取应答时连接中断"}（短信可能已发出）`);
  }
  const status = response.status;
  if (status >= 500) throw smsError("uncertain", `${vendor}：HTTP ${status}（短信可能已发出）`);
  try {
    return { status, answer: answerShape.parse(JSON.parse(text)) };
  } catch {
    throw smsError("uncertain", `${vendor}：应答格式无法识别（HTTP ${status}，短信可能已发出）`);
  }
}
