// Tencent Cloud SMS, SendSms (API 3.0, Version 2021-01-11), signed with TC3-HMAC-SHA256.
// Wire facts: /work/shared/reference/security-audit-calendar.md §2.3; tc3Sign is checked against Tencent's
// official vectors in test/sms.test.ts.
//
// Failure classification (see SmsProblem in gateways.ts). Tencent answers HTTP 200 and reports errors at two
// levels, both checked: Response.Error (the whole request) and SendStatusSet[].Code (per number, "Ok" = sent).
//   InvalidParameterValue.IncorrectPhoneNumber              → badNumber      (rejected, not sent)
//   FailedOperation.PhoneNumberInBlacklist                  → blockedNumber  (rejected, not sent)
//   LimitExceeded.*, RequestLimitExceeded*                  → throttled      (not sent)
//   AuthFailure.*, FailedOperation.*, InvalidParameter*, MissingParameter, UnknownParameter,
//   UnauthorizedOperation.*, UnsupportedOperation.*, InvalidAction, ResourceNotFound.*
//                                                           → setup          (rejected, not sent)
//   InternalError.*, HTTP 5xx, unknown codes, unreadable answers → uncertain (may have been sent; no retry)

import { createHash, createHmac } from "node:crypto";
import { z } from "zod";
import type { Clock } from "../core/context";
import { checkSmsInput, scrub, smsError, vendorPost, type SmsCode, type SmsGateway, type SmsProblem } from "./gateways";

export interface TencentSmsConfig {
  secretId: string;
  secretKey: string;
  /** SmsSdkAppId, e.g. 1400006666 */
  sdkAppId: string;
  /** approved signature (签名) */
  signName: string;
  /** approved template; its parameters are {1} = code, {2} = minutes */
  templateId: string;
  /** default ap-guangzhou */
  region?: string;
  /** default https://sms.tencentcloudapi.com */
  endpoint?: string;
  clock: Clock;
  fetch?: typeof fetch;
  /** whole exchange, default 5000 */
  timeoutMs?: number;
}

const CONTENT_TYPE = "application/json; charset=utf-8";
const VERSION = "2021-01-11";

const sha256Hex = (data: string) => createHash("sha256").update(data, "utf8").digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data, "utf8").digest();

/** TC3-HMAC-SHA256 for a POST of `payload` (JSON) to `/`. The scope date is the UTC date of `timestamp`. */
export function tc3Sign(input: {
  secretId: string;
  secretKey: string;
  service: string;
  host: string;
  action: string;
  timestamp: number;
  payload: string;
  signedHeaders: "content-type;host" | "content-type;host;x-tc-action";
}): { authorization: string; canonicalRequest: string; stringToSign: string; signature: string } {
  let canonicalHeaders = `content-type:${CONTENT_TYPE}\nhost:${input.host}\n`;
  if (input.signedHeaders === "content-type;host;x-tc-action") canonicalHeaders += `x-tc-action:${input.action.toLowerCase()}\n`;
  const canonicalRequest = ["POST", "/", "", canonicalHeaders, input.signedHeaders, sha256Hex(input.payload)].join("\n");
  const date = new Date(input.timestamp * 1000).toISOString().slice(0, 10);
  const scope = `${date}/${input.service}/tc3_request`;
  const stringToSign = ["TC3-HMAC-SHA256", String(input.timestamp), scope, sha256Hex(canonicalRequest)].join("\n");
  const secretDate = hmac(`TC3${input.secretKey}`, date);
  const secretService = hmac(secretDate, input.service);
  const secretSigning = hmac(secretService, "tc3_request");
  const signature = createHmac("sha256", secretSigning).update(stringToSign, "utf8").digest("hex");
  const authorization = `TC3-HMAC-SHA256 Credential=${input.secretId}/${scope}, SignedHeaders=${input.signedHeaders}, Signature=${signature}`;
  return { authorization, canonicalRequest, stringToSign, signature };
}

