// Fakes of Tencent Cloud SMS (SendSms, API 3.0) and Aliyun Dysmsapi (SendSms, RPC) on loopback, for tests.
// Each verifies signatures the way the vendor does: it rebuilds the signed text from what actually arrived on
// the wire (headers, body bytes, decoded form) with its own code and the known secret, and answers the vendor's
// error on a mismatch. Wire facts: /work/shared/reference/security-audit-calendar.md §2.3, §2.4.
// Choices the reference does not dictate are marked "fake's choice".
import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { jsonReplies } from "./json-replies";

export interface ReceivedSms {
  /** 11 digits, as the gateway meant it (Tencent's +86 stripped) */
  mobile: string;
  code: string;
  /** Tencent: TemplateParamSet; Aliyun: the decoded TemplateParam object */
  templateParams: string[] | Record<string, string>;
  /** the vendor code answered: "Ok"/"OK" = sent, else the error code */
  outcome: string;
}

export interface FakeSmsVendor {
  /** http://127.0.0.1:PORT */
  url: string;
  /** every request that arrived and could be decoded, in order, including refused ones */
  received: ReceivedSms[];
  /** the next correctly signed request fails for this reason (queued; one per call) */
  failNext(kind: "number" | "throttle"): void;
  /** answer every request after ms (for timeouts); 0 turns it off */
  delay(ms: number): void;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, body: string) => { status: number; answer: unknown };

