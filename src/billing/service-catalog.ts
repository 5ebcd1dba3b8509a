import { asc, desc, lte } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { serviceCatalogs } from "../../db/schema";
import { PROFILES, type ProfileKey } from "../../profiles";
import { isIsoDate } from "../core/calendar-schedule";
import type { ServiceContext } from "../core/context";
import { conflict, forbidden } from "../core/errors";
import { mutate } from "../core/mutate";
import { parseInput } from "../core/validation";
import { BACKUP_COPIES, BACKUP_TYPES, BANDWIDTH_ZONES, PAAS_KINDS, SECURITY_SERVICES } from "../resources/catalog";
import { listPriceTables, PRICED_KIND_NAMES, SECURITY_KINDS, tableOn, type PriceTable, type PricedKind } from "./prices";
import { dayPriceOf } from "./statement";

// 服务目录: 000 5.5 "监管部门应制定统一的云资源服务目录…使用单位在申请使用云资源时，所需资源应从服务目录中选择。服务
// 目录中没有的…应在目录中选择功能和性能相近的进行适配"; 003 第二条(二) 政务云资源 are what "政务云服务目录" offers;
// 004 第四条 the services and their types follow 粤财行〔2019〕82 号's 政务云服务分册, and a new service "经正式发布后即
// 自动成为…云资源服务内容": a version of the catalog takes effect on its date, like a price table.
//
// Why a file of its own and not a section of the price table: the catalog says WHAT is offered (each item a
// configuration: kind, code, name, the figures that define it), the price table what a day of each kind and size
// costs. 000 5.5 has the 监管部门 make the catalog while the manager loads the prices, and a new service (004 第四条)
// is published without a new price list. An item carries no price of its own: its day price is the price table in
// force on the day it is read, applied to the item's figures by the same function the monthly statement bills
// with (statement.ts dayPriceOf), so the catalog and the bill cannot disagree.

const code = z
  .string({ error: "请填写目录编号" })
  .trim()
  .regex(/^[A-Za-z0-9._-]{1,40}$/, { error: "目录编号应为 1–40 位字母、数字、点、下划线或连字符" });
const base = {
  code,
  name: z.string({ error: "请填写名称" }).trim().min(1, "请填写名称").max(100, "名称不超过 100 字"),
  note: z.string().trim().max(500, "说明不超过 500 字").optional(),
};
const PAAS_ITEM_KINDS = ["paas_database", "paas_middleware", "paas_container", "paas_bigdata"] as const;
const int = (label: string, min: number, max: number) =>
  z.int(`${label}应为整数`).min(min, `${label}至少为 ${min}`).max(max, `${label}最多为 ${max}`);

const vmItem = z.strictObject({
  ...base,
  kind: z.literal("vm"),
  vcpu: int("vCPU", 1, 128),
  memoryGb: int("内存(GB)", 1, 2048),
  diskGb: int("磁盘(GB)", 0, 65_536),
  storageType: z.string({ error: "请填写存储类型" }).trim().min(1, "请填写存储类型").max(50),
});
const paasItem = z.strictObject({
  ...base,
  kind: z.enum(PAAS_ITEM_KINDS),
  product: z.string({ error: "请填写产品（数据库、中间件等的名称和版本）" }).trim().min(1, "请填写产品").max(100),
  vcpu: int("vCPU", 0, 1024).default(0),
  memoryGb: int("内存(GB)", 0, 8192).default(0),
  storageGb: int("存储(GB)", 0, 1_048_576).default(0),
});
const backupItem = z.strictObject({
  ...base,
  kind: z.literal("backup"),
  type: z.enum(Object.keys(BACKUP_TYPES) as [keyof typeof BACKUP_TYPES]),
  copies: z.enum(Object.keys(BACKUP_COPIES) as [keyof typeof BACKUP_COPIES]),
  retentionMonths: int("保留月数", 1, 120).default(2),
});
const hostingItem = z.strictObject({ ...base, kind: z.literal("hosting"), rackUnits: int("机柜 U 数", 1, 48) });
const bandwidthItem = z.strictObject({
  ...base,
  kind: z.literal("bandwidth"),
  zone: z.enum(Object.keys(BANDWIDTH_ZONES) as [keyof typeof BANDWIDTH_ZONES]),
  mbps: int("带宽(Mbps)", 1, 100_000),
});
const publicIpItem = z.strictObject({ ...base, kind: z.literal("public_ip"), ips: int("公网 IP 个数", 1, 256).default(1) });
const securityItem = z.strictObject({
  ...base,
  kind: z.enum(SECURITY_KINDS as [(typeof SECURITY_KINDS)[number], ...(typeof SECURITY_KINDS)[number][]]),
  units: int("套数", 1, 1000).default(1),
});

