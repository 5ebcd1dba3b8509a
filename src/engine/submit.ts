import { sql } from "drizzle-orm";
import { z } from "zod";
import { rowsOf, type Db } from "../../db/client";
import { requests } from "../../db/schema";
import { FLOW_KEYS, FLOW_MODULES, type FlowKey } from "../../flows";
import { shanghaiDate } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { supervisorOf, unitChain } from "../directory/queries";
import { forbidden } from "../core/errors";
import { bindFiles, type Attached } from "../files";
import { flowStages, nextStage, stageFrom } from "./flow";
import { mutate, type Journal } from "../core/mutate";
import { openStage, requestSummary } from "./stages";
import type { LockedRequest } from "../core/request";
import { requireActor, audit, result, type ActionResult } from "./step";

// One option per flow, its form checked by the flow's schema; the vm_account form is checked in full by its
// flow service, against the directory too.
const submitOptions = FLOW_KEYS.map((flow) => z.strictObject({ flow: z.literal(flow), form: FLOW_MODULES[flow].form }));

// A body without "flow" is a 云资源申请, as before there were other flows.
export const submitInputSchema = z.preprocess(
  (v) => (v !== null && typeof v === "object" && !Array.isArray(v) && !("flow" in v) ? { ...v, flow: "application" } : v),
  z.discriminatedUnion("flow", submitOptions as [(typeof submitOptions)[number], ...typeof submitOptions]),
);

/** 提交申请: a form for the submitter's own unit; the first applicable stage opens. */
export async function submitRequest({ ctx, input }: { ctx: ServiceContext; input: z.output<typeof submitInputSchema> }) {
  return mutate(ctx, { action: "request.submit" }, async (tx, j) => {
    const actor = requireActor(ctx);
    const { service } = FLOW_MODULES[input.flow];
    const refusal = service.refusal(actor, ctx.profile);
    if (refusal) throw forbidden(refusal);
    const chain = await unitChain(tx, actor.unitId);
    const countyUnit = chain.some((u) => u.kind === "county");
    const supervisedUnit = (await supervisorOf(tx, actor.unitId)) !== null;
    const prepared = await service.prepare({ ctx, tx, actor, form: input.form, profile: ctx.profile, countyUnit, supervisedUnit });
    // A request made for a unit (a revocation the provider starts) belongs to that unit's applicant.
    const owner = prepared.owner ?? { unitId: actor.unitId, unitName: chain[0]?.name ?? actor.unitId, applicantId: actor.userId };
    return openRequest({ ctx, tx, j }, { flow: input.flow, ...prepared, ...owner }, {});
  });
}

/** A new request in the caller's transaction: its code, its row, and its first applicable stage opened. */
export async function openRequest(
  step: { ctx: ServiceContext; tx: Db; j: Journal },
  r: { flow: FlowKey; unitId: string; unitName: string; applicantId: string; title: string; form: unknown; facts: object; files?: Attached[]; notice?: string },
  auditDetails: Record<string, unknown>,
): Promise<ActionResult> {
  const { ctx, tx, j } = step;
  const profile = ctx.profile;
  const now = ctx.clock.now();
  const [{ id } = { id: 0 }] = rowsOf<{ id: number }>(await tx.execute(sql`select nextval('requests_id_seq')::int as id`));
  const code = `YS-${shanghaiDate(now).slice(0, 4)}-${String(id).padStart(5, "0")}`;
  const [row] = await tx
    .insert(requests)
    .values({
      id,
      code,
      flow: r.flow,
      profile,
      unitId: r.unitId,
      applicantId: r.applicantId,
      title: r.title,
      form: r.form,
      facts: r.facts,
      status: "in_progress",
      submittedAt: now,
      updatedAt: now,
    })
    .returning();
  const req: LockedRequest = { ...row!, unitName: r.unitName };
  const first = stageFrom(flowStages(req.flow, profile), 0, r.facts);
  if (!first) throw new Error(`flow ${req.flow}/${profile} has no applicable stage`);
  await bindFiles(tx, r.files ?? [], id);
  audit(j, req, "request.submit", first.key, { code, profile, summary: requestSummary(req), ...attachmentDigests(r.files), ...auditDetails });
  await openStage(ctx, tx, req, first);
  // A first stage that runs alongside (暂停系统运行 while the unit rectifies) opens the one after it too.
  const after = first.alongside ? nextStage(req.flow, flowStages(req.flow, profile), first, r.facts) : null;
  if (after) {
    await openStage(ctx, tx, req, after);
    return result(req, `申请 ${code} 已提交，进入「${after.name}」，「${first.name}」同时进行${r.notice ? `。${r.notice}` : ""}`);
  }
  return result(req, `申请 ${code} 已提交，进入「${first.name}」${r.notice ? `。${r.notice}` : ""}`);
}

/** What the audit entry of a submission says of its documents: each file by id, name and SHA-256. */
export function attachmentDigests(files: readonly Attached[] | undefined) {
  return files?.length ? { attachments: files.map(({ purpose, fileId, name, sha256 }) => ({ purpose, fileId, name, sha256 })) } : {};
}
