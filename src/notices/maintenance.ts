import { and, desc, eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { maintenanceNotices } from "../../db/schema";
import type { Card, CardTone } from "../../cards";
import { PROFILES } from "../../profiles";
import { shanghaiDate, shanghaiDateTime } from "../core/calendar";
import type { Actor, ServiceContext } from "../core/context";
import { conflict, forbidden, invalid, notFound, unprocessable } from "../core/errors";
import { mutate, refuse } from "../core/mutate";
import { enqueueCards } from "../core/notify";
import { parseInput } from "../core/validation";
import { affectedInput, instant, namesOf, recipients, resolveAffected, seesAll, text } from "./common";

// 平台变更 / 检修公告. 000 8.4: before an upgrade, optimisation or adjustment (重大变更) the provider "应书面告知
// 公共服务云平台监管部门，并进行安全影响分析、测试和验证"; 002 第三十条: 检修 that affects business "应提前…报告市政务
// 服务数据管理部门和业务部门". The provider announces the window beforehand, with its impact analysis and the units
// and resources affected; the reviewer (监管), the managers and the units affected are told; the notice is then
// cancelled or completed with its result, each told to the same people. The notice period is the profile's
// (profiles/common.ts: no document sets one).

export const MAINTENANCE_KINDS = { upgrade: "升级", change: "优化调整", maintenance: "检修" } as const;
export const MAINTENANCE_STATUS = { announced: "已公告", cancelled: "已取消", completed: "已完成" } as const;
type Kind = keyof typeof MAINTENANCE_KINDS;
type Status = keyof typeof MAINTENANCE_STATUS;

export const announceInput = z.strictObject({
  kind: z.enum(Object.keys(MAINTENANCE_KINDS) as [Kind, ...Kind[]], "类别应为 upgrade（升级）、change（优化调整）或 maintenance（检修）"),
  title: text(200, "公告标题"),
  windowStart: instant("窗口开始时间"),
  windowEnd: instant("窗口结束时间"),
  impact: text(4000, "影响分析"),
  verification: text(4000, "测试和验证情况").optional(),
  rollback: text(4000, "回退方案").optional(),
  ...affectedInput,
});
const cancelInput = z.strictObject({ id: z.int().positive(), reason: text(1000, "取消原因") });
const completeInput = z.strictObject({ id: z.int().positive(), result: text(4000, "实施结果") });

type Row = typeof maintenanceNotices.$inferSelect;

function rules(ctx: ServiceContext) {
  return PROFILES[ctx.profile].notices.maintenance;
}

/** What each card and view cites: the profile's articles, or the practice followed where its document has none. */
function basis(ctx: ServiceContext): string[] {
  const r = rules(ctx);
  return r.articles.length ? [...r.articles] : ["本地文件未专门规定，参照 000 8.4、002 第三十条"];
}

async function view(db: Db, ctx: ServiceContext, row: Row) {
  const { unitNames, resourceNames } = await namesOf(db, row.affectedUnits, row.affectedResources);
  return {
    id: row.id,
    kind: row.kind,
    kindText: MAINTENANCE_KINDS[row.kind as Kind],
    title: row.title,
    windowStart: row.windowStart.toISOString(),
    windowEnd: row.windowEnd.toISOString(),
    impact: row.impact,
    verification: row.verification,
    rollback: row.rollback,
    affectedUnits: row.affectedUnits.map((id, i) => ({ id, name: unitNames[i]! })),
    affectedResources: row.affectedResources.map((id, i) => ({ id, name: resourceNames[i]! })),
    status: row.status as Status,
    statusText: MAINTENANCE_STATUS[row.status as Status],
    result: row.result,
    cancelReason: row.cancelReason,
    announcedBy: row.announcedBy,
    announcedAt: row.announcedAt.toISOString(),
    closedBy: row.closedBy,
    closedAt: row.closedAt?.toISOString() ?? null,
    articles: basis(ctx),
  };
}
export type MaintenanceView = Awaited<ReturnType<typeof view>>;

function card(ctx: ServiceContext, row: Row, names: { unitNames: string[]; resourceNames: string[] }, title: string, summary: string, tone: CardTone): Card {
  return {
    title: `${title}：${row.title}`,
    tone,
    summary,
    fields: [
      { label: "类别", value: MAINTENANCE_KINDS[row.kind as Kind] },
      { label: "窗口", value: `${shanghaiDateTime(row.windowStart)} 至 ${shanghaiDateTime(row.windowEnd)}` },
      { label: "影响分析", value: row.impact },
      ...(row.verification ? [{ label: "测试和验证", value: row.verification }] : []),
      ...(row.rollback ? [{ label: "回退方案", value: row.rollback }] : []),
      ...(names.unitNames.length ? [{ label: "受影响单位", value: names.unitNames.join("、") }] : []),
      ...(names.resourceNames.length ? [{ label: "受影响资源", value: names.resourceNames.join("、") }] : []),
      { label: "依据", value: basis(ctx).join("；") },
    ],
    actions: [],
    link: `/api/maintenance/${row.id}`,
  };
}

async function assertProvider(ctx: ServiceContext, action: string, what: string): Promise<Actor> {
  if (!ctx.actor?.roles.includes("provider")) throw await refuse(ctx, action, `${what}由云服务商进行`);
  return ctx.actor;
}

/** 000 8.4; 002 第三十条: the provider announces a planned window at least the profile's notice period ahead. */
export async function announceMaintenance({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  const actor = await assertProvider(ctx, "maintenance.announce", "平台变更与检修公告");
  const d = parseInput(announceInput, input, "变更检修公告有误");
  const r = rules(ctx);
  const now = ctx.clock.now();
  if (d.windowEnd <= d.windowStart) throw invalid("窗口结束时间应晚于开始时间", { windowEnd: ["窗口结束时间应晚于开始时间"] });
  // 000 8.4: "进行安全影响分析、测试和验证" before the change: the notice says what was tested.
  if (r.verificationRequired && !d.verification)
    throw invalid("须说明变更前的测试和验证情况", { verification: [`${r.articles.join("；")}：变更前须进行安全影响分析、测试和验证，请填写测试和验证情况`] });
  if (d.affectedUnits.length === 0 && d.affectedResources.length === 0)
    throw invalid("请列出受影响的单位或资源", { affectedUnits: ["请列出受影响的单位（affectedUnits）或台账中的资源（affectedResources）"] });
  return mutate(ctx, { action: "maintenance.announce" }, async (tx, j) => {
    // The notice period in working days (profiles/common.ts; 002 第三十条 "应提前"): the window's first day is at
    // least N working days after today, Asia/Shanghai dates. Refused inside the change, so the refusal is audited;
    // a date past the loaded calendar is refused by it (422).
    const today = shanghaiDate(now);
    const earliest = ctx.calendar.addWorkdays(today, r.noticeWorkdays);
    if (shanghaiDate(d.windowStart) < earliest)
      throw unprocessable("too_early", `须提前 ${r.noticeWorkdays} 个工作日公告：今天公告的窗口最早 ${earliest} 开始（${r.noticeBasis}）`, {
        windowStart: [`窗口最早 ${earliest} 开始`],
      });
    const affected = await resolveAffected(tx, actor, d.affectedUnits, d.affectedResources);
    const [row] = await tx
      .insert(maintenanceNotices)
      .values({
        kind: d.kind,
        title: d.title,
        windowStart: d.windowStart,
        windowEnd: d.windowEnd,
        impact: d.impact,
        verification: d.verification ?? null,
        rollback: d.rollback ?? null,
        affectedUnits: affected.unitIds,
        affectedResources: affected.resourceIds,
        status: "announced",
        announcedBy: actor.userId,
        announcedAt: now,
        updatedAt: now,
      })
      .returning();
    j.add({
      action: "maintenance.announce",
      details: { id: row!.id, kind: d.kind, windowStart: d.windowStart.toISOString(), windowEnd: d.windowEnd.toISOString(), units: affected.unitIds, resources: affected.resourceIds },
    });
    const told = await recipients(tx, affected.unitIds, actor.userId);
    const summary = `计划于 ${shanghaiDateTime(d.windowStart)} 至 ${shanghaiDateTime(d.windowEnd)} 实施，请提前做好业务安排`;
    await enqueueCards(tx, now, told, "maintenance", card(ctx, row!, affected, `${MAINTENANCE_KINDS[d.kind]}公告`, summary, "warning"), `maintenance:${row!.id}:announced`);
    return view(tx, ctx, row!);
  });
}

/** Cancels (announced → cancelled, with a reason) or completes (announced → completed, once the window has begun). */
async function close(ctx: ServiceContext, id: number, to: "cancelled" | "completed", words: string) {
  const actor = ctx.actor!;
  const action = to === "cancelled" ? "maintenance.cancel" : "maintenance.complete";
  return mutate(ctx, { action }, async (tx, j) => {
    const [row] = await tx.select().from(maintenanceNotices).where(eq(maintenanceNotices.id, id)).for("update");
    if (!row) throw notFound(`没有编号为 ${id} 的变更检修公告`);
    if (row.status !== "announced")
      throw conflict("invalid_stage", `只有已公告的变更检修可以${to === "cancelled" ? "取消" : "报告完成"}（当前状态：${MAINTENANCE_STATUS[row.status as Status]}）`);
    const now = ctx.clock.now();
    if (to === "completed" && now < row.windowStart)
      throw unprocessable("too_early", `窗口 ${shanghaiDateTime(row.windowStart)} 开始前不能报告实施完成；不再实施请取消公告`);
    const [next] = await tx
      .update(maintenanceNotices)
      .set({ status: to, ...(to === "cancelled" ? { cancelReason: words } : { result: words }), closedBy: actor.userId, closedAt: now, updatedAt: now })
      .where(eq(maintenanceNotices.id, row.id))
      .returning();
    j.add({ action, details: { id: row.id } });
    const names = await namesOf(tx, next!.affectedUnits, next!.affectedResources);
    const told = await recipients(tx, next!.affectedUnits, actor.userId);
    const kindText = MAINTENANCE_KINDS[row.kind as Kind];
    const c = to === "cancelled" ? card(ctx, next!, names, `${kindText}取消`, `已取消：${words}`, "info") : card(ctx, next!, names, `${kindText}完成`, words, "success");
    await enqueueCards(tx, now, told, "maintenance", c, `maintenance:${row.id}:${to}`);
    return view(tx, ctx, next!);
  });
}

export async function cancelMaintenance({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  await assertProvider(ctx, "maintenance.cancel", "取消变更检修公告");
  const d = parseInput(cancelInput, input, "取消原因有误");
  return close(ctx, d.id, "cancelled", d.reason);
}

export async function completeMaintenance({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  await assertProvider(ctx, "maintenance.complete", "报告变更检修结果");
  const d = parseInput(completeInput, input, "实施结果有误");
  return close(ctx, d.id, "completed", d.result);
}

function mayView(actor: Actor, row: Row): boolean {
  return seesAll(actor) || row.affectedUnits.includes(actor.unitId);
}

/** The notices the actor may see, by window start, latest first: all for the city's roles, those affecting their unit for anyone else. */
export async function listMaintenance({ ctx, input = {} }: { ctx: ServiceContext; input?: { status?: Status } }) {
  const actor = ctx.actor;
  if (!actor) throw forbidden("请先登录");
  const rows = await ctx.db
    .select()
    .from(maintenanceNotices)
    .where(
      and(
        seesAll(actor) ? undefined : sql`${maintenanceNotices.affectedUnits} @> ${JSON.stringify([actor.unitId])}::jsonb`,
        input.status ? eq(maintenanceNotices.status, input.status) : undefined,
      ),
    )
    .orderBy(desc(maintenanceNotices.windowStart), desc(maintenanceNotices.id));
  return Promise.all(rows.map((r) => view(ctx.db, ctx, r)));
}

export async function getMaintenance({ ctx, input }: { ctx: ServiceContext; input: { id: number } }) {
  const actor = ctx.actor;
  if (!actor) throw forbidden("请先登录");
  const [row] = await ctx.db.select().from(maintenanceNotices).where(eq(maintenanceNotices.id, input.id));
  if (!row || !mayView(actor, row)) throw notFound(`没有编号为 ${input.id} 的变更检修公告`);
  return view(ctx.db, ctx, row);
}
