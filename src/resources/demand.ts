import { and, eq, inArray, isNotNull, ne, notInArray, or, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { z } from "zod";
import type { Db } from "../../db/client";
import { requests, units, users, yearlyDemands } from "../../db/schema";
import type { Card } from "../../cards";
import { shanghaiDate } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { usersWithRole } from "../directory/queries";
import { mutate, refuse } from "../core/mutate";
import { enqueueCards } from "../core/notify";
import { unprocessable } from "../core/errors";
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
  };
}

/**
 * Whether a 云资源申请 is covered by its unit's demand for the year: everything the unit has asked for this
 * year (not rejected or withdrawn), this one included, within the figures. Not covered is flagged to the manager.
 * A resubmitted request (`self`) counts once, at its new totals.
 */
export async function demandCoverage(tx: Db, unitId: string, year: number, totals: Totals, self?: number) {
  const [demand] = await tx.select().from(yearlyDemands).where(and(eq(yearlyDemands.year, year), eq(yearlyDemands.unitId, unitId)));
  if (!demand) return { covered: false, text: `未列入 ${year} 年度资源需求` };
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
  const asked = earlier.reduce(
    (t, r) => {
      const f = (r.facts as { totals: Totals }).totals;
      return { vcpu: t.vcpu + f.vcpu, memoryGb: t.memoryGb + f.memoryGb, storageGb: t.storageGb + f.storageGb };
    },
    { vcpu: totals.vcpu, memoryGb: totals.memoryGb, storageGb: totals.storageGb },
  );
  const over = (["vcpu", "memoryGb", "storageGb"] as const).filter((k) => asked[k] > demand[k]);
  if (over.length === 0) return { covered: true, text: `在 ${year} 年度资源需求内` };
  const label = { vcpu: "核", memoryGb: "G 内存", storageGb: "G 存储" } as const;
  return { covered: false, text: `超出 ${year} 年度资源需求：${over.map((k) => `已申请 ${asked[k]}${label[k]}，需求 ${demand[k]}${label[k]}`).join("；")}` };
}

/**
 * From August to the end of September, the applicants of units without next year's figures are reminded:
 * once in August and again from 20 September.
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
}
