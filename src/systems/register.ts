import { and, asc, eq, inArray, or, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { systems, units } from "../../db/schema";
import { shanghaiDate } from "../core/calendar";
import { isIsoDate } from "../core/calendar-schedule";
import type { Actor, ServiceContext } from "../core/context";
import { conflict, forbidden, invalid, notFound } from "../core/errors";
import { mutate } from "../core/mutate";
import { seesEveryUnit } from "../core/roles";
import { parseInput } from "../core/validation";
import { holdFile } from "../files";

// 004 第二条: the 实施细则 applies to 已纳入梅州节点云平台资源需求的自建非涉密政务信息系统. The register is the
// "政务大数据中心梅州分节点相关系统资料" an application's system name must match (第十二条(二)1): each system with
// its unit, whether it is an existing system moving to the cloud or a new one (第十二条(二)2 asks a different
// basis of each), its 立项 reference, and the unit's declaration that it is 非涉密. The system's 等保 (第三十八条)
// and 商用密码应用安全性评估 (第四十条) records are kept on it, since they outlive any one request.

export const SYSTEM_KINDS = { migration: "已建系统迁云", new: "新建系统上云" } as const;
export type SystemKind = keyof typeof SYSTEM_KINDS;
/** 等级保护 levels (GB/T 22240): 第一级 … 第五级. */
export const MLPS_LEVELS = { 1: "第一级", 2: "第二级", 3: "第三级", 4: "第四级", 5: "第五级" } as const;
/** 商用密码应用安全性评估 conclusions (GM/T 0115): 符合, 基本符合, 不符合. */
export const CRYPTO_RESULTS = { pass: "符合", basic: "基本符合", fail: "不符合" } as const;
export type CryptoResult = keyof typeof CRYPTO_RESULTS;

const text = (max: number, what: string) => z.string({ error: `请填写${what}` }).trim().min(1, `请填写${what}`).max(max, `${what}不超过 ${max} 字`);
const fileId = z.string().trim().min(1).max(100);
const pastDate = (what: string) => z.string({ error: `请填写${what}` }).refine(isIsoDate, `${what}无效，应为存在的 YYYY-MM-DD`);

export const registerInput = z.strictObject({
  // A manager registers a system for a unit it names; a unit's applicant registers its own (unitId omitted).
  unitId: z.string().trim().min(1).max(64).optional(),
  // As in the 立项方案 and the 实施方案, character for character (第十二条(二)1): no trimming inside the name.
  name: text(100, "政务信息系统名称").refine((s) => s.length >= 2, "系统名称至少 2 个字"),
  kind: z.enum(Object.keys(SYSTEM_KINDS) as [SystemKind], `系统类型应为 migration（${SYSTEM_KINDS.migration}）或 new（${SYSTEM_KINDS.new}）`),
  approvalRef: text(200, "立项批复文号或立项依据"),
  approvalFileId: fileId.optional(),
  // 第二条: only 非涉密 systems come under the 实施细则; a classified system is not registered at all.
  nonClassified: z.literal(true, "本细则仅适用于非涉密政务信息系统（004 第二条）：请确认本系统不涉及国家秘密；涉密系统不得在政务云登记"),
});

// 第三十八条: 定级、备案 … 信息安全等级测评; 第四十条: 商用密码应用安全性评估. Each block is recorded whole.
const mlpsInput = z.strictObject({
  level: z.int("等保级别应为 1–5（第一级至第五级）").min(1, "等保级别应为 1–5（第一级至第五级）").max(5, "等保级别应为 1–5（第一级至第五级）"),
  filedOn: pastDate("备案日期"),
  recordNo: text(100, "备案证明编号"),
  testedOn: pastDate("等级测评日期").optional(),
  fileId: fileId.optional(),
});
const cryptoInput = z.strictObject({
  assessedOn: pastDate("密评日期"),
  result: z.enum(Object.keys(CRYPTO_RESULTS) as [CryptoResult], "密评结论应为 pass（符合）、basic（基本符合）或 fail（不符合）"),
  fileId: fileId.optional(),
});
/** What PATCH /api/systems/{id} takes: any of these, each block whole. */
export const updateBody = z.strictObject({
  approvalRef: text(200, "立项批复文号或立项依据").optional(),
  approvalFileId: fileId.optional(),
  mlps: mlpsInput.optional(),
  crypto: cryptoInput.optional(),
});
export const updateInput = updateBody
  .extend({ id: z.int().positive() })
  .refine((v) => Object.keys(v).length > 1, { message: "没有要更新的内容", path: ["mlps"] });

type Row = typeof systems.$inferSelect;

export function systemView(row: Row & { unitName?: string }) {
  return {
    id: row.id,
    unitId: row.unitId,
    unitName: row.unitName ?? null,
    name: row.name,
    kind: row.kind,
    kindText: SYSTEM_KINDS[row.kind],
    approvalRef: row.approvalRef,
    approvalFileId: row.approvalFileId,
    nonClassified: { by: row.nonClassifiedBy, at: row.nonClassifiedAt.toISOString() },
    mlps:
      row.mlpsLevel === null
        ? null
        : {
            level: row.mlpsLevel,
            levelText: MLPS_LEVELS[row.mlpsLevel as keyof typeof MLPS_LEVELS],
            filedOn: row.mlpsFiledOn!,
            recordNo: row.mlpsRecordNo!,
            testedOn: row.mlpsTestedOn,
            fileId: row.mlpsFileId,
          },
    crypto:
      row.cryptoAssessedOn === null
        ? null
        : { assessedOn: row.cryptoAssessedOn, result: row.cryptoResult as CryptoResult, resultText: CRYPTO_RESULTS[row.cryptoResult as CryptoResult], fileId: row.cryptoFileId },
    registeredBy: row.registeredBy,
    registeredAt: row.registeredAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
export type SystemView = ReturnType<typeof systemView>;

/** Which systems the actor may read: the city's roles all, a county bureau its county's units', anyone else its own unit's. */
function visibleTo(db: Db, actor: Actor): SQL | undefined {
  if (seesEveryUnit(actor)) return undefined;
  const own = eq(systems.unitId, actor.unitId);
  if (!actor.roles.includes("county_bureau")) return own;
  return or(own, inArray(systems.unitId, db.select({ id: units.id }).from(units).where(eq(units.parentId, actor.unitId))));
}

function assertActor(actor: Actor | null): asserts actor is Actor {
  if (!actor) throw forbidden("系统登记需要以具体用户身份进行");
}

/** Who may register or update a unit's system: its own applicants, or a manager (the portal shows its forms to them). */
export function mayKeepSystem(actor: Actor, unitId: string): boolean {
  return actor.roles.includes("manager") || (actor.roles.includes("applicant") && actor.unitId === unitId);
}

/** Within the verb's mutation, so that a refusal is audited (invariant 4). */
function assertKeeper(actor: Actor, unitId: string) {
  if (mayKeepSystem(actor, unitId)) return;
  if (!actor.roles.includes("applicant")) throw forbidden("系统登记由使用单位的申请人或统筹管理单位办理");
  if (actor.unitId !== unitId) throw forbidden("只能登记或更新本单位的系统");
}

const today = (ctx: ServiceContext) => shanghaiDate(ctx.clock.now());
function notInFuture(ctx: ServiceContext, dates: [string, string | undefined][]) {
  const day = today(ctx);
  const late = dates.filter(([, d]) => d !== undefined && d > day);
  if (late.length > 0) throw invalid("日期不能晚于今天", Object.fromEntries(late.map(([f]) => [f, [`不能晚于今天（${day}）`]])));
}

/** 004 第二条: registers a 非涉密政务信息系统 of a unit, with its 立项 reference. */
export async function registerSystem({ ctx, input }: { ctx: ServiceContext; input: unknown }): Promise<SystemView> {
  const actor = ctx.actor;
  assertActor(actor);
  const d = parseInput(registerInput, input, "系统登记有误");
  const unitId = d.unitId ?? actor.unitId;
  return mutate(ctx, { action: "system.register" }, async (tx, j) => {
    assertKeeper(actor, unitId);
    // A data bureau is a unit with systems of its own, so any unit of the directory may hold one.
    const [unit] = await tx.select({ name: units.name }).from(units).where(eq(units.id, unitId));
    if (!unit) throw invalid("单位不存在", { unitId: [`没有编号为 ${unitId} 的单位`] });
    const [same] = await tx.select({ id: systems.id }).from(systems).where(and(eq(systems.unitId, unitId), eq(systems.name, d.name)));
    if (same) throw conflict("system_exists", `本单位已登记「${d.name}」（编号 ${same.id}），无须重复登记`);
    const now = ctx.clock.now();
    const [inserted] = await tx
      .insert(systems)
      .values({
        unitId,
        name: d.name,
        kind: d.kind,
        approvalRef: d.approvalRef,
        nonClassifiedBy: actor.userId,
        nonClassifiedAt: now,
        registeredBy: actor.userId,
        registeredAt: now,
        updatedAt: now,
      })
      .returning();
    let row = inserted!;
    if (d.approvalFileId) {
      await holdFile(tx, actor, d.approvalFileId, { holder: `system:${row.id}`, field: "approvalFileId", purpose: "project_approval", purposeName: "立项方案 / 建设批复" });
      [row = inserted!] = await tx.update(systems).set({ approvalFileId: d.approvalFileId }).where(eq(systems.id, row.id)).returning();
    }
    j.add({ action: "system.register", details: { id: row.id, unitId, name: d.name, kind: d.kind, approvalRef: d.approvalRef, nonClassified: true } });
    return systemView({ ...row, unitName: unit.name });
  });
}

/** 第三十八条 / 第四十条: records a system's 等保 and 密评 (and corrects its 立项 reference); each change is audited. */
export async function updateSystem({ ctx, input }: { ctx: ServiceContext; input: unknown }): Promise<SystemView> {
  const actor = ctx.actor;
  assertActor(actor);
  const d = parseInput(updateInput, input, "系统登记有误");
  notInFuture(ctx, [
    ["mlps.filedOn", d.mlps?.filedOn],
    ["mlps.testedOn", d.mlps?.testedOn],
    ["crypto.assessedOn", d.crypto?.assessedOn],
  ]);
  return mutate(ctx, { action: "system.update" }, async (tx, j) => {
    const [current] = await tx.select().from(systems).where(eq(systems.id, d.id)).for("update");
    if (!current) throw notFound(`没有编号为 ${d.id} 的系统`);
    assertKeeper(actor, current.unitId);
    const holder = `system:${current.id}`;
    // A document the system already keeps in that place stays kept (whoever uploaded it); a new one is held.
    const keep = (id: string | undefined, now: string | null, field: string, purpose: string, purposeName: string) =>
      id === undefined || id === now ? undefined : holdFile(tx, actor, id, { holder, field, purpose, purposeName });
    await keep(d.approvalFileId, current.approvalFileId, "approvalFileId", "project_approval", "立项方案 / 建设批复");
    await keep(d.mlps?.fileId, current.mlpsFileId, "mlps.fileId", "mlps_report", "等级保护备案证明 / 测评报告");
    await keep(d.crypto?.fileId, current.cryptoFileId, "crypto.fileId", "crypto_report", "商用密码应用安全性评估报告");
    const [row] = await tx
      .update(systems)
      .set({
        ...(d.approvalRef !== undefined ? { approvalRef: d.approvalRef } : {}),
        ...(d.approvalFileId !== undefined ? { approvalFileId: d.approvalFileId } : {}),
        ...(d.mlps
          ? { mlpsLevel: d.mlps.level, mlpsFiledOn: d.mlps.filedOn, mlpsRecordNo: d.mlps.recordNo, mlpsTestedOn: d.mlps.testedOn ?? null, mlpsFileId: d.mlps.fileId ?? null }
          : {}),
        ...(d.crypto ? { cryptoAssessedOn: d.crypto.assessedOn, cryptoResult: d.crypto.result, cryptoFileId: d.crypto.fileId ?? null } : {}),
        updatedAt: ctx.clock.now(),
      })
      .where(eq(systems.id, current.id))
      .returning();
    const { id: _id, ...changed } = d;
    j.add({ action: "system.update", details: { id: current.id, name: current.name, ...changed } });
    return systemView(row!);
  });
}

export async function listSystems({ ctx }: { ctx: ServiceContext }): Promise<SystemView[]> {
  const actor = ctx.actor;
  assertActor(actor);
  const rows = await ctx.db
    .select({ system: systems, unitName: units.name })
    .from(systems)
    .innerJoin(units, eq(units.id, systems.unitId))
    .where(visibleTo(ctx.db, actor))
    .orderBy(asc(systems.unitId), asc(systems.name));
  return rows.map((r) => systemView({ ...r.system, unitName: r.unitName }));
}

export async function getSystem({ ctx, input }: { ctx: ServiceContext; input: { id: number } }): Promise<SystemView> {
  const actor = ctx.actor;
  assertActor(actor);
  const [row] = await ctx.db
    .select({ system: systems, unitName: units.name })
    .from(systems)
    .innerJoin(units, eq(units.id, systems.unitId))
    .where(and(eq(systems.id, input.id), visibleTo(ctx.db, actor)));
  if (!row) throw notFound(`没有编号为 ${input.id} 的系统，或您无权查看`);
  return systemView({ ...row.system, unitName: row.unitName });
}

/**
 * The system an application names (第十二条(二)1), or null when the unit registered none by that name: by the
 * id the form gives, whose name must then equal the form's character for character, or else by the name.
 */
export async function registeredSystem(tx: Db, unitId: string, form: { systemId?: number; systemName: string }): Promise<Row | null> {
  const [row] = await tx
    .select()
    .from(systems)
    .where(and(eq(systems.unitId, unitId), form.systemId !== undefined ? eq(systems.id, form.systemId) : eq(systems.name, form.systemName)));
  return row ?? null;
}

/** A registered system's name, 商用密码应用安全性评估 (第四十条) and 等保 测评 records, or null when there is no such system. */
export async function systemAssessments(
  tx: Db,
  id: number,
): Promise<{ name: string; crypto: { assessedOn: string; result: CryptoResult } | null; mlps: { level: number; testedOn: string | null; fileId: string | null } | null } | null> {
  const [row] = await tx
    .select({
      name: systems.name,
      assessedOn: systems.cryptoAssessedOn,
      result: systems.cryptoResult,
      level: systems.mlpsLevel,
      testedOn: systems.mlpsTestedOn,
      fileId: systems.mlpsFileId,
    })
    .from(systems)
    .where(eq(systems.id, id));
  if (!row) return null;
  return {
    name: row.name,
    crypto: row.assessedOn === null ? null : { assessedOn: row.assessedOn, result: row.result as CryptoResult },
    mlps: row.level === null ? null : { level: row.level, testedOn: row.testedOn, fileId: row.fileId },
  };
}