async function serve(handle: Handler): Promise<Omit<FakeSmsVendor, "received" | "failNext">> {
  const replies = jsonReplies();
  const reply = replies.reply;


  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const { status, answer } = handle(req, Buffer.concat(chunks).toString("utf8"));
      reply(res, status, answer);
    } catch (err) {
      reply(res, 500, { error: String(err) });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    delay(ms) {
      replies.delay(ms);
    },
    async close() {
      replies.cancel();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

const sha256Hex = (data: string) => createHash("sha256").update(data, "utf8").digest("hex");

// ---------------------------------------------------------------------------------------------------------
// Tencent. Always HTTP 200; request-level errors in Response.Error, per-number results in SendStatusSet.

export async function startFakeTencentSms(
  opts: { secretId?: string; secretKey?: string; sdkAppId?: string } = {},
): Promise<FakeSmsVendor & { secretId: string; secretKey: string; sdkAppId: string }> {
  const secretId = opts.secretId ?? `AKIDfake${randomBytes(8).toString("hex")}`;
  const secretKey = opts.secretKey ?? randomBytes(16).toString("hex");
  const sdkAppId = opts.sdkAppId ?? "1400006666";
  const failures: ("number" | "throttle")[] = [];
  const received: ReceivedSms[] = [];

  const requestError = (code: string, message: string) => ({ status: 200, answer: { Response: { Error: { Code: code, Message: message }, RequestId: randomUUID() } } });

  /** Rebuilds the TC3 signature from the headers named in SignedHeaders as they arrived, and the exact body. */
  function verify(req: IncomingMessage, body: string): ReturnType<typeof requestError> | null {
    const auth = /^TC3-HMAC-SHA256 Credential=([^/]+)\/(\d{4}-\d{2}-\d{2})\/([^/]+)\/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(
      req.headers.authorization ?? "",
    );
    if (!auth) return requestError("AuthFailure.InvalidAuthorization", "Authorization 格式不正确");
    const [, id, date, service, signedHeaders, signature] = auth as unknown as [string, string, string, string, string, string];
    if (id !== secretId) return requestError("AuthFailure.SecretIdNotFound", "密钥不存在");
    const timestamp = Number(req.headers["x-tc-timestamp"]);
    const names = signedHeaders.split(";");
    // Tencent requires content-type and host to be signed. (fake's choice: no clock-skew check)
    if (!Number.isInteger(timestamp) || !names.includes("content-type") || !names.includes("host"))
      return requestError("AuthFailure.SignatureFailure", "签名验证失败");
    const canonicalHeaders = names.map((name) => `${name}:${String(req.headers[name] ?? "").trim().toLowerCase()}\n`).join("");
    const canonicalRequest = [req.method, "/", "", canonicalHeaders, signedHeaders, sha256Hex(body)].join("\n");
    const scopeDate = new Date(timestamp * 1000).toISOString().slice(0, 10);
    const stringToSign = ["TC3-HMAC-SHA256", String(timestamp), `${date}/${service}/tc3_request`, sha256Hex(canonicalRequest)].join("\n");
    let key: Buffer = createHmac("sha256", `TC3${secretKey}`).update(date).digest();
    key = createHmac("sha256", key).update(service).digest();
    key = createHmac("sha256", key).update("tc3_request").digest();
    const expected = createHmac("sha256", key).update(stringToSign).digest("hex");
    if (expected !== signature || date !== scopeDate || service !== "sms") return requestError("AuthFailure.SignatureFailure", "签名验证失败");
    return null;
  }

  const base = await serve((req, body) => {
    if (req.method !== "POST" || req.url !== "/") return requestError("InvalidAction", "不支持的请求");
    let params: any;
    try {
      params = JSON.parse(body);
    } catch {
      return requestError("FailedOperation.JsonParseFail", "解析请求包体失败");
    }
    const number: unknown = params?.PhoneNumberSet?.[0];
    const templateParams: string[] = Array.isArray(params?.TemplateParamSet) ? params.TemplateParamSet.map(String) : [];
    const record: ReceivedSms = {
      mobile: typeof number === "string" ? number.replace(/^\+86/, "") : "",
      code: templateParams[0] ?? "",
      templateParams,
      outcome: "",
    };
    received.push(record);
    const answer = (() => {
      const refused = verify(req, body);
      if (refused) return refused;
      if (req.headers["x-tc-action"] !== "SendSms" || req.headers["x-tc-version"] !== "2021-01-11") return requestError("InvalidAction", "接口不存在");
      if (!req.headers["x-tc-region"]) return requestError("MissingParameter", "缺少 X-TC-Region");
      if (params.SmsSdkAppId !== sdkAppId) return requestError("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId 校验失败");
      if (!Array.isArray(params.PhoneNumberSet) || params.PhoneNumberSet.length !== 1 || !params.SignName || !params.TemplateId)
        return requestError("InvalidParameter", "参数错误"); // fake's choice: one number per request
      const forced = failures.shift();
      let code = "Ok";
      if (!/^\+861[3-9]\d{9}$/.test(String(number)) || forced === "number") code = "InvalidParameterValue.IncorrectPhoneNumber";
      else if (forced === "throttle") code = "LimitExceeded.DeliveryFrequencyLimit";
      const messages: Record<string, string> = {
        Ok: "send success",
        "InvalidParameterValue.IncorrectPhoneNumber": "手机号格式错误",
        "LimitExceeded.DeliveryFrequencyLimit": "下发短信命中了频率限制策略",
      };
      const status = {
        SerialNo: code === "Ok" ? `2433:${randomBytes(12).toString("hex")}` : "",
        PhoneNumber: number,
        Fee: code === "Ok" ? 1 : 0,
        SessionContext: "",
        Code: code,
        Message: messages[code],
        IsoCode: "CN",
      };
      return { status: 200, answer: { Response: { SendStatusSet: [status], RequestId: randomUUID() } } };
    })();
    const a = answer.answer as { Response: { Error?: { Code: string }; SendStatusSet?: { Code: string }[] } };
    record.outcome = a.Response.Error?.Code ?? a.Response.SendStatusSet?.[0]?.Code ?? "";
    return answer;
  });

  return {
    ...base,
    received,
    failNext(kind) {
      failures.push(kind);
    },
    secretId,
    secretKey,
    sdkAppId,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Aliyun. Gateway refusals come with HTTP 4xx; product (isv.*) errors with HTTP 200.

/** RFC 3986 with Aliyun's rules, written independently of src/sms/aliyun.ts. */
function aliyunEncode(value: string): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export async function startFakeAliyunSms(
  opts: { accessKeyId?: string; accessKeySecret?: string } = {},
): Promise<FakeSmsVendor & { accessKeyId: string; accessKeySecret: string }> {
  const accessKeyId = opts.accessKeyId ?? `LTAIfake${randomBytes(6).toString("hex")}`;
  const accessKeySecret = opts.accessKeySecret ?? randomBytes(15).toString("base64url");
  const failures: ("number" | "throttle")[] = [];
  const received: ReceivedSms[] = [];
  const nonces = new Set<string>();

  const fail = (status: number, code: string, message: string) => ({
    status,
    answer: { RequestId: randomUUID(), Message: message, Recommend: "https://api.aliyun.com/troubleshoot", HostId: "dysmsapi.aliyuncs.com", Code: code },
  });

  const base = await serve((req, body) => {
    if (req.method !== "POST") return fail(400, "UnsupportedHTTPMethod", "This http method is not supported."); // fake's choice: POST only
    const form = new URLSearchParams(body);
    const params = Object.fromEntries(form);
    let templateParams: Record<string, string> = {};
    try {
      templateParams = JSON.parse(params.TemplateParam ?? "{}");
    } catch {
      templateParams = {};
    }
    const record: ReceivedSms = { mobile: params.PhoneNumbers ?? "", code: String(templateParams.code ?? ""), templateParams, outcome: "" };
    received.push(record);
    const result = (() => {
      if (!params.Signature || params.SignatureMethod !== "HMAC-SHA1" || params.SignatureVersion !== "1.0")
        return fail(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.");
      if (params.AccessKeyId !== accessKeyId) return fail(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.");
      const canonical = Object.keys(params)
        .filter((k) => k !== "Signature")
        .sort()
        .map((k) => `${aliyunEncode(k)}=${aliyunEncode(params[k]!)}`)
        .join("&");
      const stringToSign = `POST&%2F&${aliyunEncode(canonical)}`;
      const expected = createHmac("sha1", `${accessKeySecret}&`).update(stringToSign).digest("base64");
      // Like Aliyun, quote the server's string-to-sign: it contains the number and the code, so clients must scrub.
      if (expected !== params.Signature)
        return fail(400, "SignatureDoesNotMatch", `Specified signature is not matched with our calculation. server string to sign is:${stringToSign}`);
      if (!params.SignatureNonce || nonces.has(params.SignatureNonce)) return fail(400, "SignatureNonceUsed", "Specified signature nonce was used already.");
      nonces.add(params.SignatureNonce);
      if (params.Action !== "SendSms" || params.Version !== "2017-05-25")
        return fail(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.");
      // fake's choice: the format is checked, not the clock skew
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(params.Timestamp ?? ""))
        return fail(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.");
      if (!params.SignName || !params.TemplateCode) return fail(400, "MissingParameter", "A required parameter is not supplied.");
      if (typeof templateParams.code !== "string") return fail(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值");
      const forced = failures.shift();
      if (!/^1[3-9]\d{9}$/.test(params.PhoneNumbers ?? "") || forced === "number") return fail(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号");
      if (forced === "throttle") return fail(200, "isv.BUSINESS_LIMIT_CONTROL", "触发号码天级流控Permits:10");
      const bizId = `${Date.now()}${randomBytes(4).readUInt32BE()}^0`;
      return { status: 200, answer: { Message: "OK", RequestId: randomUUID(), Code: "OK", BizId: bizId } };
    })();
    record.outcome = (result.answer as { Code: string }).Code;
    return result;
  });

  return {
    ...base,
    received,
    failNext(kind) {
      failures.push(kind);
    },
    accessKeyId,
    accessKeySecret,
  };
}
