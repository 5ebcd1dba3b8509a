import { and, eq, inArray, isNotNull, isNull, ne, notInArray, or, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { z } from "zod";
import type { Db } from "../../db/client";
import { planConsents, requests, units, users, yearlyDemands } from "../../db/schema";
import { PROFILES, type ProfileModule } from "../../profiles";
import { isIsoDate } from "../core/calendar-schedule";
import { holdFile } from "../files";
import type { Card } from "../../cards";
import { shanghaiDate } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { usersWithRole } from "../directory/queries";
import { mutate, refuse } from "../core/mutate";
import { enqueueCards } from "../core/notify";
import { conflict, forbidden, invalid, unprocessable } from "../core/errors";
import { parseInput } from "../core/validation";
import { seesEveryUnit } from "../core/roles";
import type { Totals } from "./catalog";

// Flow 7: 年度资源需求 (002 第十七条; 003 第十四条). Due by 30 September for the next year.
const DUE = "09-30";
// The same date as people read it: "9 月 30 日".
const DUE_TEXT = `${Number(DUE.slice(0, 2))} 月 ${Number(DUE.slice(3))} 日`;

/** A demand year, from a path segment or a body. */
export const demandYear = z.coerce.number().int().min(2024).max(2100);

export const demandInput = z.strictObject({
  year: demandYear,
  vcpu: z.int().min(0).max(1_000_000),
  memoryGb: z.int().min(0).max(10_000_000),
  storageGb: z.int().min(0).max(100_000_000),
  note: z.string().trim().max(2000).default(""),
});

/** An applicant submits (or revises) their unit's expected resources for next year. */
export async function submitDemand({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  const actor = ctx.actor;
  if (!actor?.roles.includes("applicant")) throw await refuse(ctx, "demand.submit", "年度资源需求由使用单位的申请人填报");
  const d = parseInput(demandInput, input, "年度资源需求有误");
  const today = shanghaiDate(ctx.clock.now());
  const thisYear = Number(today.slice(0, 4));
  if (d.year !== thisYear + 1) throw unprocessable("wrong_year", `只能填报下一年（${thisYear + 1} 年）的资源需求`);
  const late = today > `${thisYear}-${DUE}`;
  return mutate(ctx, { action: "demand.submit" }, async (tx, j) => {
    const now = ctx.clock.now();
    const row = {
      vcpu: d.vcpu,
      memoryGb: d.memoryGb,
      storageGb: d.storageGb,
      note: d.note,
      submittedBy: actor.userId,
      submittedAt: now,
      passedBy: null,
      passedAt: null,
      supervisedBy: null,
      supervisedAt: null,
    };
    // A revision has to be passed on again by the 主管单位 and the county bureau.
    await tx.insert(yearlyDemands).values({ year: d.year, unitId: actor.unitId, ...row }).onConflictDoUpdate({ target: [yearlyDemands.year, yearlyDemands.unitId], set: row });
    j.add({ action: "demand.submit", details: { year: d.year, unitId: actor.unitId, vcpu: d.vcpu, memoryGb: d.memoryGb, storageGb: d.storageGb, late } });
    return { year: d.year, unitId: actor.unitId, late, message: late ? `已填报，但已过 ${thisYear} 年 ${DUE_TEXT}的填报期限` : "已填报" };
  });
}

const passInput = z.strictObject({ year: demandYear });

/**
 * A county bureau passes its units' figures on to the city: a 下属单位's only once its 主管单位 has passed them
 * on (002 第十七条(一)).
 */
export async function passDemands({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  const actor = ctx.actor;
  if (!actor?.roles.includes("county_bureau")) throw await refuse(ctx, "demand.pass", "由县级数据局汇总上报");
  const { year } = parseInput(passInput, input, "参数有误");
  return mutate(ctx, { action: "demand.pass" }, async (tx, j) => {
    const inCounty = tx.select({ id: units.id }).from(units).where(eq(units.parentId, actor.unitId));
    const awaitingSupervisor = tx.select({ id: units.id }).from(units).where(isNotNull(units.supervisorId));
    const passed = await tx
      .update(yearlyDemands)
      .set({ passedBy: actor.userId, passedAt: ctx.clock.now() })
      .where(
        and(
          eq(yearlyDemands.year, year),
          inArray(yearlyDemands.unitId, inCounty),
          or(isNotNull(yearlyDemands.supervisedAt), notInArray(yearlyDemands.unitId, awaitingSupervisor)),
        ),
      )
      .returning({ unitId: yearlyDemands.unitId });
    j.add({ action: "demand.pass", details: { year, county: actor.unitId, units: passed.map((p) => p.unitId) } });
    return { year, passed: passed.length };
  });
}

/**
 * 002 第十七条(一) "下属单位需求由主管单位统一汇总报送": a 主管单位审核人 passes on (汇总报送) the figures its 下属单位
 * have submitted for the year. Then they reach the city (a county 下属单位's through its county bureau). The 下属单位
 * that have not submitted yet are named, so the 主管单位 knows whom to chase; passing again later takes theirs too.
 */
export async function aggregateDemands({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  const actor = ctx.actor;
  if (!actor?.roles.includes("unit_supervisor")) throw await refuse(ctx, "demand.aggregate", "下属单位的年度资源需求由主管单位统一汇总报送（002 第十七条）");
  const { year } = parseInput(passInput, input, "参数有误");
  return mutate(ctx, { action: "demand.aggregate" }, async (tx, j) => {
    const subordinates = await tx.select({ id: units.id, name: units.name }).from(units).where(eq(units.supervisorId, actor.unitId));
    const ids = subordinates.map((u) => u.id);
    const passed =
      ids.length === 0
        ? []
        : await tx
            .update(yearlyDemands)
            .set({ supervisedBy: actor.userId, supervisedAt: ctx.clock.now() })
            .where(and(eq(yearlyDemands.year, year), inArray(yearlyDemands.unitId, ids)))
            .returning({ unitId: yearlyDemands.unitId });
    const done = new Set(passed.map((p) => p.unitId));
    const missing = subordinates.filter((u) => !done.has(u.id));
    j.add({ action: "demand.aggregate", details: { year, supervisor: actor.unitId, units: [...done], missing: missing.map((u) => u.id) } });
    return { year, passed: passed.length, missing: missing.map((u) => u.name) };
  });
}

/**
 * The year's figures: per unit, per county, per 主管单位 and for the city. The city sees every unit (county units
 * once their bureau has passed them on, 下属单位 once their 主管单位 has); a county bureau its county (its 下属单位
 * once passed on by their 主管单位); a 主管单位审核人 its 下属单位; anyone their own unit.
 */
export async function demandOverview({ ctx, input }: { ctx: ServiceContext; input: { year: number } }) {
  const actor = ctx.actor!;
  const passer = alias(users, "passer");
  const supervisorUser = alias(users, "supervisor_user");
  const rows = await ctx.db
    .select({
      d: yearlyDemands,
      unitName: units.name,
      parentId: units.parentId,
      supervisorId: units.supervisorId,
      parentKind: sql<string | null>`(select kind from units p where p.id = ${units.parentId})`,
      passedByName: passer.name,
      supervisedByName: supervisorUser.name,
    })
    .from(yearlyDemands)
    .innerJoin(units, eq(units.id, yearlyDemands.unitId))
    .leftJoin(passer, eq(passer.id, yearlyDemands.passedBy))
    .leftJoin(supervisorUser, eq(supervisorUser.id, yearlyDemands.supervisedBy))
    .where(eq(yearlyDemands.year, input.year));
  const city = seesEveryUnit(actor);
  // 002 第十七条: a 下属单位's figures go up once its 主管单位 has passed them on; a county unit's once its bureau has.
  const pastSupervisor = (r: (typeof rows)[number]) => r.supervisorId === null || r.d.supervisedAt !== null;
  const visible = rows.filter((r) => {
    const { d, parentId, parentKind, supervisorId } = r;
    if (city) return pastSupervisor(r) && (parentKind !== "county" || d.passedAt !== null);
    if (d.unitId === actor.unitId) return true;
    if (actor.roles.includes("unit_supervisor") && supervisorId === actor.unitId) return true;
    return actor.roles.includes("county_bureau") && parentId === actor.unitId && pastSupervisor(r);
  });
  const sum = (list: typeof visible) =>
    list.reduce((t, { d }) => ({ vcpu: t.vcpu + d.vcpu, memoryGb: t.memoryGb + d.memoryGb, storageGb: t.storageGb + d.storageGb }), { vcpu: 0, memoryGb: 0, storageGb: 0 });
  const counties = new Map<string, typeof visible>();
  for (const r of visible) if (r.parentKind === "county") counties.set(r.parentId!, [...(counties.get(r.parentId!) ?? []), r]);
  const supervisors = new Map<string, typeof visible>();
  for (const r of visible) if (r.supervisorId !== null) supervisors.set(r.supervisorId, [...(supervisors.get(r.supervisorId) ?? []), r]);
  return {
    year: input.year,
    units: visible.map(({ d, unitName, parentKind, supervisorId, passedByName, supervisedByName }) => ({
      unitId: d.unitId,
      unitName,
      vcpu: d.vcpu,
      memoryGb: d.memoryGb,
      storageGb: d.storageGb,
      note: d.note,
      submittedAt: d.submittedAt,
      passedAt: parentKind === "county" ? d.passedAt : null,
      passedBy: parentKind === "county" ? passedByName : null,
      // 002 第十七条(一): the 主管单位 of a 下属单位, and who of it passed the figures on, when.
      supervisorId,
      supervisedAt: supervisorId === null ? null : d.supervisedAt,
      supervisedBy: supervisorId === null ? null : supervisedByName,
    })),
    counties: [...counties].map(([countyId, list]) => ({ countyId, ...sum(list) })),
    // Each 主管单位's 下属单位 together (汇总), as far as the reader sees them.
    supervisors: [...supervisors].map(([supervisorId, list]) => ({ supervisorId, units: list.length, ...sum(list) })),
    total: sum(visible),
    // 003 第十四条: the city government's consent of the year's plan, where the profile has one (the city's roles).
    consent: city ? await planConsentOf(ctx.db, input.year) : null,
  };
}

/**
 * What the unit has asked for this year in 云资源申请 (not rejected or withdrawn), this one (`totals`) included; a
 * resubmitted request (`self`) counts once, at its new totals. `except` leaves out requests whose facts it matches.
 */
async function askedThisYear(tx: Db, unitId: string, year: number, totals: Totals, self?: number, except?: (facts: unknown) => boolean) {
  const earlier = await tx
    .select({ facts: requests.facts })
    .from(requests)
    .where(
      and(
        eq(requests.unitId, unitId),
        eq(requests.flow, "application"),
        ne(requests.status, "rejected"),
        ne(requests.status, "withdrawn"),
        self === undefined ? undefined : ne(requests.id, self),
        sql`extract(year from ${requests.submittedAt} at time zone 'Asia/Shanghai') = ${year}`,
      ),
    );
  return earlier
    .filter((r) => !except?.(r.facts))
    .reduce(
      (t, r) => {
        const f = (r.facts as { totals: Totals }).totals;
        return { vcpu: t.vcpu + f.vcpu, memoryGb: t.memoryGb + f.memoryGb, storageGb: t.storageGb + f.storageGb };
      },
      { vcpu: totals.vcpu, memoryGb: totals.memoryGb, storageGb: totals.storageGb },
    );
}

const FIGURES = ["vcpu", "memoryGb", "storageGb"] as const;
const FIGURE_UNITS = { vcpu: "核", memoryGb: "G 内存", storageGb: "G 存储" } as const;
type Figures = Record<(typeof FIGURES)[number], number>;
const beyond = (asked: Figures, limit: Figures, what: string) =>
  FIGURES.filter((k) => asked[k] > limit[k])
    .map((k) => `已申请 ${asked[k]}${FIGURE_UNITS[k]}，${what} ${limit[k]}${FIGURE_UNITS[k]}`)
    .join("；");

/**
 * Whether a 云资源申请 is covered by its unit's demand for the year: everything the unit has asked for this
 * year (not rejected or withdrawn), this one included, within the figures. Not covered is flagged to the manager.
 * A resubmitted request (`self`) counts once, at its new totals.
 */
export async function demandCoverage(tx: Db, unitId: string, year: number, totals: Totals, self?: number) {
  const [demand] = await tx.select().from(yearlyDemands).where(and(eq(yearlyDemands.year, year), eq(yearlyDemands.unitId, unitId)));
  if (!demand) return { covered: false, text: `未列入 ${year} 年度资源需求` };
  const over = beyond(await askedThisYear(tx, unitId, year, totals, self), demand, "需求");
  if (!over) return { covered: true, text: `在 ${year} 年度资源需求内` };
  return { covered: false, text: `超出 ${year} 年度资源需求：${over}` };
}

/** Whether an application is within its year's consented plan (003 第十四条); kept in its facts at submission. */
export interface PlanCoverage {
  planned: boolean;
  text: string;
  /** The 文号 of the city government's consent of the plan it was measured against, when there is one. */
  docNo?: string;
}

/**
 * 巴中 003 第十四条: "列入年度计划" read on the figures. An application is in the year's plan when the city
 * government has consented to that year's plan (recordPlanConsent), the plan holds its unit's demand, and what the
 * unit has asked for this year — this one included, not counting rejected or withdrawn requests nor those that went
 * to the city government on their own (an earlier 未列入计划 request, `plan.planned` false) — stays within that
 * demand as consented, in vCPU, memory and storage alike. Otherwise it is 未列入年度计划: it needs its own 审定同意.
 */
export async function planCoverage(tx: Db, unitId: string, year: number, totals: Totals, self?: number): Promise<PlanCoverage> {
  const [consent] = await tx.select().from(planConsents).where(eq(planConsents.year, year));
  if (!consent) return { planned: false, text: `${year} 年度政务云资源采购计划尚未经市人民政府审定同意` };
  const mine = consent.units.find((u) => u.unitId === unitId);
  if (!mine) return { planned: false, text: `本单位需求未列入 ${year} 年度政务云资源采购计划（${consent.docNo}）`, docNo: consent.docNo };
  const separately = (facts: unknown) => (facts as { plan?: PlanCoverage }).plan?.planned === false;
  const over = beyond(await askedThisYear(tx, unitId, year, totals, self, separately), mine, "计划");
  if (!over) return { planned: true, text: `已列入 ${year} 年度计划（${consent.docNo}）`, docNo: consent.docNo };
  return { planned: false, text: `超出 ${year} 年度计划（${consent.docNo}）：${over}`, docNo: consent.docNo };
}

const consentInput = z.strictObject({
  year: demandYear,
  docNo: z.string({ error: "请填写市人民政府审定同意的文号" }).trim().min(1, "请填写市人民政府审定同意的文号").max(100, "文号不超过 100 字"),
  consentedOn: z.string({ error: "请填写审定同意日期（YYYY-MM-DD）" }).refine(isIsoDate, "审定同意日期应为存在的日期 YYYY-MM-DD"),
  fileId: z.string().trim().min(1).max(100).optional(),
});
export const planConsentBody = consentInput.omit({ year: true });

/** The plan consented for `year`, or null. */
export async function planConsentOf(db: Db, year: number) {
  const [row] = await db.select().from(planConsents).where(eq(planConsents.year, year));
  if (!row) return null;
  const total = row.units.reduce((t, u) => ({ vcpu: t.vcpu + u.vcpu, memoryGb: t.memoryGb + u.memoryGb, storageGb: t.storageGb + u.storageGb }), { vcpu: 0, memoryGb: 0, storageGb: 0 });
  return { year: row.year, docNo: row.docNo, consentedOn: row.consentedOn, fileId: row.fileId, units: row.units, total, recordedBy: row.recordedBy, recordedAt: row.recordedAt };
}

/**
 * 巴中 003 第十四条: a manager records that the city government (市人民政府) consented to the year's 政务云资源采购
 * 计划 — its 文号, date and, optionally, the document. The plan is the year's demands as the city sees them at that
 * moment (its own units', and county units' once their bureau passed them on), kept as consented. Once per year.
 */
export async function recordPlanConsent({ ctx, input }: { ctx: ServiceContext; input: unknown }) {
  const actor = ctx.actor;
  if (!actor?.roles.includes("manager")) throw forbidden("市人民政府审定同意由统筹管理单位（市政务服务和大数据管理局）登记");
  const article = (PROFILES[ctx.profile] as ProfileModule).planConsent;
  if (!article) throw unprocessable("not_allowed", "本地区管理办法未规定年度计划报市人民政府审定");
  const d = parseInput(consentInput, input, "审定同意登记有误");
  const today = shanghaiDate(ctx.clock.now());
  if (d.consentedOn > today) throw invalid("审定同意登记有误", { consentedOn: [`审定同意日期不能晚于今天（${today}）`] });
  return mutate(ctx, { action: "demand.plan_consent" }, async (tx, j) => {
    const [already] = await tx.select().from(planConsents).where(eq(planConsents.year, d.year));
    if (already) throw conflict("already_decided", `${d.year} 年度计划的审定同意已登记（${already.docNo}，${already.consentedOn}）`);
    const rows = await tx
      .select({ d: yearlyDemands, parentKind: sql<string | null>`(select kind from units p where p.id = ${units.parentId})` })
      .from(yearlyDemands)
      .innerJoin(units, eq(units.id, yearlyDemands.unitId))
      .where(eq(yearlyDemands.year, d.year))
      .orderBy(yearlyDemands.unitId);
    const plan = rows
      .filter((r) => r.parentKind !== "county" || r.d.passedAt !== null)
      .map(({ d: u }) => ({ unitId: u.unitId, vcpu: u.vcpu, memoryGb: u.memoryGb, storageGb: u.storageGb }));
    if (plan.length === 0) throw unprocessable("not_allowed", `${d.year} 年度没有已填报（或已由县级数据局报送）的资源需求，没有可登记审定同意的计划`);
    if (d.fileId) await holdFile(tx, actor, d.fileId, { holder: `plan:${d.year}`, field: "fileId", purpose: "plan_consent", purposeName: "市人民政府审定同意文件" });
    // Two managers at once: the second is told, as if it had come after (no row to lock before the first commits).
    const inserted = await tx
      .insert(planConsents)
      .values({ year: d.year, docNo: d.docNo, consentedOn: d.consentedOn, fileId: d.fileId ?? null, units: plan, recordedBy: actor.userId, recordedAt: ctx.clock.now() })
      .onConflictDoNothing()
      .returning({ year: planConsents.year });
    if (inserted.length === 0) throw conflict("already_decided", `${d.year} 年度计划的审定同意已由他人登记`);
    j.add({ action: "demand.plan_consent", details: { year: d.year, docNo: d.docNo, consentedOn: d.consentedOn, fileId: d.fileId ?? null, units: plan, article } });
    return (await planConsentOf(tx, d.year))!;
  });
}

/**
 * From August to the end of September, the applicants of units without next year's figures are reminded:
 * once in August and again from 20 September, when 主管单位 are also told of 下属单位' figures left to pass on.
 */
export async function remindYearlyDemand(ctx: ServiceContext): Promise<void> {
  const today = shanghaiDate(ctx.clock.now());
  const md = today.slice(5);
  if (md < "08-01" || md > DUE) return;
  const phase = md >= "09-20" ? "final" : "first";
  const year = Number(today.slice(0, 4)) + 1;
  const submitted = new Set((await ctx.db.select({ unitId: yearlyDemands.unitId }).from(yearlyDemands).where(eq(yearlyDemands.year, year))).map((r) => r.unitId));
  const applicants = (await usersWithRole(ctx.db, "applicant")).filter((u) => !submitted.has(u.unitId));
  const byUnit = new Map<string, string[]>();
  for (const u of applicants) byUnit.set(u.unitId, [...(byUnit.get(u.unitId) ?? []), u.id]);
  const card: Card = {
    title: "年度资源需求填报",
    tone: phase === "final" ? "warning" : "info",
    summary: `请于 ${year - 1} 年 ${DUE_TEXT}前填报本单位 ${year} 年的云资源需求（vCPU、内存、存储）`,
    fields: [{ label: "年度", value: String(year) }],
    actions: [],
    link: "",
  };
  // The same card for every unit; the key stays per unit, so each unit's reminder is sent once.
  for (const [unitId, people] of byUnit) await enqueueCards(ctx.db, ctx.clock.now(), people, "demand", card, `demand:${year}:${unitId}:${phase}`);
  if (phase === "final") await remindSupervisors(ctx, year);
}

/**
 * 002 第十七条(一) "下属单位需求由主管单位统一汇总报送": from 20 September, a 主管单位's 审核人 are told which of its
 * 下属单位' figures wait for them to be passed on; told again when a 下属单位 enters or revises figures since.
 */
async function remindSupervisors(ctx: ServiceContext, year: number): Promise<void> {
  const waiting = await ctx.db
    .select({ unitName: units.name, supervisorId: units.supervisorId, submittedAt: yearlyDemands.submittedAt })
    .from(yearlyDemands)
    .innerJoin(units, eq(units.id, yearlyDemands.unitId))
    .where(and(eq(yearlyDemands.year, year), isNotNull(units.supervisorId), isNull(yearlyDemands.supervisedAt)))
    .orderBy(units.name);
  const bySupervisor = new Map<string, typeof waiting>();
  for (const w of waiting) bySupervisor.set(w.supervisorId!, [...(bySupervisor.get(w.supervisorId!) ?? []), w]);
  for (const [supervisorId, list] of bySupervisor) {
    const reviewers = await usersWithRole(ctx.db, "unit_supervisor", { unitId: supervisorId });
    const latest = Math.max(...list.map((w) => w.submittedAt.getTime()));
    const card: Card = {
      title: "下属单位年度资源需求待汇总报送",
      tone: "warning",
      summary: `${list.map((w) => w.unitName).join("、")}已填报 ${year} 年的云资源需求，请于 ${year - 1} 年 ${DUE_TEXT}前汇总报送（002 第十七条(一)）`,
      fields: [
        { label: "年度", value: String(year) },
        { label: "待汇总的下属单位", value: `${list.length} 个` },
      ],
      actions: [],
      link: "",
      open: { label: "打开年度需求", path: `/demands/${year}` },
    };
    await enqueueCards(ctx.db, ctx.clock.now(), reviewers.map((u) => u.id), "demand", card, `demand:${year}:aggregate:${supervisorId}:${latest}`);
  }
}
