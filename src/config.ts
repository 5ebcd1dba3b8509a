import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { z } from "zod";
import type { Clock } from "./core/context";
import { aliyunGateway } from "./sms/aliyun";
import { consoleGateway, retryOnce, type SmsGateway } from "./sms/gateways";
import { tencentGateway } from "./sms/tencent";
import { totpKeyFrom } from "./access/totp";
import { DEFAULT_PROFILE, POLICY_PROFILES } from "../profiles";
import { parseInput } from "./core/validation";
import { DEFAULT_TOKEN_LIFETIME_DAYS, MAX_TOKEN_LIFETIME_DAYS } from "./directory/tokens";
import { DEFAULT_WEB_SESSION_IDLE_HOURS } from "./directory/web-sessions";
import { DEFAULT_UPLOAD_MAX_MB } from "./files";
import type { CloudCapacity } from "./resources/capacity-notices";

const optional = <T extends z.ZodType>(schema: T) => schema.optional().or(z.literal("").transform(() => undefined));

// WeCom / 粤政易: all five of corp, agent, secret, token and key, or none (then cards go to the console).
const WECOM_REQUIRED = ["WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_ENCODING_AES_KEY"] as const;

const configSchema = z
  .object({
  PORT: z.coerce.number().int().min(1).max(65535).default(8787),
  DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "应以 postgres:// 开头")
    .optional()
    .or(z.literal("").transform(() => undefined)),
  POLICY_PROFILE: z.enum(POLICY_PROFILES).default(DEFAULT_PROFILE),
  // How long an API token works unless `token create --expires` says otherwise.
  TOKEN_LIFETIME_DAYS: z.coerce.number().int().min(1).max(MAX_TOKEN_LIFETIME_DAYS).default(DEFAULT_TOKEN_LIFETIME_DAYS),
  // The largest attachment a person may upload, in MB; the body limit of POST /api/files follows it. Bounded
  // because an upload is held in memory while it is checked and stored.
  UPLOAD_MAX_MB: z.coerce.number().int().min(1).max(200).default(DEFAULT_UPLOAD_MAX_MB),
  // How often timers fire and the outbox is drained.
  JOB_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(15_000),
  WECOM_CORP_ID: optional(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "应为企业 ID（CorpID）")),
  WECOM_AGENT_ID: optional(z.coerce.number().int().positive()),
  WECOM_SECRET: optional(z.string().min(8)),
  WECOM_TOKEN: optional(z.string().regex(/^[A-Za-z0-9]{3,32}$/, "应为 3–32 位英文字母或数字（与管理后台“接收消息”的 Token 一致）")),
  WECOM_ENCODING_AES_KEY: optional(z.string().regex(/^[A-Za-z0-9]{43}$/, "应为 43 位英文字母或数字")),
  // 粤政易 and private WeCom deployments have their own host; the /cgi-bin paths are the same.
  WECOM_API_BASE: z.url({ protocol: /^https?$/ }).default("https://qyapi.weixin.qq.com"),
  // A page with a request's details, where the deployment has one: {code} and {id} are filled in.
  WECOM_DETAIL_URL: optional(z.url({ protocol: /^https?$/ })),
  // Where WeCom's OAuth lives; 粤政易 and private deployments may have their own.
  WECOM_OAUTH_BASE: z.url({ protocol: /^https?$/ }).default("https://open.weixin.qq.com"),
  // WeCom's web login (the QR code a desktop browser shows, scanned with the phone); private deployments have their own.
  WECOM_WEB_LOGIN_BASE: z.url({ protocol: /^https?$/ }).default("https://login.work.weixin.qq.com"),
  // This service's address as people's phones reach it: cards then link to its own details page.
  PUBLIC_URL: optional(z.url({ protocol: /^https?$/ })),
  // The web portal: a session ends after this many hours without a request.
  WEB_SESSION_IDLE_HOURS: z.coerce.number().int().min(1).max(720).default(DEFAULT_WEB_SESSION_IDLE_HOURS),
  // Login codes for bastions and VMs (/access).
  SMS_GATEWAY: z.enum(["console", "tencent", "aliyun"]).default("console"),
  TENCENT_SMS_SECRET_ID: optional(z.string().min(1)),
  TENCENT_SMS_SECRET_KEY: optional(z.string().min(1)),
  TENCENT_SMS_SDK_APP_ID: optional(z.string().regex(/^\d+$/, "应为短信应用 SdkAppId（数字）")),
  TENCENT_SMS_SIGN_NAME: optional(z.string().min(1)),
  TENCENT_SMS_TEMPLATE_ID: optional(z.string().regex(/^\d+$/, "应为模板 ID（数字）")),
  TENCENT_SMS_REGION: z.string().default("ap-guangzhou"),
  ALIYUN_SMS_ACCESS_KEY_ID: optional(z.string().min(1)),
  ALIYUN_SMS_ACCESS_KEY_SECRET: optional(z.string().min(1)),
  ALIYUN_SMS_SIGN_NAME: optional(z.string().min(1)),
  ALIYUN_SMS_TEMPLATE_CODE: optional(z.string().regex(/^SMS_\w+$/, "应为模板 CODE（如 SMS_12345678）")),
  // The cloud's total capacity, all three or none: 001 第十九条 (徽州) alerts at 70% of it allocated.
  CLOUD_CAPACITY_VCPU: optional(z.coerce.number().int().positive()),
  CLOUD_CAPACITY_MEMORY_GB: optional(z.coerce.number().int().positive()),
  CLOUD_CAPACITY_STORAGE_GB: optional(z.coerce.number().int().positive()),
  // 32 bytes as 64 hex digits. Without it a random key lives in memory: codes then die with the process,
  // which is fine for one instance; replicas must share it.
  ACCESS_CODE_KEY: optional(z.string().regex(/^[0-9a-fA-F]{64}$/, "应为 64 位十六进制（32 字节）")),
  // The audit log's signing key and the anchors of its head: outside the database (auditFiles() has the defaults).
  AUDIT_SIGNING_KEY_FILE: optional(z.string().min(1)),
  AUDIT_ANCHOR_FILE: optional(z.string().min(1)),
  AUDIT_ANCHOR_INTERVAL_MS: z.coerce.number().int().min(1000).max(7 * 24 * 3_600_000).default(3_600_000),
})
  .superRefine((config, ctx) => {
    // Settings that only make sense together: once one is set, each missing one is named.
    const allOrNone = (keys: readonly (keyof typeof config)[], message: string) => {
      const missing = keys.filter((k) => config[k] === undefined);
      if (missing.length < keys.length) for (const key of missing) ctx.addIssue({ code: "custom", path: [key], message });
    };
    allOrNone(WECOM_REQUIRED, "配置企业微信时必须同时设置");
    allOrNone(CAPACITY_KEYS, "云平台总容量的三项须同时设置");
    const smsRequired = config.SMS_GATEWAY === "console" ? [] : SMS_REQUIRED[config.SMS_GATEWAY];
    for (const key of smsRequired.filter((k) => config[k] === undefined))
      ctx.addIssue({ code: "custom", path: [key], message: `SMS_GATEWAY=${config.SMS_GATEWAY} 时必须设置` });
  });

