// SMS one-time codes: signing against the vendors' published vectors, both gateways over real HTTP against
// fakes that verify signatures, the failure classification, retryOnce, and that neither the number nor the
// code ever reaches a log line or an error message.
import { afterEach, describe, expect, it } from "vitest";
import { aliyunGateway, aliyunRpcSignature } from "../src/sms/aliyun";
import { consoleGateway, retryOnce, SmsError, type SmsCode, type SmsFailureKind, type SmsGateway } from "../src/sms/gateways";
import { tc3Sign, tencentGateway } from "../src/sms/tencent";
import { startFakeAliyunSms, startFakeTencentSms, type FakeSmsVendor } from "./fakes/sms-vendors";
import { freePort } from "./harness";

const MOBILE = "13912345678";
const CODE = "804213";
const MESSAGE: SmsCode = { mobile: MOBILE, code: CODE, minutes: 5 };
const clock = { now: () => new Date("2026-03-02T08:00:00Z") };

/** Every log line and error text any test produced; scanned for the number and the code at the end. */
const captured: string[] = [];

async function failure(promise: Promise<unknown>, kind: SmsFailureKind, notSent: boolean): Promise<SmsError> {
  const err = await promise.then(
    () => {
      throw new Error("expected the send to fail");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SmsError);
  const sms = err as SmsError;
  captured.push(sms.message, sms.userMessage, String(sms.stack), JSON.stringify(sms));
  expect({ kind: sms.kind, notSent: sms.notSent }).toEqual({ kind, notSent });
  return sms;
}

/** A fetch that answers `body` with `status` and remembers the request; for wire-level checks without a server. */
function stubFetch(status: number, body: string) {
  const calls: { url: string; headers: Record<string, string>; body: string }[] = [];
  const fetch = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), headers: init?.headers as Record<string, string>, body: String(init?.body) });
    return new Response(body, { status, headers: { "content-type": "application/json" } });
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

// Tencent vector payload: the literal \uXXXX escapes are part of the signed bytes.
const VECTOR_PAYLOAD = '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}';
const MASKED_ID = `AKID${"*".repeat(32)}`;
const MASKED_KEY = "*".repeat(32);