const KIND_CHOICES = Object.entries(PRICED_KIND_NAMES)
  .map(([k, name]) => `${k}（${name}）`)
  .join("、");
export const catalogItemSchema = z.discriminatedUnion(
  "kind",
  [vmItem, paasItem, backupItem, hostingItem, bandwidthItem, publicIpItem, securityItem],
  { error: (issue) => (issue.code === "invalid_union" ? `类型（kind）应为以下之一：${KIND_CHOICES}` : undefined) },
);
export type CatalogItem = z.output<typeof catalogItemSchema>;

export const serviceCatalogSchema = z
  .strictObject({
    version: z.string({ error: "请填写版本号" }).trim().regex(/^[A-Za-z0-9._-]{1,40}$/, { error: "版本号应为 1–40 位字母、数字、点、下划线或连字符" }),
    effectiveFrom: z.string({ error: "请填写生效日期" }).refine(isIsoDate, { error: "生效日期应为日期 YYYY-MM-DD" }),
    // 004 第四条: the document the services follow (粤财行〔2019〕82 号 政务云服务分册), or the notice publishing them.
    source: z.string().trim().max(200).default(""),
    items: z.array(catalogItemSchema, { error: "items 应为目录项的列表" }).min(1, "服务目录至少要有一项").max(2000, "服务目录最多 2000 项"),
  })
  .superRefine((catalog, ctx) => {
    const seen = new Set<string>();
    catalog.items.forEach((item, i) => {
      if (seen.has(item.code)) ctx.addIssue({ code: "custom", path: ["items", i, "code"], message: `目录编号 ${item.code} 重复` });
      seen.add(item.code);
    });
  });
export type ServiceCatalog = z.output<typeof serviceCatalogSchema>;

/** Who may publish the catalog under the profile: the system administrator, and the party its document names. */
export function catalogMakers(profile: ProfileKey): { roles: readonly string[]; party: string; article: string } {
  const by = (PROFILES[profile] as { serviceCatalogBy?: { roles: readonly string[]; party: string; article: string } }).serviceCatalogBy;
  return { ...(by ?? { roles: ["manager"], party: "统筹管理单位", article: "004 第四条" }), roles: ["admin", ...(by?.roles ?? ["manager"])] };
}

/** Whether the actor may publish catalog versions; null is the operator at the CLI, who holds the database. */
export function mayPublishCatalog(ctx: Pick<ServiceContext, "actor" | "profile">): boolean {
  const { roles } = catalogMakers(ctx.profile);
  return ctx.actor === null || ctx.actor.roles.some((r) => roles.includes(r));
}

