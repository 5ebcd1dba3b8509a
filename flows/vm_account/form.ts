import { z } from "zod";
import { VM_ACCOUNT_KINDS } from "../../src/access/vm-account-service";
import { isIsoDate } from "../../src/core/calendar-schedule";
import { portSchema, sourceSchema } from "../port_grant/form";

const linuxName = /^[a-z_][a-z0-9_-]{0,31}$/;
const hostName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

const validitySchema = z.union([
  z.strictObject({ workdays: z.int().min(1, { error: "有效期至少 1 个工作日" }).max(250, { error: "有效期最多 250 个工作日（约一年）" }) }),
  z.strictObject({ until: z.string().refine(isIsoDate, { error: "应为日期 YYYY-MM-DD" }) }),
]);

export const vmAccountFormSchema = z
  .strictObject({
    kind: z.enum(Object.keys(VM_ACCOUNT_KINDS) as [keyof typeof VM_ACCOUNT_KINDS, ...(keyof typeof VM_ACCOUNT_KINDS)[]]).default("new"),
    holder: z.string().trim().min(1, { error: "请指定账号使用人（通讯录中的用户 id）" }).max(64),
    account: z.string().trim().regex(linuxName, { error: "账号名应为小写字母或下划线开头、最多 32 位的小写字母、数字、下划线或连字符" }),
    hosts: z
      .array(z.string().trim().regex(hostName, { error: "主机名无效" }))
      .min(1, { error: "至少指定一台主机" })
      .max(20, { error: "一次最多 20 台主机" })
      .refine((h) => new Set(h).size === h.length, { error: "主机重复" }),
    validity: validitySchema.optional(),
    reason: z.string().trim().min(1, { error: "请说明用途" }).max(500),
    // Ports and source addresses to open with a new account; each becomes a grant of its own, ending with it.
    ports: z.array(portSchema).max(20).default([]),
    sources: z.array(sourceSchema).max(50).default([]),
    portReason: z.string().trim().min(1).max(500).optional(),
  })
  .refine((f) => f.kind === "rebind" || f.validity !== undefined, { error: "新开和续期需要有效期", path: ["validity"] })
  .refine((f) => f.ports.length === 0 || f.kind === "new", { error: "续期和换绑不开放端口；请另行申请端口开放", path: ["ports"] })
  .refine((f) => f.ports.length === 0 || f.sources.length > 0, { error: "开放端口须写明来源地址", path: ["sources"] })
  .refine((f) => f.ports.length === 0 || f.portReason !== undefined, { error: "开放端口须说明理由", path: ["portReason"] });

export type VmAccountForm = z.output<typeof vmAccountFormSchema>;
