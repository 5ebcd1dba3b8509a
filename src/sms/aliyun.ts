// Aliyun Dysmsapi SendSms (RPC style, Version 2017-05-25), signed with signature V2 (HMAC-SHA1).
// Wire facts: /work/shared/reference/security-audit-calendar.md §2.4; aliyunRpcSignature is checked against the
// official example in test/sms.test.ts. SendSms is not idempotent, which is why only certain refusals are retried.
//
// Failure classification (see SmsProblem in gateways.ts). Aliyun answers JSON `{Code, Message, BizId, RequestId}`;
// "OK" = sent. Its own convention: `isv.*` = the caller's fault, `isp.*` = the platform's.
//   HTTP 5xx                                              → uncertain     (may have been sent; no retry)
//   isv.MOBILE_NUMBER_ILLEGAL, isv.DOMESTIC_NUMBER_NOT_SUPPORTED → badNumber (rejected, not sent)
//   isv.*_LIMIT_CONTROL (BUSINESS_, DAY_…), Throttling*   → throttled     (not sent)
//   isp.RAM_PERMISSION_DENY, any other isv.*              → setup         (rejected, not sent)
//   other codes with HTTP 4xx (SignatureDoesNotMatch, InvalidAccessKeyId.*, InvalidTimeStamp.*,
//   SignatureNonceUsed, MissingParameter…): the API gateway refused before the product ran → setup
//   isp.* (SYSTEM_ERROR…), unknown codes with HTTP 2xx, unreadable answers → uncertain

import { createHmac, randomUUID } from "node:crypto";
import { z } from "zod";
import type { Clock } from "../core/context";
import { checkSmsInput, scrub, smsError, vendorPost, type SmsCode, type SmsGateway, type SmsProblem } from "./gateways";

export interface AliyunSmsConfig {
  accessKeyId: string;
  accessKeySecret: string;
  /** approved signature (签名) */
  signName: string;
  /** approved template, e.g. SMS_15305…; its variable is ${code} */
  templateCode: string;
  /** default https://dysmsapi.aliyuncs.com */
  endpoint?: string;
  clock: Clock;
  /** SignatureNonce; default a random UUID. Must be fresh per request (Aliyun refuses reuse). */
  nonce?: () => string;
  fetch?: typeof fetch;
  /** whole exchange, default 5000 */
  timeoutMs?: number;
}

/** RFC 3986 as Aliyun applies it: only A-Z a-z 0-9 - _ . ~ stay; encodeURIComponent also keeps ! ' ( ) *. */
function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Canonicalized query: every parameter except Signature, sorted by name, encoded, joined with &. */
function canonicalize(params: Record<string, string>): string {
  return Object.keys(params)
    .filter((name) => name !== "Signature")
    .sort()
    .map((name) => `${percentEncode(name)}=${percentEncode(params[name]!)}`)
    .join("&");
}

/** Signature V2: Base64(HMAC-SHA1(secret + "&", METHOD&%2F&encode(canonicalized query))). */
export function aliyunRpcSignature(
  method: "GET" | "POST",
  params: Record<string, string>,
  accessKeySecret: string,
): { stringToSign: string; signature: string } {
  const stringToSign = `${method}&${percentEncode("/")}&${percentEncode(canonicalize(params))}`;
  const signature = createHmac("sha1", `${accessKeySecret}&`).update(stringToSign, "utf8").digest("base64");
  return { stringToSign, signature };
}

function classify(code: string, status: number): SmsProblem {
  if (code === "isv.MOBILE_NUMBER_ILLEGAL" || code === "isv.DOMESTIC_NUMBER_NOT_SUPPORTED") return "badNumber";
  if ((code.startsWith("isv.") && code.endsWith("_LIMIT_CONTROL")) || code.startsWith("Throttling")) return "throttled";
  if (code === "isp.RAM_PERMISSION_DENY" || code.startsWith("isv.")) return "setup";
  if (code.startsWith("isp.")) return "uncertain";
  return status >= 400 && status < 500 ? "setup" : "uncertain";
}

const answerShape = z.object({
  Code: z.string().min(1),
  Message: z.string().optional(),
  BizId: z.string().optional(),
  RequestId: z.string().optional(),
});

export function aliyunGateway(config: AliyunSmsConfig): SmsGateway {
  const endpoint = config.endpoint ?? "https://dysmsapi.aliyuncs.com";
  const doFetch = config.fetch ?? globalThis.fetch;
  const timeoutMs = config.timeoutMs ?? 5000;
  const nonce = config.nonce ?? (() => randomUUID());
  const vendor = "阿里云短信 SendSms";

  return {
    name: "aliyun",
    async sendCode(input: SmsCode) {
      checkSmsInput(input);
      const params: Record<string, string> = {
        AccessKeyId: config.accessKeyId,
        Action: "SendSms",
        Format: "JSON",
        PhoneNumbers: input.mobile,
        SignName: config.signName,
        SignatureMethod: "HMAC-SHA1",
        SignatureNonce: nonce(),
        SignatureVersion: "1.0",
        TemplateCode: config.templateCode,
        TemplateParam: JSON.stringify({ code: input.code }),
        // UTC, whole seconds: "2016-02-23T12:46:24Z"
        Timestamp: config.clock.now().toISOString().replace(/\.\d{3}Z$/, "Z"),
        Version: "2017-05-25",
      };
      const { signature } = aliyunRpcSignature("POST", params, config.accessKeySecret);
      // The body is the canonicalized query itself, so what Aliyun decodes and re-encodes is what we signed.
      const body = `${canonicalize(params)}&Signature=${percentEncode(signature)}`;
      const { status, answer } = await vendorPost(
        vendor,
        doFetch,
        endpoint,
        { headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8", Accept: "application/json" }, body },
        timeoutMs,
        answerShape,
      );
      const reqId = answer.RequestId ? `，RequestId ${answer.RequestId}` : "";
      if (answer.Code !== "OK") {
        throw smsError(classify(answer.Code, status), scrub(`${vendor} 失败：${answer.Code}（${answer.Message ?? ""}）${reqId}`, input));
      }
      // "OK" means sent; a missing BizId only costs us the receipt id, so fall back to the request id.
      const messageId = answer.BizId || answer.RequestId;
      if (!messageId) throw smsError("uncertain", `${vendor}：应答缺少 BizId（短信已发出）`);
      return { messageId };
    },
  };
}
