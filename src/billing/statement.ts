import { addCalendarDays, monthDays, shanghaiDate } from "../core/calendar";
import { tableOn, type KindPrices, type PriceTable } from "./prices";

// The month's statement as 004 第四十三条 counts it: each resource, each day it was held, at the size it had
// that day and the price table in force that day. Pure: the caller reads resources, sizes and tables.

export interface BillableResource {
  id: number;
  name: string;
  unitId: string;
  system: string;
  kind: string;
  deliveredAt: Date;
  /**
   * When billing starts, where not at the delivery: a 巴中 application's resources from the system's deployment
   * (003 第四十三条), null while it is not deployed (nothing billed). Absent: from the delivery (004 第四十三条).
   */
  billedFrom?: Date | null;
  revokedAt: Date | null;
}

export interface SizeFrom {
  resourceId: number;
  fromDate: string;
  spec: Record<string, unknown>;
}

interface Segment {
  from: string;
  to: string;
  days: number;
  spec: Record<string, unknown>;
  version: string | null;
  /** One day's charge in yuan; null when no price applies (no table, or none for the kind). */
  dayPrice: number | null;
}

type LineFlag = "new" | "adjusted" | "revoked" | "backup" | "unpriced" | "dates";

/** The first and last day of the month the cloud's monitoring saw the resource running (its samples). */
interface SeenRunning {
  first: string;
  last: string;
}

interface StatementLine {
  resourceId: number;
  name: string;
  unitId: string;
  system: string;
  kind: string;
  days: number;
  amount: number;
  segments: Segment[];
  /**
   * What the reviewer checks first (004 第四十五条): new, adjusted, revoked and backup resources; days without a
   * price; billed dates the monitoring contradicts ("dates", explained in `mismatch`).
   */
  flags: LineFlag[];
  mismatch: string[];
}

// A resource delivered before sizes were kept has none: it is billed by its flat charge only.
const NO_SIZE: Record<string, unknown> = {};

// Money is summed in ten-thousandths of a yuan (prices have at most 4 decimals), so no float drift.
const UNITS = 10_000;
const SIZE_KEYS: [keyof KindPrices, string][] = [
  ["vcpuDay", "vcpu"],
  ["memoryGbDay", "memoryGb"],
  ["diskGbDay", "diskGb"],
  ["storageGbDay", "storageGb"],
  // 004 第四十八条: a hosted device's rack units, a zone's bandwidth, the public IPs, a security service's units.
  ["rackUnitDay", "rackUnits"],
  ["mbpsDay", "mbps"],
  ["ipDay", "ips"],
  ["unitDay", "units"],
];

/** One day's charge for a resource of this kind and size, in ten-thousandths of a yuan. */
function dayCharge(prices: KindPrices, spec: Record<string, unknown>): number {
  let total = Math.round((prices.instanceDay ?? 0) * UNITS);
  for (const [price, size] of SIZE_KEYS) total += Math.round((prices[price] ?? 0) * UNITS) * (Number(spec[size]) || 0);
  return total;
}

/**
 * One day's charge in yuan for a resource of this kind and size: what a statement's segment shows as its day
 * price, and what the 服务目录 shows as an item's (so the two cannot disagree).
 */
export function dayPriceOf(prices: KindPrices, spec: Record<string, unknown>): number {
  return dayCharge(prices, spec) / UNITS;
}

// Oldest first: a day is billed at the latest size from on or before it.
const byFromDate = (a: SizeFrom, b: SizeFrom) => (a.fromDate < b.fromDate ? -1 : 1);

/**
 * A resource's lines for the month: billed from the day billing starts (its delivery, or where the profile says so
 * its deployment) up to the day before revocation. `seen`, the
 * days the monitoring saw it running, flags billed dates it contradicts: running before delivery (days that go
 * unbilled, or a delivery recorded late), or after revocation (resources perhaps never reclaimed). A resource
 * revoked in an earlier month that still runs gets a line of nothing billed, so the reviewer sees it too.
 */
export function statementLine(
  month: string,
  r: BillableResource,
  sizes: SizeFrom[],
  tables: PriceTable[],
  seen: SeenRunning | null = null,
): StatementLine | null {
  return lineOf(month, r, sizes.filter((s) => s.resourceId === r.id).sort(byFromDate), tables, seen);
}

