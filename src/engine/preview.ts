import { inArray } from "drizzle-orm";
import type { z } from "zod";
import type { Db } from "../../db/client";
import { units } from "../../db/schema";
import { FLOW_MODULES } from "../../flows";
import { anchoredOn, PARTY_NAMES, type Party, type StageDef } from "../../flows/types";
import { shanghaiDate } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { forbidden } from "../core/errors";
import { getUsers, supervisorOf, unitChain } from "../directory/queries";
import { concreteDeadline, stageTimesOrPending } from "./deadlines";
import { flowStages, nextStage, stageFrom } from "./flow";
import { deadlineSpan, partyUsers } from "./stages";
import { requireActor } from "./step";
import type { submitInputSchema } from "./submit";

/** One party of a stage and the people who would act for it; none yet (an empty directory) shows the party only. */
export interface PreviewParty {
  party: Party;
  partyName: string;
  people: { id: string; name: string; unitName: string }[];
}

export interface PreviewStage {
  stage: string;
  name: string;
  /** any: one of them decides (或签); all: every party decides (会签). */
  mode: "any" | "all";
  /** A period that ends by itself (巴中's 过渡期): its parties are told, nobody decides. */
  elapses: boolean;
  parties: PreviewParty[];
  /** "3 个工作日", "当天", …; null for a stage without a deadline (a trial run). */
  span: string | null;
  /**
   * The last day (Asia/Shanghai) the stage may end on, if every earlier stage took its full time; null when it
   * has no deadline, follows one without, or falls in a year the calendar does not cover yet (`pending`).
   */
  by: string | null;
  deadlineAt: string | null;
  pending: boolean;
}

export interface RequestPreview {
  flow: string;
  flowName: string;
  title: string;
  unitName: string;
  /** Today, the day the counting starts from. */
  from: string;
  stages: PreviewStage[];
}

/** Thrown to end the preview's transaction: whatever prepare read or locked is rolled back, nothing is kept. */
class Rollback {
  constructor(readonly preview: RequestPreview) {}
}

/**
 * 预览: the form checked as a submission checks it, and the stages the request would pass, each with who would
 * decide it and the day by which, every stage taking its full time from the end of the one before (the same
 * working-day rule the deadlines use). Writes nothing: prepare runs in a transaction that is always rolled back,
 * and a refusal is not audited, for nothing was attempted.
 */
export async function previewRequest({ ctx, input }: { ctx: ServiceContext; input: z.output<typeof submitInputSchema> }): Promise<RequestPreview> {
  const actor = requireActor(ctx);
  const { service, definition } = FLOW_MODULES[input.flow];
  const refusal = service.refusal(actor, ctx.profile);
  if (refusal) throw forbidden(refusal);
  try {
    await ctx.db.transaction(async (tx) => {
      const chain = await unitChain(tx, actor.unitId);
      const countyUnit = chain.some((u) => u.kind === "county");
      const supervisedUnit = (await supervisorOf(tx, actor.unitId)) !== null;
      const prepared = await service.prepare({ ctx, tx, actor, form: input.form, profile: ctx.profile, countyUnit, supervisedUnit });
      const owner = prepared.owner ?? { unitId: actor.unitId, unitName: chain[0]?.name ?? actor.unitId, applicantId: actor.userId };
      const req = { flow: input.flow, unitId: owner.unitId, applicantId: owner.applicantId, facts: prepared.facts };
      const stages = await previewStages(ctx, tx, req, flowStages(input.flow, ctx.profile));
      throw new Rollback({
        flow: input.flow,
        flowName: definition.name,
        title: prepared.title,
        unitName: owner.unitName,
        from: shanghaiDate(ctx.clock.now()),
        stages,
      });
    });
  } catch (err) {
    if (err instanceof Rollback) return err.preview;
    throw err;
  }
  throw new Error("preview transaction ended without a preview");
}

type PreviewRequest = { flow: string; unitId: string; applicantId: string; facts: unknown };

/** The stages in the order the request passes them (conditions applied, detours left out), dated by chaining. */
async function previewStages(ctx: ServiceContext, tx: Db, req: PreviewRequest, sequence: StageDef[]): Promise<PreviewStage[]> {
  const path: StageDef[] = [];
  for (let s = stageFrom(sequence, 0, req.facts); s && path.length < sequence.length; s = nextStage(req.flow, sequence, s, req.facts)) path.push(s);

  const parties = await Promise.all(path.map((s) => Promise.all(s.parties.map((p) => previewParty(tx, req, p)))));
  const openedAt = new Map<string, Date>();
  const doneAt = new Map<string, Date>();
  let opens: Date | null = ctx.clock.now();
  // Once a deadline falls past the loaded calendar, every later one waits for the next year's schedule too.
  let pending = false;
  return path.map((stage, i) => {
    let by: Date | null = null;
    if (opens && !openedAt.has(stage.key)) openedAt.set(stage.key, opens);
    if (opens && stage.deadline) {
      const from = stage.deadline.from;
      const anchor = !from
        ? undefined
        : "firstOpenOf" in from
          ? openedAt.get(from.firstOpenOf)
          : [...doneAt].find(([key]) => anchoredOn(from.firstDoneOf, key))?.[1];
      const times = stageTimesOrPending(ctx.calendar, opens, concreteDeadline(stage.deadline, req.facts, opens), anchor);
      by = times.deadlineAt;
      pending = times.pending;
    }
    if (by && !doneAt.has(stage.key)) doneAt.set(stage.key, by);
    opens = by;
    return {
      stage: stage.key,
      name: stage.name,
      mode: stage.parties.length > 1 ? "all" : "any",
      elapses: stage.elapses ?? false,
      parties: parties[i]!,
      span: stage.deadline ? deadlineSpan(stage.deadline) : null,
      by: by ? shanghaiDate(by) : null,
      deadlineAt: by?.toISOString() ?? null,
      pending: pending && stage.deadline !== undefined,
    };
  });
}

/** The people acting for a party, with the name of their unit. */
async function previewParty(tx: Db, req: PreviewRequest, party: Party): Promise<PreviewParty> {
  const people = await getUsers(tx, await partyUsers(tx, req, party));
  const unitIds = [...new Set(people.map((u) => u.unitId))];
  const names = unitIds.length === 0 ? [] : await tx.select({ id: units.id, name: units.name }).from(units).where(inArray(units.id, unitIds));
  const unitName = new Map(names.map((u) => [u.id, u.name]));
  return {
    party,
    partyName: PARTY_NAMES[party],
    people: people.map((u) => ({ id: u.id, name: u.name, unitName: unitName.get(u.unitId) ?? u.unitId })),
  };
}