/** `yunshen catalog load FILE`: a new version of the 服务目录 (loaded once; a correction is a new version). */
export async function loadServiceCatalog({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  // Inside mutate, so a refusal is audited like any other; a malformed file (400) writes nothing.
  return mutate(ctx, { action: "catalog.load" }, async (tx, j) => {
    if (!mayPublishCatalog(ctx)) {
      const { party, article } = catalogMakers(ctx.profile);
      throw forbidden(`只有系统管理员或${party}可以发布服务目录（${article}）`);
    }
    const catalog = parseInput(serviceCatalogSchema, input, "服务目录文件有误");
    const inserted = await tx
      .insert(serviceCatalogs)
      .values({ version: catalog.version, effectiveFrom: catalog.effectiveFrom, catalog, loadedAt: ctx.clock.now() })
      .onConflictDoNothing()
      .returning({ version: serviceCatalogs.version });
    if (inserted.length === 0) throw conflict("version_exists", `服务目录 ${catalog.version} 已发布；更正请用新的版本号`);
    j.add({ action: "catalog.load", details: { version: catalog.version, effectiveFrom: catalog.effectiveFrom, items: catalog.items.length } });
    return { version: catalog.version, effectiveFrom: catalog.effectiveFrom, items: catalog.items.length };
  });
}

export async function listServiceCatalogs(db: Db): Promise<ServiceCatalog[]> {
  const rows = await db.select().from(serviceCatalogs).orderBy(asc(serviceCatalogs.effectiveFrom), asc(serviceCatalogs.version));
  return rows.map((r) => r.catalog as ServiceCatalog);
}

/** The version in force on a day: the latest that took effect on or before it (as price tables, prices.ts tableOn). */
export function catalogOn(catalogs: ServiceCatalog[], day: string): ServiceCatalog | null {
  let found: ServiceCatalog | null = null;
  for (const c of catalogs) if (c.effectiveFrom <= day && (!found || c.effectiveFrom >= found.effectiveFrom)) found = c;
  return found;
}

/** `catalogOn` in SQL: only the version in force is read (a submission reads it). */
export async function catalogInForce(db: Db, day: string): Promise<ServiceCatalog | null> {
  const [row] = await db
    .select({ catalog: serviceCatalogs.catalog })
    .from(serviceCatalogs)
    .where(lte(serviceCatalogs.effectiveFrom, day))
    .orderBy(desc(serviceCatalogs.effectiveFrom), desc(serviceCatalogs.version))
    .limit(1);
  return (row?.catalog as ServiceCatalog | undefined) ?? null;
}

const isPaasItem = (item: CatalogItem): item is z.output<typeof paasItem> => (PAAS_ITEM_KINDS as readonly string[]).includes(item.kind);

/** The sizes a resource of this item has in the ledger (resources/index.ts), which the statement prices. */
export function itemSpec(item: CatalogItem): Record<string, number> {
  switch (item.kind) {
    case "vm":
      return { vcpu: item.vcpu, memoryGb: item.memoryGb, diskGb: item.diskGb };
    case "backup":
      return {};
    case "hosting":
      return { rackUnits: item.rackUnits };
    case "bandwidth":
      return { mbps: item.mbps };
    case "public_ip":
      return { ips: item.ips };
    default:
      return isPaasItem(item) ? { vcpu: item.vcpu, memoryGb: item.memoryGb, storageGb: item.storageGb } : { units: item.units };
  }
}

/** An item's day price under a price table: what a day of a resource of its figures is billed; null when unpriced. */
export function itemDayPrice(item: CatalogItem, table: PriceTable | null): number | null {
  const prices = table?.prices[item.kind as PricedKind];
  return prices ? dayPriceOf(prices, itemSpec(item)) : null;
}

/** "4 核 / 8G 内存 / 100G 高性能云盘", "达梦 DM8 4 核 / 16G 内存 / 500G 存储": an item's figures as people read them. */
export function itemFigures(item: CatalogItem): string {
  switch (item.kind) {
    case "vm":
      return `${item.vcpu} 核 / ${item.memoryGb}G 内存 / ${item.diskGb}G ${item.storageType}`;
    case "backup":
      return `${BACKUP_TYPES[item.type]} · ${BACKUP_COPIES[item.copies]} · 保留 ${item.retentionMonths} 个月`;
    case "hosting":
      return `${item.rackUnits}U`;
    case "bandwidth":
      return `${BANDWIDTH_ZONES[item.zone]} ${item.mbps} Mbps`;
    case "public_ip":
      return `${item.ips} 个`;
    default:
      if (isPaasItem(item)) return `${item.product} ${paasSizes(item)}`;
      return `${SECURITY_SERVICES[item.kind.slice("security_".length) as keyof typeof SECURITY_SERVICES]} ${item.units} 套`;
  }
}

const paasSizes = (p: { vcpu: number; memoryGb: number; storageGb: number }) =>
  [p.vcpu ? `${p.vcpu} 核` : "", p.memoryGb ? `${p.memoryGb}G 内存` : "", p.storageGb ? `${p.storageGb}G 存储` : ""].filter(Boolean).join(" / ") || "不限规格";

export interface CatalogItemView {
  code: string;
  name: string;
  kind: string;
  kindName: string;
  figures: string;
  note: string | null;
  /** Yuan per day for one of it (one VM, one instance, one device, the bandwidth, the IPs, the sets), or null. */
  dayPrice: number | null;
  item: CatalogItem;
}

/** The catalog in force on a day, each item with its day price under the price table in force that day. */
export async function catalogView(db: Db, day: string) {
  const catalogs = await listServiceCatalogs(db);
  const catalog = catalogOn(catalogs, day);
  const table = tableOn(await listPriceTables(db), day);
  const items: CatalogItemView[] = (catalog?.items ?? []).map((item) => ({
    code: item.code,
    name: item.name,
    kind: item.kind,
    kindName: PRICED_KIND_NAMES[item.kind as PricedKind],
    figures: itemFigures(item),
    note: item.note ?? null,
    dayPrice: itemDayPrice(item, table),
    item,
  }));
  return {
    day,
    catalog: catalog && { version: catalog.version, effectiveFrom: catalog.effectiveFrom, source: catalog.source },
    priceTable: table && { version: table.version, effectiveFrom: table.effectiveFrom },
    items,
    versions: catalogs.map((c) => ({ version: c.version, effectiveFrom: c.effectiveFrom, source: c.source, items: c.items.length })),
  };
}

// ——— Choosing from the catalog (000 5.5) ———

/** A VM or PaaS row of an application, as the form gives it (flows/application/form.ts), with the item it names. */
export interface VmRowIn {
  purpose: string;
  vcpu: number;
  memoryGb: number;
  diskGb: number;
  storageType: string;
  item?: string | undefined;
}
export interface PaasRowIn {
  kind: keyof typeof PAAS_KINDS;
  product: string;
  vcpu: number;
  memoryGb: number;
  storageGb: number;
  item?: string | undefined;
}

/** How a row was matched to the catalog: it named the item, it equals one, or the nearest was chosen for it. */
export type CatalogMatchHow = "named" | "exact" | "nearest" | "none";

export interface CatalogMatch {
  /** "vms[0]", "paas[1]": the row of the form. */
  row: string;
  /** "虚拟机第 1 行（应用服务器）". */
  label: string;
  how: CatalogMatchHow;
  /** The item, or null ("none": the catalog has nothing of the row's kind). */
  item: string | null;
  itemName: string | null;
  itemFigures: string | null;
  /** What the row asked for, as people read it. */
  asked: string;
  /** For "nearest": where the item differs from the row ("vCPU 6→8 核", "存储类型 SSD云盘→高性能云盘"). */
  differences: string[];
  /** For "nearest": the distance below (0 is an exact match). */
  distance?: number;
}

/** What a 云资源申请's facts keep of its fit to the catalog: the version in force at submission and each row's match. */
export interface CatalogFit {
  version: string;
  rows: CatalogMatch[];
}

/** A refusal of a row naming an item: under its field, in words. */
export interface CatalogProblem {
  field: string;
  message: string;
}

const norm = (s: string) => s.replace(/\s+/g, "").toLowerCase();
/** Whether every word of `a` ("达梦 DM8") is in `b` ("达梦数据库 DM8"), spaces and case ignored. */
const wordsIn = (a: string, b: string) => {
  const words = a.toLowerCase().split(/\s+/).filter(Boolean);
  return words.length > 0 && words.every((w) => norm(b).includes(w));
};
/** Same product or engine: one's words all in the other ("达梦 DM8" and "达梦数据库 DM8", "MySQL" and "MySQL 8.0"). */
const sameProduct = (a: string, b: string) => wordsIn(a, b) || wordsIn(b, a);

// The distance from a row to an item of its kind (000 5.5 "功能和性能相近"), smaller is nearer:
// - function first: an item of the same product / engine (PaaS) or storage type (VM) always comes before one
//   that is not, whatever their sizes (FUNCTION_MISMATCH exceeds any size distance of the bounded figures);
// - then performance: Σ w·|log2((item+1)/(row+1))| over vCPU (w 1), memory (w 1) and disk or storage (w 0.5), a
//   shortfall counting double (an item smaller than the need serves it less than a larger one does). Log ratios
//   make 4→8 核 as far as 8→16 核; +1 keeps a 0 (no data disk, PaaS without a size) finite.
// Equal distances: the item listed first in the catalog.
const FUNCTION_MISMATCH = 1000;
const WEIGHTS = { vcpu: 1, memoryGb: 1, disk: 0.5 };
function sizeDistance(item: number, row: number, weight: number): number {
  const d = Math.abs(Math.log2((item + 1) / (row + 1)));
  return weight * (item < row ? 2 * d : d);
}

type Fig = { vcpu: number; memoryGb: number; disk: number };
const performance = (item: Fig, row: Fig) =>
  sizeDistance(item.vcpu, row.vcpu, WEIGHTS.vcpu) + sizeDistance(item.memoryGb, row.memoryGb, WEIGHTS.memoryGb) + sizeDistance(item.disk, row.disk, WEIGHTS.disk);

function differences(item: Fig, row: Fig, diskName: string): string[] {
  const out: string[] = [];
  if (item.vcpu !== row.vcpu) out.push(`vCPU ${row.vcpu}→${item.vcpu} 核`);
  if (item.memoryGb !== row.memoryGb) out.push(`内存 ${row.memoryGb}→${item.memoryGb}G`);
  if (item.disk !== row.disk) out.push(`${diskName} ${row.disk}→${item.disk}G`);
  return out;
}

const round = (n: number) => Math.round(n * 1000) / 1000;
const vmFig = (r: { vcpu: number; memoryGb: number; diskGb: number }): Fig => ({ vcpu: r.vcpu, memoryGb: r.memoryGb, disk: r.diskGb });
const paasFig = (r: { vcpu: number; memoryGb: number; storageGb: number }): Fig => ({ vcpu: r.vcpu, memoryGb: r.memoryGb, disk: r.storageGb });

/** The nearest of `items` to the row (function, then performance), with its distance; null when there is none. */
function nearest<I extends CatalogItem>(items: I[], fn: (item: I) => boolean, fig: (item: I) => Fig, row: Fig) {
  let best: { item: I; distance: number } | null = null;
  for (const item of items) {
    const distance = (fn(item) ? 0 : FUNCTION_MISMATCH) + performance(fig(item), row);
    if (!best || distance < best.distance) best = { item, distance };
  }
  return best;
}

/**
 * Fits an application's VM and PaaS rows to the catalog in force (000 5.5): a row naming an item must be of its
 * kind, product and sizes (a PaaS row's sizes left at 0 are the item's: they are filled in; a VM row takes the
 * item's storage type); any other row is matched to its equal or, failing that, its nearest item, and the match is
 * recorded for the applicant and the evaluator. The rows it returns are the form's with what a named item filled.
 */
export function fitToCatalog<V extends VmRowIn, P extends PaasRowIn>(catalog: ServiceCatalog, form: { vms: V[]; paas: P[] }) {
  const problems: CatalogProblem[] = [];
  const rows: CatalogMatch[] = [];
  const byCode = new Map(catalog.items.map((i) => [i.code, i]));
  const vmItems = catalog.items.filter((i): i is z.output<typeof vmItem> => i.kind === "vm");

  const vms = form.vms.map((vm, i) => {
    const label = `虚拟机第 ${i + 1} 行（${vm.purpose}）`;
    const field = `form.vms[${i}].item`;
    const asked = `${vm.vcpu} 核 / ${vm.memoryGb}G 内存 / ${vm.diskGb}G ${vm.storageType}`;
    if (vm.item !== undefined) {
      const item = byCode.get(vm.item);
      if (!item) {
        problems.push({ field, message: `服务目录 ${catalog.version} 中没有编号为 ${vm.item} 的项目` });
        return vm;
      }
      if (item.kind !== "vm") {
        problems.push({ field, message: `目录项 ${item.code}（${item.name}）是${PRICED_KIND_NAMES[item.kind as PricedKind]}，不是虚拟机` });
        return vm;
      }
      const diff = differences(vmFig(item), vmFig(vm), "磁盘");
      if (diff.length > 0) {
        problems.push({ field, message: `所填规格与目录项 ${item.code}（${itemFigures(item)}）不一致：${diff.join("，")}；请按目录项填写，或不填目录编号` });
        return vm;
      }
      rows.push({ row: `vms[${i}]`, label, how: "named", item: item.code, itemName: item.name, itemFigures: itemFigures(item), asked, differences: [] });
      return { ...vm, storageType: item.storageType };
    }
    const best = nearest(vmItems, (it) => it.storageType === vm.storageType, vmFig, vmFig(vm));
    rows.push(matchOf(`vms[${i}]`, label, asked, best, (it) => [
      ...(it.storageType !== vm.storageType ? [`存储类型 ${vm.storageType}→${it.storageType}`] : []),
      ...differences(vmFig(it), vmFig(vm), "磁盘"),
    ]));
    return vm;
  });

  const paas = form.paas.map((p, i) => {
    const kind = `paas_${p.kind}`;
    const label = `${PAAS_KINDS[p.kind]}第 ${i + 1} 行（${p.product}）`;
    const field = `form.paas[${i}].item`;
    const asked = `${p.product} ${paasSizes(p)}`;
    if (p.item !== undefined) {
      const item = byCode.get(p.item);
      if (!item) {
        problems.push({ field, message: `服务目录 ${catalog.version} 中没有编号为 ${p.item} 的项目` });
        return p;
      }
      if (item.kind !== kind || !isPaasItem(item)) {
        problems.push({ field, message: `目录项 ${item.code}（${item.name}）是${PRICED_KIND_NAMES[item.kind as PricedKind]}，不是${PAAS_KINDS[p.kind]}` });
        return p;
      }
      if (!sameProduct(item.product, p.product)) {
        problems.push({ field, message: `目录项 ${item.code} 的产品是「${item.product}」，所填为「${p.product}」` });
        return p;
      }
      // A size left at 0 (not given) is the item's; one given must be the item's.
      const filled = { ...p, vcpu: p.vcpu || item.vcpu, memoryGb: p.memoryGb || item.memoryGb, storageGb: p.storageGb || item.storageGb };
      const diff = differences(paasFig(item), paasFig(filled), "存储");
      if (diff.length > 0) {
        problems.push({ field, message: `所填规格与目录项 ${item.code}（${itemFigures(item)}）不一致：${diff.join("，")}；请按目录项填写，或不填目录编号` });
        return p;
      }
      rows.push({ row: `paas[${i}]`, label, how: "named", item: item.code, itemName: item.name, itemFigures: itemFigures(item), asked: `${p.product} ${paasSizes(filled)}`, differences: [] });
      return filled;
    }
    const candidates = catalog.items.filter((it): it is z.output<typeof paasItem> => it.kind === kind && isPaasItem(it));
    const best = nearest(candidates, (it) => sameProduct(it.product, p.product), paasFig, paasFig(p));
    rows.push(matchOf(`paas[${i}]`, label, asked, best, (it) => [
      ...(!sameProduct(it.product, p.product) ? [`产品 ${p.product}→${it.product}`] : []),
      ...differences(paasFig(it), paasFig(p), "存储"),
    ]));
    return p;
  });

  const fit: CatalogFit = { version: catalog.version, rows };
  return { problems, fit, vms, paas };
}

function matchOf<I extends CatalogItem>(row: string, label: string, asked: string, best: { item: I; distance: number } | null, diff: (item: I) => string[]): CatalogMatch {
  if (!best) return { row, label, how: "none", item: null, itemName: null, itemFigures: null, asked, differences: [] };
  const d = diff(best.item);
  const common = { row, label, item: best.item.code, itemName: best.item.name, itemFigures: itemFigures(best.item), asked };
  return d.length === 0 ? { ...common, how: "exact", differences: [] } : { ...common, how: "nearest", differences: d, distance: round(best.distance) };
}

/** The fit as one line of a request's summary, or null when every row is an item of the catalog as it stands. */
export function catalogFitText(fit: CatalogFit): string {
  const parts = fit.rows.map((m) => {
    if (m.how === "none") return `${m.label}：目录中没有此类资源（${m.asked}）`;
    if (m.how === "nearest") return `${m.label}：${m.asked} 不在目录中，按功能和性能相近适配为 ${m.item}「${m.itemName}」（${m.itemFigures}；${m.differences.join("，")}）`;
    return `${m.label}：${m.item}「${m.itemName}」`;
  });
  return `服务目录 ${fit.version}：${parts.join("；")}`;
}

/** Whether some row is not an item of the catalog (adapted to its nearest, or of a kind the catalog lacks). */
export const offCatalog = (fit: CatalogFit) => fit.rows.some((m) => m.how === "nearest" || m.how === "none");