const CAPACITY_KEYS = ["CLOUD_CAPACITY_VCPU", "CLOUD_CAPACITY_MEMORY_GB", "CLOUD_CAPACITY_STORAGE_GB"] as const;

const SMS_REQUIRED = {
  tencent: ["TENCENT_SMS_SECRET_ID", "TENCENT_SMS_SECRET_KEY", "TENCENT_SMS_SDK_APP_ID", "TENCENT_SMS_SIGN_NAME", "TENCENT_SMS_TEMPLATE_ID"],
  aliyun: ["ALIYUN_SMS_ACCESS_KEY_ID", "ALIYUN_SMS_ACCESS_KEY_SECRET", "ALIYUN_SMS_SIGN_NAME", "ALIYUN_SMS_TEMPLATE_CODE"],
} as const;

export type Config = z.output<typeof configSchema>;

export type WecomConfig = {
  corpId: string;
  agentId: number;
  secret: string;
  token: string;
  encodingAesKey: string;
  apiBase: string;
  oauthBase: string;
  webLoginBase: string;
  detailUrl?: string;
  publicUrl?: string;
};

/** The WeCom settings, or null when the service runs without WeCom. */
export function wecomConfig(config: Config): WecomConfig | null {
  if (!config.WECOM_CORP_ID) return null;
  return {
    corpId: config.WECOM_CORP_ID,
    agentId: config.WECOM_AGENT_ID!,
    secret: config.WECOM_SECRET!,
    token: config.WECOM_TOKEN!,
    encodingAesKey: config.WECOM_ENCODING_AES_KEY!,
    apiBase: config.WECOM_API_BASE.replace(/\/+$/, ""),
    oauthBase: config.WECOM_OAUTH_BASE.replace(/\/+$/, ""),
    webLoginBase: config.WECOM_WEB_LOGIN_BASE.replace(/\/+$/, ""),
    detailUrl: config.WECOM_DETAIL_URL,
    publicUrl: config.PUBLIC_URL?.replace(/\/+$/, ""),
  };
}