function classify(code: string): SmsProblem {
  if (code === "InvalidParameterValue.IncorrectPhoneNumber") return "badNumber";
  if (code === "FailedOperation.PhoneNumberInBlacklist") return "blockedNumber";
  if (code.startsWith("LimitExceeded.") || code.startsWith("RequestLimitExceeded")) return "throttled";
  const category = code.split(".")[0]!;
  const refused = [
    "AuthFailure",
    "FailedOperation",
    "InvalidParameter",
    "InvalidParameterValue",
    "MissingParameter",
    "UnknownParameter",
    "UnauthorizedOperation",
    "UnsupportedOperation",
    "InvalidAction",
    "ResourceNotFound",
  ];
  return refused.includes(category) ? "setup" : "uncertain";
}

const answerShape = z.object({
  Response: z.object({
    Error: z.object({ Code: z.string(), Message: z.string().optional() }).optional(),
    SendStatusSet: z.array(z.object({ SerialNo: z.string().optional(), Code: z.string(), Message: z.string().optional() })).optional(),
    RequestId: z.string().optional(),
  }),
});

export function tencentGateway(config: TencentSmsConfig): SmsGateway {
  const endpoint = config.endpoint ?? "https://sms.tencentcloudapi.com";
  const host = new URL(endpoint).host;
  const region = config.region ?? "ap-guangzhou";
  const doFetch = config.fetch ?? globalThis.fetch;
  const timeoutMs = config.timeoutMs ?? 5000;
  const vendor = "腾讯云短信 SendSms";

  return {
    name: "tencent",
    async sendCode(input: SmsCode) {
      checkSmsInput(input);
      // Key order matters only for reproducibility (the derived test vector); Tencent hashes the exact bytes.
      const payload = JSON.stringify({
        PhoneNumberSet: [`+86${input.mobile}`],
        SmsSdkAppId: config.sdkAppId,
        SignName: config.signName,
        TemplateId: config.templateId,
        TemplateParamSet: [input.code, String(input.minutes)],
      });
      const timestamp = Math.floor(config.clock.now().getTime() / 1000);
      const { authorization } = tc3Sign({
        secretId: config.secretId,
        secretKey: config.secretKey,
        service: "sms",
        host,
        action: "SendSms",
        timestamp,
        payload,
        signedHeaders: "content-type;host;x-tc-action",
      });
      const { answer: parsed } = await vendorPost(
        vendor,
        doFetch,
        endpoint,
        {
          headers: {
            Authorization: authorization,
            "Content-Type": CONTENT_TYPE,
            "X-TC-Action": "SendSms",
            "X-TC-Version": VERSION,
            "X-TC-Timestamp": String(timestamp),
            "X-TC-Region": region,
            // Error messages in Chinese, for operators.
            "X-TC-Language": "zh-CN",
          },
          body: payload,
        },
        timeoutMs,
        answerShape,
      );
      const { Error: error, SendStatusSet: statuses, RequestId: requestId } = parsed.Response;
      const reqId = requestId ? `，RequestId ${requestId}` : "";
      if (error) throw smsError(classify(error.Code), scrub(`${vendor} 失败：${error.Code}（${error.Message ?? ""}）${reqId}`, input));
      // One number per request, so exactly one status.
      const sent = statuses?.[0];
      if (!sent || statuses.length !== 1) throw smsError("uncertain", `${vendor}：应答缺少发送状态${reqId}（短信可能已发出）`);
      if (sent.Code !== "Ok") throw smsError(classify(sent.Code), scrub(`${vendor} 号码发送失败：${sent.Code}（${sent.Message ?? ""}）${reqId}`, input));
      // "Ok" means sent; a missing SerialNo only costs us the receipt id, so fall back to the request id.
      const messageId = sent.SerialNo || requestId;
      if (!messageId) throw smsError("uncertain", `${vendor}：应答缺少 SerialNo（短信已发出）`);
      return { messageId };
    },
  };
}
