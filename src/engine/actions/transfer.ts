import { and, eq, ne } from "drizzle-orm";
import { tasks, users } from "../../../db/schema";
import { taskCard } from "../../../cards";
import { flowModule } from "../../../flows";
import type { StageDef } from "../../../flows/types";
import type { ProfileKey } from "../../../profiles";
import { countyOf, supervisorOf } from "../../directory/queries";
import type { Role } from "../../core/roles";
import { unprocessable } from "../../core/errors";
import { enqueueCards } from "../../core/notify";
import { cardRequest, cardStage, newCardToken } from "../stages";
import type { ActionOf } from "../action-input";
import { audit, result, decideTask, settleCards, claimStage, type Step } from "../step";

export async function transfer(step: Step, input: ActionOf<"transfer">) {
  const { ctx, tx, j, req, actor } = step;
  const { toUserId, reason } = input;
  const { run, task, stage } = await claimStage(step, input);
  const [target] = await tx.select().from(users).where(eq(users.id, toUserId));
  const party = task.party as StageDef["parties"][number];
  if (!target || !target.active) throw unprocessable("invalid_target", `用户 ${toUserId} 不存在或已停用`, { toUserId: ["用户不存在或已停用"] });
  // The applicant's side goes to someone who could have filed this kind of request (a provider, for the
  // provider's own statement); any other party to a user with that party's role.
  // An order to the unit ("unit") is held by each of its applicants already; handed on, it stays within the unit.
  const qualifies =
    party === "unit"
      ? target.roles.includes("applicant")
      : party === "applicant"
      ? flowModule(req.flow).service.refusal({ userId: target.id, name: target.name, unitId: target.unitId, roles: target.roles as Role[] }, req.profile as ProfileKey) === null
      : target.roles.includes(party);
  if (!qualifies) throw unprocessable("invalid_target", `只能转交给同一角色的用户，${target.name}没有该角色`, { toUserId: ["角色不符"] });
  const ownSide = party === "applicant" || party === "unit";
  if (ownSide ? target.unitId !== req.unitId : target.id === req.applicantId)
    throw unprocessable("invalid_target", ownSide ? "只能转交给本单位的申请人" : "不能转交给申请人本人", {
      toUserId: ["不能转交给该用户"],
    });
  if (party === "county_bureau") {
    const county = await countyOf(tx, req.unitId);
    if (target.unitId !== county?.id)
      throw unprocessable("invalid_target", "只能转交给本县（市、区）数据管理局的用户", { toUserId: ["不属于该县级数据局"] });
  }
  if (party === "unit_supervisor") {
    const supervisor = await supervisorOf(tx, req.unitId);
    if (target.unitId !== supervisor?.id) throw unprocessable("invalid_target", "只能转交给本主管单位的审核人", { toUserId: ["不属于该主管单位"] });
  }
  if (target.id === actor.userId) throw unprocessable("invalid_target", "不能转交给自己", { toUserId: ["不能转交给自己"] });

  // 转交 hands the party's decision to one named person: the other holders of the party step aside.
  const now = ctx.clock.now();
  const handedOver = await decideTask(tx, task.id, "transferred", reason ?? null, now);
  const stepAside = await tx
    .update(tasks)
    .set({ status: "superseded" })
    .where(and(eq(tasks.stageRunId, run.id), eq(tasks.party, task.party), eq(tasks.status, "pending"), ne(tasks.userId, target.id)))
    .returning({ id: tasks.id, userId: tasks.userId });
  await settleCards(step, [...handedOver, ...stepAside], `已由${actor.name}转交${target.name}`);
  const [kept] = await tx
    .select({ id: tasks.id })
    .from(tasks)
    .where(and(eq(tasks.stageRunId, run.id), eq(tasks.userId, target.id), eq(tasks.status, "pending")));
  const [created] = kept
    ? [kept]
    : await tx
        .insert(tasks)
        .values({ stageRunId: run.id, requestId: req.id, party: task.party, userId: target.id, status: "pending", cardToken: newCardToken() })
        .returning({ id: tasks.id });
  audit(j, req, "request.transfer", stage.key, { to: target.id, reason });
  await enqueueCards(
    tx,
    now,
    [target.id],
    "task",
    taskCard(cardRequest(req), cardStage(stage, run, req.facts), `${actor.name}转交给您：${reason ?? "请处理"}`),
    `task:${run.id}:transfer:${created!.id}`,
    new Map([[target.id, created!.id]]),
  );
  return result(req, `已转交给${target.name}`);
}
