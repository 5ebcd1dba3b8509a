import { and, eq, inArray, ne } from "drizzle-orm";
import { tasks } from "../../../db/schema";
import { conflict, forbidden } from "../../core/errors";
import { closeRun, pendingHolders } from "../stages";
import type { ActionOf } from "../action-input";
import { STATUS_NAMES, audit, result, currentRun, settleCards, closeRequest, initiators, notifyAbout, type Step } from "../step";

export async function withdraw(step: Step, input: ActionOf<"withdraw">) {
  const { ctx, tx, j, req, actor } = step;
  const { reason } = input;
  if (actor.userId !== req.applicantId) throw forbidden("只有申请人本人可以撤回申请");
  // A request someone else started for the unit (the manager's 整改通知 or reduction, the provider's revocation, a
  // job's proposal) is not the unit's to withdraw: it is decided, 驳回 where its stages allow.
  if ((await initiators(tx, req)).length > 0) throw forbidden("该申请由他方为本单位发起，使用单位不能撤回");
  if (req.status !== "in_progress" && req.status !== "returned")
    throw conflict("request_closed", `申请 ${req.code} ${STATUS_NAMES[req.status]}，不能撤回`);
  // Before the first decision only; a request returned for revision may also be abandoned.
  const decided = await tx
    .select({ id: tasks.id })
    .from(tasks)
    .where(and(eq(tasks.requestId, req.id), ne(tasks.userId, req.applicantId), inArray(tasks.status, ["approved", "rejected", "failed"])))
    .limit(1);
  if (req.status === "in_progress" && decided.length > 0)
    throw conflict("already_decided", "已有审批意见，不能再撤回；如不再需要，请联系当前处理人退回");
  const run = await currentRun(tx, req);
  const pending = run ? await pendingHolders(tx, run.id) : [];
  if (run) await settleCards(step, await closeRun(tx, run, "withdrawn", ctx.clock.now()), "申请人已撤回");
  await closeRequest(step, "withdrawn");
  audit(j, req, "request.withdraw", run?.stage ?? null, { reason });
  await notifyAbout(step, pending.filter((id) => id !== actor.userId), "result", {
    title: "申请已撤回",
    summary: `${actor.name}撤回了申请${reason ? `：${reason}` : ""}，无需再处理`,
    tone: "warning",
  });
  return result(req, `申请 ${req.code} 已撤回`);
}
