import { html } from "hono/html";
import type { Db } from "../../db/client";
import { units } from "../../db/schema";

// 004 第四十二条: the manager pays the provider "通过申请省级财政或市、县（市、区）财政资金". Each unit's costs are
// paid by the finance of its level: a county's units (and its bureau) by that county's, the others by the
// city's; 省级 only for a unit the directory sets so (units.funding).

export type FundingLevel = "province" | "city" | "county";

export const FUNDING_NAMES: Record<FundingLevel, string> = { province: "省级财政", city: "市级财政", county: "县（市、区）级财政" };

/** Who pays for one unit: a level, and for a county's finance the county. */
export interface Funder {
  level: FundingLevel;
  county: { id: string; name: string } | null;
}

/** One source's share of a statement or a period: what it pays, and for which units. */
export interface FundingShare {
  /** "province", "city" or "county:<county unit id>". */
  source: string;
  level: FundingLevel;
  /** 省级财政, 市级财政, 县（市、区）级财政（兴宁市政务服务数据管理局）. */
  name: string;
  amount: number;
  unitIds: string[];
}

/** Every unit's funder, from the directory as it stands (a few hundred rows: read once). */
export async function fundersOf(db: Db): Promise<Map<string, Funder>> {
  const rows = await db.select({ id: units.id, name: units.name, kind: units.kind, parentId: units.parentId, funding: units.funding }).from(units);
  const byId = new Map(rows.map((u) => [u.id, u]));
  const funders = new Map<string, Funder>();
  for (const u of rows) {
    // The import keeps the hierarchy to city → county → unit: a unit's county is itself or its parent.
    const parent = u.parentId ? byId.get(u.parentId) : undefined;
    const county = u.kind === "county" ? u : parent?.kind === "county" ? parent : null;
    const level: FundingLevel = u.funding ?? (county ? "county" : "city");
    funders.set(u.id, { level, county: level === "county" && county ? { id: county.id, name: county.name } : null });
  }
  return funders;
}

const ORDER: Record<FundingLevel, number> = { province: 0, city: 1, county: 2 };

/**
 * Amounts per unit split by who pays them, 省级 first, then 市级, then each county by id. Summed in fen, so the
 * shares add up to the sum of the units' amounts (a statement's total) to the cent. A unit the directory no
 * longer has is the city's.
 */
export function fundingSplit(amounts: readonly { unitId: string; amount: number }[], funders: ReadonlyMap<string, Funder>): FundingShare[] {
  const shares = new Map<string, { level: FundingLevel; name: string; fen: number; unitIds: string[] }>();
  for (const { unitId, amount } of amounts) {
    const f = funders.get(unitId) ?? { level: "city" as const, county: null };
    const source = f.county ? `county:${f.county.id}` : f.level;
    const share = shares.get(source) ?? { level: f.level, name: f.county ? `${FUNDING_NAMES.county}（${f.county.name}）` : FUNDING_NAMES[f.level], fen: 0, unitIds: [] };
    share.fen += Math.round(amount * 100);
    if (!share.unitIds.includes(unitId)) share.unitIds.push(unitId);
    shares.set(source, share);
  }
  return [...shares]
    .sort(([a, x], [b, y]) => ORDER[x.level] - ORDER[y.level] || (a < b ? -1 : a > b ? 1 : 0))
    .map(([source, s]) => ({ source, level: s.level, name: s.name, amount: s.fen / 100, unitIds: s.unitIds }));
}

/** The split in one line, as the statement, the payment's card and the report print it. */
export function fundingLine(split: readonly FundingShare[]): string {
  return split.map((s) => `${s.name} ${s.amount.toFixed(2)} 元`).join("；") || "无";
}

/** The split as a table of the printable statement (附件13) and the payment's page. */
export function fundingTable(split: readonly FundingShare[], total: number) {
  return html`<table class="ys-funding"><tr><th>资金来源（004 第四十二条）</th><th>金额（元）</th></tr>${split.map(
    (s) => html`<tr><td>${s.name}</td><td style="text-align:right">${s.amount.toFixed(2)}</td></tr>`,
  )}<tr><td>合计</td><td style="text-align:right">${total.toFixed(2)}</td></tr></table>`;
}