/** `statementLine` given the resource's own sizes, oldest first. */
function lineOf(month: string, r: BillableResource, history: SizeFrom[], tables: PriceTable[], seen: SeenRunning | null): StatementLine | null {
  const { first, last } = monthDays(month);
  const delivered = shanghaiDate(r.deliveredAt);
  const revoked = r.revokedAt ? shanghaiDate(r.revokedAt) : null;
  // Not billed yet (a 巴中 system not deployed): no day is billed, so `from` lies past every day.
  const billed = r.billedFrom === undefined ? delivered : r.billedFrom === null ? null : shanghaiDate(r.billedFrom);
  const from = billed === null ? "9999-12-31" : billed > first ? billed : first;
  const lastHeld = revoked ? addCalendarDays(revoked, -1) : last;
  const to = lastHeld < last ? lastHeld : last;
  const base = { resourceId: r.id, name: r.name, unitId: r.unitId, system: r.system, kind: r.kind };
  const runsOnAfterRevocation = seen && revoked && seen.last > revoked ? `撤销日期 ${revoked} 后仍有运行数据（至 ${seen.last}），资源可能未回收` : null;
  if (from > to) {
    if (!runsOnAfterRevocation) return null;
    const flags: LineFlag[] = revoked! >= first ? ["revoked", "dates"] : ["dates"];
    return { ...base, days: 0, amount: 0, segments: [], flags, mismatch: [runsOnAfterRevocation] };
  }
  const segments: Segment[] = [];
  let amount = 0;
  let unpriced = false;
  for (let day = from; day <= to; day = addCalendarDays(day, 1)) {
    const spec = history.findLast((s) => s.fromDate <= day)?.spec ?? history[0]?.spec ?? NO_SIZE;
    const table = tableOn(tables, day);
    const prices = table?.prices[r.kind as keyof PriceTable["prices"]];
    const charge = prices ? dayCharge(prices, spec) : null;
    if (charge === null) unpriced = true;
    else amount += charge;
    const previous = segments.at(-1);
    if (previous && previous.spec === spec && previous.version === (table?.version ?? null)) {
      previous.to = day;
      previous.days++;
    } else segments.push({ from: day, to: day, days: 1, spec, version: table?.version ?? null, dayPrice: charge === null ? null : charge / UNITS });
  }
  const flags: LineFlag[] = [];
  // New to the bill this month: from its delivery, or from its deployment where billing starts there.
  if (billed !== null && billed >= first && billed <= last) flags.push("new");
  if (history.some((s) => s.fromDate > delivered && s.fromDate >= first && s.fromDate <= last)) flags.push("adjusted");
  if (revoked && revoked >= first && revoked <= last) flags.push("revoked");
  if (r.kind === "backup") flags.push("backup");
  if (unpriced) flags.push("unpriced");
  const mismatch: string[] = [];
  if (seen && seen.first < delivered) mismatch.push(`${seen.first} 起已有运行数据，早于交付日期 ${delivered}`);
  if (runsOnAfterRevocation) mismatch.push(runsOnAfterRevocation);
  if (mismatch.length > 0) flags.push("dates");
  const days = segments.reduce((t, s) => t + s.days, 0);
  return { ...base, days, amount: Math.round(amount / 100) / 100, segments, flags, mismatch };
}

/** Every resource's line, and the totals per unit and overall, rounded to the fen. `seen` is keyed by resource id. */
export function statementFor(month: string, resources: BillableResource[], sizes: SizeFrom[], tables: PriceTable[], seen: ReadonlyMap<number, SeenRunning> = new Map()) {
  // Grouped once, not filtered per resource: a month's statement has hundreds of resources.
  const own = new Map<number, SizeFrom[]>();
  for (const s of sizes) {
    const list = own.get(s.resourceId);
    if (list) list.push(s);
    else own.set(s.resourceId, [s]);
  }
  for (const list of own.values()) list.sort(byFromDate);
  const lines = resources.map((r) => lineOf(month, r, own.get(r.id) ?? [], tables, seen.get(r.id) ?? null)).filter((l): l is StatementLine => l !== null);
  const units = new Map<string, number>();
  for (const l of lines) units.set(l.unitId, Math.round(((units.get(l.unitId) ?? 0) + l.amount) * 100) / 100);
  const total = Math.round(lines.reduce((t, l) => t + l.amount * 100, 0)) / 100;
  return { month, lines, units: [...units].map(([unitId, amount]) => ({ unitId, amount })), total };
}
