import { asc } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { priceTables } from "../../db/schema";
import { isIsoDate } from "../core/calendar-schedule";
import type { ServiceContext } from "../core/context";
import { mutate } from "../core/mutate";
import { conflict } from "../core/errors";
import { requireOperator } from "../core/roles";
import { parseInput } from "../core/validation";
import { SECURITY_SERVICES, type SecurityService } from "../resources/catalog";

// A price table file (README "Billing"): per resource kind, what a day costs per unit of each size, plus a
// flat charge per instance. Money is in yuan with at most 4 decimals.
const amount = z
  .number()
  .min(0)
  .max(1_000_000)
  .refine((n) => Math.abs(n * 10_000 - Math.round(n * 10_000)) < 1e-6, { error: "单价最多 4 位小数" });
const kindPricesSchema = z.strictObject({
  vcpuDay: amount.optional(),
  memoryGbDay: amount.optional(),
  diskGbDay: amount.optional(),
  storageGbDay: amount.optional(),
  instanceDay: amount.optional(),
  // 004 第四十八条: hosting, network and security resources (第四十三条: by the day, like the rest).
  rackUnitDay: amount.optional(),
  mbpsDay: amount.optional(),
  ipDay: amount.optional(),
  unitDay: amount.optional(),
});
export type KindPrices = z.output<typeof kindPricesSchema>;

/** Each price of a kind as people read it (the portal's table of price tables). */
export const PRICE_NAMES: Record<keyof KindPrices, string> = {
  vcpuDay: "vCPU（元/核/天）",
  memoryGbDay: "内存（元/GB/天）",
  diskGbDay: "磁盘（元/GB/天）",
  storageGbDay: "存储（元/GB/天）",
  instanceDay: "每个实例（元/天）",
  rackUnitDay: "机柜（元/U/天）",
  mbpsDay: "带宽（元/Mbps/天）",
  ipDay: "公网 IP（元/个/天）",
  unitDay: "安全服务（元/套/天）",
};

export const SECURITY_KINDS = Object.keys(SECURITY_SERVICES).map((s) => `security_${s}` as `security_${SecurityService}`);
export const PRICED_KINDS = ["vm", "paas_database", "paas_middleware", "paas_container", "paas_bigdata", "backup", "hosting", "bandwidth", "public_ip", ...SECURITY_KINDS] as const;

export type PricedKind = (typeof PRICED_KINDS)[number];

/** The kinds a table prices, as people read them. */
export const PRICED_KIND_NAMES: Record<(typeof PRICED_KINDS)[number], string> = {
  vm: "虚拟机",
  paas_database: "数据库",
  paas_middleware: "中间件",
  paas_container: "容器",
  paas_bigdata: "大数据平台",
  backup: "备份",
  hosting: "硬件托管",
  bandwidth: "带宽",
  public_ip: "公网 IP",
  ...(Object.fromEntries(Object.entries(SECURITY_SERVICES).map(([s, name]) => [`security_${s}`, name])) as Record<`security_${SecurityService}`, string>),
};

export const priceTableSchema = z.strictObject({
  version: z.string().trim().regex(/^[A-Za-z0-9._-]{1,40}$/, { error: "版本号应为 1–40 位字母、数字、点、下划线或连字符" }),
  effectiveFrom: z.string().refine(isIsoDate, { error: "应为日期 YYYY-MM-DD" }),
  source: z.string().trim().max(200).default(""),
  currency: z.literal("CNY").default("CNY"),
  prices: z
    .partialRecord(z.enum(PRICED_KINDS), kindPricesSchema)
    .refine((p) => Object.keys(p).length > 0, { error: "至少一类资源的单价" }),
});
export type PriceTable = z.output<typeof priceTableSchema>;

/** `yunshen prices load FILE`: a new table (a version is loaded once; a correction is a new version). */
export async function loadPriceTable({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  // Inside mutate, so a refusal is audited like any other (a malformed table, a 400, writes nothing).
  return mutate(ctx, { action: "prices.load" }, async (tx, j) => {
    requireOperator(ctx.actor, "prices");
    const table = parseInput(priceTableSchema, input, "单价表有误");
    const inserted = await tx
      .insert(priceTables)
      .values({ version: table.version, effectiveFrom: table.effectiveFrom, table, loadedAt: ctx.clock.now() })
      .onConflictDoNothing()
      .returning({ version: priceTables.version });
    if (inserted.length === 0) throw conflict("version_exists", `单价表 ${table.version} 已加载；更正请用新的版本号`);
    j.add({ action: "prices.load", details: { version: table.version, effectiveFrom: table.effectiveFrom, kinds: Object.keys(table.prices) } });
    return { version: table.version, effectiveFrom: table.effectiveFrom };
  });
}

export async function listPriceTables(db: Db): Promise<PriceTable[]> {
  const rows = await db.select().from(priceTables).orderBy(asc(priceTables.effectiveFrom), asc(priceTables.version));
  return rows.map((r) => r.table as PriceTable);
}

/** The table in force on a day: the latest that took effect on or before it. */
export function tableOn(tables: PriceTable[], day: string): PriceTable | null {
  let found: PriceTable | null = null;
  for (const t of tables) if (t.effectiveFrom <= day && (!found || t.effectiveFrom >= found.effectiveFrom)) found = t;
  return found;
}