describe("tc3Sign (Tencent official vectors, reference §2.3)", () => {
  it("vector A: SignedHeaders content-type;host", () => {
    const out = tc3Sign({
      secretId: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
      secretKey: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
      service: "cvm",
      host: "cvm.tencentcloudapi.com",
      action: "DescribeInstances",
      timestamp: 1551113065,
      payload: VECTOR_PAYLOAD,
      signedHeaders: "content-type;host",
    });
    expect(out.canonicalRequest).toBe(
      "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064",
    );
    expect(out.stringToSign).toBe(
      "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031",
    );
    expect(out.signature).toBe("72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
    expect(out.authorization).toBe(
      "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
    );
  });

  it("vector B: SignedHeaders content-type;host;x-tc-action, with the intermediate texts", () => {
    const out = tc3Sign({
      secretId: MASKED_ID,
      secretKey: MASKED_KEY,
      service: "cvm",
      host: "cvm.tencentcloudapi.com",
      action: "DescribeInstances",
      timestamp: 1551113065,
      payload: VECTOR_PAYLOAD,
      signedHeaders: "content-type;host;x-tc-action",
    });
    expect(out.canonicalRequest).toBe(
      [
        "POST",
        "/",
        "",
        "content-type:application/json; charset=utf-8",
        "host:cvm.tencentcloudapi.com",
        "x-tc-action:describeinstances",
        "",
        "content-type;host;x-tc-action",
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064",
      ].join("\n"),
    );
    expect(out.stringToSign).toBe(
      "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84",
    );
    expect(out.signature).toBe("10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f");
    expect(out.authorization).toBe(
      `TC3-HMAC-SHA256 Credential=${MASKED_ID}/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f`,
    );
  });

  const DERIVED_PAYLOAD =
    '{"PhoneNumberSet":["+8613800000000"],"SmsSdkAppId":"1400006666","SignName":"腾讯云","TemplateId":"1110","TemplateParamSet":["123456","5"]}';
  const DERIVED_SIGNATURE = "1deffb96d39d62e54a179e14e6c1ed04ddd6fefa75652f4565c3f7bdd4979020";

  it("derived SendSms vector", () => {
    const out = tc3Sign({
      secretId: MASKED_ID,
      secretKey: MASKED_KEY,
      service: "sms",
      host: "sms.tencentcloudapi.com",
      action: "SendSms",
      timestamp: 1735689600,
      payload: DERIVED_PAYLOAD,
      signedHeaders: "content-type;host;x-tc-action",
    });
    expect(out.canonicalRequest).toContain("\nx-tc-action:sendsms\n");
    expect(out.canonicalRequest.endsWith("\n90e780e22a8fc6333ffc71ac1790d21060499def3e808eb08256f15ebb6f5a34")).toBe(true);
    expect(out.stringToSign).toBe(
      "TC3-HMAC-SHA256\n1735689600\n2025-01-01/sms/tc3_request\n8831b97dac936825f14198a2d4cf8401e4d7f2bff33c7cc9749a717a346e8473",
    );
    expect(out.signature).toBe(DERIVED_SIGNATURE);
  });

  it("tencentGateway puts exactly the derived vector on the wire", async () => {
    const stub = stubFetch(200, JSON.stringify({ Response: { SendStatusSet: [{ SerialNo: "2433:abc", Code: "Ok", Message: "send success" }], RequestId: "r-1" } }));
    const gateway = tencentGateway({
      secretId: MASKED_ID,
      secretKey: MASKED_KEY,
      sdkAppId: "1400006666",
      signName: "腾讯云",
      templateId: "1110",
      clock: { now: () => new Date(1735689600_000) },
      fetch: stub.fetch,
    });
    expect(await gateway.sendCode({ mobile: "13800000000", code: "123456", minutes: 5 })).toEqual({ messageId: "2433:abc" });
    const [call] = stub.calls;
    expect(call!.url).toBe("https://sms.tencentcloudapi.com");
    expect(call!.body).toBe(DERIVED_PAYLOAD);
    expect(call!.headers).toMatchObject({
      Authorization: `TC3-HMAC-SHA256 Credential=${MASKED_ID}/2025-01-01/sms/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=${DERIVED_SIGNATURE}`,
      "Content-Type": "application/json; charset=utf-8",
      "X-TC-Action": "SendSms",
      "X-TC-Version": "2021-01-11",
      "X-TC-Timestamp": "1735689600",
      "X-TC-Region": "ap-guangzhou",
    });
  });
});

describe("aliyunRpcSignature (Aliyun official example, reference §2.4)", () => {
  const params = {
    AccessKeyId: "testid",
    Action: "DescribeRegions",
    Format: "XML",
    SignatureMethod: "HMAC-SHA1",
    SignatureNonce: "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    SignatureVersion: "1.0",
    Timestamp: "2016-02-23T12:46:24Z",
    Version: "2014-05-26",
  };

  it("GET: string-to-sign and signature", () => {
    const out = aliyunRpcSignature("GET", params, "testsecret");
    expect(out.stringToSign).toBe(
      "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26",
    );
    expect(out.signature).toBe("OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
  });

  it("POST, and a Signature parameter already present is left out", () => {
    expect(aliyunRpcSignature("POST", params, "testsecret").signature).toBe("MxbnVAM4w6sft9xjVpe/GCKueuk=");
    expect(aliyunRpcSignature("GET", { ...params, Signature: "x" }, "testsecret").signature).toBe("OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
  });
});

// The same scenarios against both vendors, over real HTTP.
interface Vendor {
  label: string;
  start(): Promise<FakeSmsVendor>;
  gateway(fake: FakeSmsVendor, overrides?: { secret?: string; endpoint?: string; timeoutMs?: number; fetch?: typeof fetch }): SmsGateway;
  okOutcome: string;
  numberCode: string;
  throttleCode: string;
  authCode: string;
}

let nonceCounter = 0;
const vendors: Vendor[] = [
  {
    label: "Tencent",
    start: () => startFakeTencentSms(),
    gateway: (fake, o = {}) => {
      const f = fake as Awaited<ReturnType<typeof startFakeTencentSms>>;
      return tencentGateway({
        secretId: f.secretId,
        secretKey: o.secret ?? f.secretKey,
        sdkAppId: f.sdkAppId,
        signName: "云审",
        templateId: "2000001",
        endpoint: o.endpoint ?? f.url,
        clock,
        timeoutMs: o.timeoutMs ?? 2000,
        fetch: o.fetch,
      });
    },
    okOutcome: "Ok",
    numberCode: "InvalidParameterValue.IncorrectPhoneNumber",
    throttleCode: "LimitExceeded.DeliveryFrequencyLimit",
    authCode: "AuthFailure.SignatureFailure",
  },
  {
    label: "Aliyun",
    start: () => startFakeAliyunSms(),
    gateway: (fake, o = {}) => {
      const f = fake as Awaited<ReturnType<typeof startFakeAliyunSms>>;
      return aliyunGateway({
        accessKeyId: f.accessKeyId,
        accessKeySecret: o.secret ?? f.accessKeySecret,
        signName: "云审",
        templateCode: "SMS_153050001",
        endpoint: o.endpoint ?? f.url,
        clock,
        nonce: () => `nonce-${++nonceCounter}`,
        timeoutMs: o.timeoutMs ?? 2000,
        fetch: o.fetch,
      });
    },
    okOutcome: "OK",
    numberCode: "isv.MOBILE_NUMBER_ILLEGAL",
    throttleCode: "isv.BUSINESS_LIMIT_CONTROL",
    authCode: "SignatureDoesNotMatch",
  },
];

describe.each(vendors)("$label gateway against the fake", (vendor) => {
  let fake: FakeSmsVendor;
  const open = async () => (fake = await vendor.start());
  afterEach(async () => {
    await fake?.close();
  });

  it("sends: returns the message id; the fake verified the signature and saw the number and the code", async () => {
    await open();
    const { messageId } = await vendor.gateway(fake).sendCode(MESSAGE);
    expect(messageId).not.toBe("");
    expect(fake.received).toHaveLength(1);
    expect(fake.received[0]).toMatchObject({ mobile: MOBILE, code: CODE, outcome: vendor.okOutcome });
    expect(fake.received[0]!.templateParams).toEqual(vendor.label === "Tencent" ? [CODE, "5"] : { code: CODE });
  });

  it("a per-number refusal → rejected, not sent", async () => {
    await open();
    fake.failNext("number");
    const err = await failure(vendor.gateway(fake).sendCode(MESSAGE), "rejected", true);
    expect(err.message).toContain(vendor.numberCode);
    expect(err.userMessage).toBe("短信发送失败：手机号码无效，请联系安全管理员核对");
    expect(fake.received.map((r) => r.outcome)).toEqual([vendor.numberCode]);
  });

  it("a malformed number is refused before anything is sent", async () => {
    await open();
    const err = await failure(vendor.gateway(fake).sendCode({ ...MESSAGE, mobile: "1391234567" }), "rejected", true);
    expect(err.userMessage).toBe("短信发送失败：手机号码无效，请联系安全管理员核对");
    expect(fake.received).toHaveLength(0);
  });

  it("vendor throttling → throttled, not sent", async () => {
    await open();
    fake.failNext("throttle");
    const err = await failure(vendor.gateway(fake).sendCode(MESSAGE), "throttled", true);
    expect(err.message).toContain(vendor.throttleCode);
    expect(err.userMessage).toBe("短信发送过于频繁，请稍后再试");
  });

  it("timeout → unavailable, and NOT notSent (the vendor did send)", async () => {
    await open();
    fake.delay(1000);
    const err = await failure(vendor.gateway(fake, { timeoutMs: 150 }).sendCode(MESSAGE), "unavailable", false);
    expect(err.message).toContain("150 毫秒内无应答");
    expect(fake.received.map((r) => r.outcome)).toEqual([vendor.okOutcome]);
  });

  it("connection refused → unavailable, notSent", async () => {
    await open();
    const err = await failure(vendor.gateway(fake, { endpoint: `http://127.0.0.1:${await freePort()}` }).sendCode(MESSAGE), "unavailable", true);
    expect(err.message).toContain("ECONNREFUSED");
    expect(err.userMessage).toBe("短信服务暂时不可用，请稍后再试");
  });

  it("wrong secret → the vendor's auth error → rejected", async () => {
    await open();
    const err = await failure(vendor.gateway(fake, { secret: "not-the-secret" }).sendCode(MESSAGE), "rejected", true);
    expect(err.message).toContain(vendor.authCode);
    expect(err.userMessage).toBe("短信发送失败：短信服务配置有误，请联系系统管理员");
    expect(fake.received.map((r) => r.outcome)).toEqual([vendor.authCode]);
  });

  describe("retryOnce", () => {
    it("retries once after a failure that certainly sent nothing; the second attempt sends", async () => {
      await open();
      fake.failNext("throttle");
      const { messageId } = await retryOnce(vendor.gateway(fake)).sendCode(MESSAGE);
      expect(messageId).not.toBe("");
      expect(fake.received.map((r) => r.outcome)).toEqual([vendor.throttleCode, vendor.okOutcome]);
    });

    it("does not retry after a timeout (the first may have been sent)", async () => {
      await open();
      fake.delay(1000);
      await failure(retryOnce(vendor.gateway(fake, { timeoutMs: 150 })).sendCode(MESSAGE), "unavailable", false);
      expect(fake.received).toHaveLength(1);
    });

    it("gives up after the second failure", async () => {
      await open();
      fake.failNext("throttle");
      fake.failNext("throttle");
      await failure(retryOnce(vendor.gateway(fake)).sendCode(MESSAGE), "throttled", true);
      expect(fake.received.map((r) => r.outcome)).toEqual([vendor.throttleCode, vendor.throttleCode]);
    });

    it("does not retry a certain rejection (the same request would be refused again)", async () => {
      await open();
      fake.failNext("number");
      await failure(retryOnce(vendor.gateway(fake)).sendCode(MESSAGE), "rejected", true);
      expect(fake.received).toHaveLength(1);
    });

    it("retries a refused connection once, then gives up", async () => {
      await open();
      let attempts = 0;
      const counting = ((url: string | URL | Request, init?: RequestInit) => (attempts++, fetch(url, init))) as typeof fetch;
      const endpoint = `http://127.0.0.1:${await freePort()}`;
      await failure(retryOnce(vendor.gateway(fake, { endpoint, fetch: counting })).sendCode(MESSAGE), "unavailable", true);
      expect(attempts).toBe(2);
    });
  });
});

describe("classification of answers the fakes do not produce", () => {
  const tencentAnswer = (response: object) => JSON.stringify({ Response: { RequestId: "r-1", ...response } });
  const tencentCases: [string, number, string, SmsFailureKind, boolean][] = [
    ["HTTP 502", 502, "bad gateway", "unavailable", false],
    ["an HTML page", 200, "<html>busy</html>", "unavailable", false],
    ["an empty SendStatusSet", 200, tencentAnswer({ SendStatusSet: [] }), "unavailable", false],
    ["InternalError.Timeout", 200, tencentAnswer({ Error: { Code: "InternalError.Timeout", Message: "超时" } }), "unavailable", false],
    ["a blacklisted number", 200, tencentAnswer({ SendStatusSet: [{ Code: "FailedOperation.PhoneNumberInBlacklist", Message: "黑名单" }] }), "rejected", true],
    ["an unapproved template", 200, tencentAnswer({ Error: { Code: "FailedOperation.TemplateIncorrectOrUnapproved", Message: "模板未审批" } }), "rejected", true],
    ["request-level LimitExceeded", 200, tencentAnswer({ Error: { Code: "LimitExceeded.PhoneNumberDailyLimit", Message: "日上限" } }), "throttled", true],
    ["an unknown code", 200, tencentAnswer({ Error: { Code: "Whatever.New", Message: "?" } }), "unavailable", false],
  ];
  it.each(tencentCases)("Tencent: %s", async (_label, status, body, kind, notSent) => {
    const stub = stubFetch(status, body);
    const gateway = tencentGateway({ secretId: "id", secretKey: "key", sdkAppId: "1400000000", signName: "云审", templateId: "1", clock, fetch: stub.fetch });
    await failure(gateway.sendCode(MESSAGE), kind, notSent);
  });

  const aliyunAnswer = (code: string) => JSON.stringify({ Code: code, Message: `message ${MOBILE} ${CODE}`, RequestId: "r-1" });
  const aliyunCases: [string, number, string, SmsFailureKind, boolean][] = [
    ["HTTP 503", 503, aliyunAnswer("ServiceUnavailable"), "unavailable", false],
    ["isp.SYSTEM_ERROR", 200, aliyunAnswer("isp.SYSTEM_ERROR"), "unavailable", false],
    ["isv.DAY_LIMIT_CONTROL", 200, aliyunAnswer("isv.DAY_LIMIT_CONTROL"), "throttled", true],
    ["Throttling.User", 400, aliyunAnswer("Throttling.User"), "throttled", true],
    ["isv.SMS_TEMPLATE_ILLEGAL", 200, aliyunAnswer("isv.SMS_TEMPLATE_ILLEGAL"), "rejected", true],
    ["isp.RAM_PERMISSION_DENY", 200, aliyunAnswer("isp.RAM_PERMISSION_DENY"), "rejected", true],
    ["InvalidAccessKeyId.NotFound (HTTP 404)", 404, aliyunAnswer("InvalidAccessKeyId.NotFound"), "rejected", true],
    ["OK without BizId or RequestId", 200, JSON.stringify({ Code: "OK" }), "unavailable", false],
    ["not JSON", 200, "OK", "unavailable", false],
  ];
  it.each(aliyunCases)("Aliyun: %s", async (_label, status, body, kind, notSent) => {
    const stub = stubFetch(status, body);
    const gateway = aliyunGateway({ accessKeyId: "id", accessKeySecret: "secret", signName: "云审", templateCode: "SMS_1", clock, fetch: stub.fetch });
    await failure(gateway.sendCode(MESSAGE), kind, notSent);
  });

  it("Aliyun: the request is form-encoded with a fresh nonce, whole-second UTC timestamp and JSON TemplateParam", async () => {
    const stub = stubFetch(200, JSON.stringify({ Code: "OK", Message: "OK", BizId: "123^0", RequestId: "r" }));
    const gateway = aliyunGateway({ accessKeyId: "id", accessKeySecret: "secret", signName: "云审", templateCode: "SMS_1", clock, fetch: stub.fetch });
    await gateway.sendCode(MESSAGE);
    await gateway.sendCode(MESSAGE);
    const [first, second] = stub.calls.map((c) => Object.fromEntries(new URLSearchParams(c.body)));
    expect(first).toMatchObject({
      Action: "SendSms",
      Format: "JSON",
      Version: "2017-05-25",
      SignName: "云审",
      TemplateParam: JSON.stringify({ code: CODE }),
      Timestamp: "2026-03-02T08:00:00Z",
    });
    expect(first!.SignatureNonce).not.toBe(second!.SignatureNonce);
    expect(stub.calls[0]!.headers["Content-Type"]).toMatch(/^application\/x-www-form-urlencoded/);
  });
});

describe("consoleGateway", () => {
  it("hands the code to the sink and logs a masked line", async () => {
    const lines: string[] = [];
    const sunk: SmsCode[] = [];
    const gateway = consoleGateway({ log: (line) => lines.push(line), sink: (m) => sunk.push(m) });
    const { messageId } = await gateway.sendCode(MESSAGE);
    captured.push(...lines);
    expect(messageId).toMatch(/^console-/);
    expect(sunk).toEqual([MESSAGE]);
    expect(lines).toEqual(["[短信 → 139****5678] 验证码 ******（5 分钟内有效）"]);
    expect(lines[0]).not.toContain(CODE);
    expect(lines[0]).not.toContain(MOBILE);
  });

  it("refuses a malformed number without logging it", async () => {
    const lines: string[] = [];
    await failure(consoleGateway({ log: (line) => lines.push(line) }).sendCode({ ...MESSAGE, mobile: "2391234567x" }), "rejected", true);
    expect(lines).toEqual([]);
  });
});

describe("no number and no code in any log line or error message", () => {
  it("Aliyun's SignatureDoesNotMatch quotes the number and the code; the error message does not", async () => {
    const fake = await startFakeAliyunSms();
    try {
      const gateway = aliyunGateway({ accessKeyId: fake.accessKeyId, accessKeySecret: "wrong", signName: "云审", templateCode: "SMS_1", clock, endpoint: fake.url });
      const err = await failure(gateway.sendCode(MESSAGE), "rejected", true);
      expect(err.message).toContain("server string to sign is:POST&%2F&");
      expect(err.message).toContain("***");
    } finally {
      await fake.close();
    }
  });

  // Last in the file, so it sees what every test above captured (vitest keeps file order).
  it("every captured text is clean", () => {
    expect(captured.length).toBeGreaterThan(40);
    for (const text of captured) {
      expect(text).not.toContain(MOBILE);
      expect(text).not.toContain(CODE);
      expect(text).not.toMatch(/1[3-9]\d{9}/);
    }
  });
});