/** Where people reach the web portal: PUBLIC_URL, else this machine's PORT (sign-in links are printed with it). */
export function portalBase(config: Config): string {
  return config.PUBLIC_URL?.replace(/\/+$/, "") ?? `http://localhost:${config.PORT}`;
}

/** The cloud's total capacity, or null when it is not configured. */
export function cloudCapacity(config: Config): CloudCapacity | null {
  if (config.CLOUD_CAPACITY_VCPU === undefined) return null;
  return { vcpu: config.CLOUD_CAPACITY_VCPU, memoryGb: config.CLOUD_CAPACITY_MEMORY_GB!, storageGb: config.CLOUD_CAPACITY_STORAGE_GB! };
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseInput(configSchema, env, "环境变量配置有误");
}

/** Where the audit signing key and the anchor file are: AUDIT_SIGNING_KEY_FILE, AUDIT_ANCHOR_FILE, or in DATA_DIR. */
export function auditFiles(config: Config): { signingKey: string; anchors: string } {
  return {
    signingKey: config.AUDIT_SIGNING_KEY_FILE ?? join(config.DATA_DIR, "audit-signing-key.pem"),
    anchors: config.AUDIT_ANCHOR_FILE ?? join(config.DATA_DIR, "audit-anchors.jsonl"),
  };
}

/** The SMS gateway login codes go through, retried once when the first attempt certainly sent nothing. */
export function smsGateway(config: Config, deps: { clock: Clock; log: (line: string) => void }): SmsGateway {
  switch (config.SMS_GATEWAY) {
    case "console":
      return consoleGateway({ log: deps.log });
    case "tencent":
      return retryOnce(
        tencentGateway({
          secretId: config.TENCENT_SMS_SECRET_ID!,
          secretKey: config.TENCENT_SMS_SECRET_KEY!,
          sdkAppId: config.TENCENT_SMS_SDK_APP_ID!,
          signName: config.TENCENT_SMS_SIGN_NAME!,
          templateId: config.TENCENT_SMS_TEMPLATE_ID!,
          region: config.TENCENT_SMS_REGION,
          clock: deps.clock,
        }),
      );
    case "aliyun":
      return retryOnce(
        aliyunGateway({
          accessKeyId: config.ALIYUN_SMS_ACCESS_KEY_ID!,
          accessKeySecret: config.ALIYUN_SMS_ACCESS_KEY_SECRET!,
          signName: config.ALIYUN_SMS_SIGN_NAME!,
          templateCode: config.ALIYUN_SMS_TEMPLATE_CODE!,
          clock: deps.clock,
        }),
      );
  }
}

/**
 * The keys of /access: login codes are hashed with ACCESS_CODE_KEY (or a random key for this process only),
 * and TOTP secrets sealed with one derived from it, which needs it configured: a random key would lose them.
 */
export function accessKeys(config: Config): { codeKey: Buffer; totpKey: Buffer | null } {
  const configured = config.ACCESS_CODE_KEY ? Buffer.from(config.ACCESS_CODE_KEY, "hex") : null;
  return { codeKey: configured ?? randomBytes(32), totpKey: totpKeyFrom(configured) };
}
