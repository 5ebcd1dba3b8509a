import { isIP } from "node:net";
import { z } from "zod";
import { isIsoDate } from "../../src/core/calendar-schedule";

// Least privilege: a source may be a network, but not one so wide it is "everyone" in a few lines
// (0.0.0.0/1 and 128.0.0.0/1 together are all of IPv4).
const WIDEST_PREFIX = { 4: 8, 6: 32 } as const;

/** "10.1.2.3", "10.1.0.0/16", "2001:db8::/32". */
function validSource(text: string): string | null {
  const [address, prefix, ...rest] = text.split("/");
  const family = isIP(address ?? "") as 0 | 4 | 6;
  if (rest.length > 0 || family === 0) return "应为 IP 地址或网段（如 10.1.2.3 或 10.1.0.0/16）";
  if (prefix !== undefined) {
    const bits = Number(prefix);
    if (!/^\d{1,3}$/.test(prefix) || bits > (family === 4 ? 32 : 128)) return "网段前缀长度无效";
    if (bits === 0) return "不能对所有地址开放，请写明来源网段";
    if (bits < WIDEST_PREFIX[family]) return `网段过大（不小于 /${WIDEST_PREFIX[family]}），请按最小权限写明来源`;
  }
  return null;
}

export const sourceSchema = z
  .string()
  .trim()
  .superRefine((v, ctx) => {
    const problem = validSource(v);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

export const portSchema = z.strictObject({ port: z.int().min(1).max(65535), protocol: z.enum(["tcp", "udp"]).default("tcp") });

export const portGrantFormSchema = z.strictObject({
  hosts: z
    .array(z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, { error: "主机名无效" }))
    .min(1, { error: "至少指定一台主机" })
    .max(20)
    .refine((h) => new Set(h).size === h.length, { error: "主机重复" }),
  ports: z.array(portSchema).min(1, { error: "至少一个端口" }).max(20),
  sources: z.array(sourceSchema).min(1, { error: "请写明允许访问的来源地址" }).max(50),
  validity: z.union([
    z.strictObject({ workdays: z.int().min(1).max(250) }),
    z.strictObject({ until: z.string().refine(isIsoDate, { error: "应为日期 YYYY-MM-DD" }) }),
  ]),
  reason: z.string().trim().min(1, { error: "请说明开放的理由" }).max(500),
});
