import { eq } from "drizzle-orm";
import type { Db } from "../../../db/client";
import { tasks } from "../../../db/schema";
import { forbidden } from "../../core/errors";
import { pendingHolders } from "../stages";
import type { LockedRequest } from "../../core/request";
import type { ActionOf } from "../action-input";
import { hasRole, audit, result, currentRun, notifyAbout, type Step } from "../step";

export async function participants(tx: Db, req: LockedRequest) {
  const rows = await tx.select({ userId: tasks.userId }).from(tasks).where(eq(tasks.requestId, req.id));
  return new Set([req.applicantId, ...rows.map((r) => r.userId)]);
}

export async function comment(step: Step, input: ActionOf<"comment">) {
  const { tx, j, req, actor } = step;
  const body = input.text;
  const involved = await participants(tx, req);
  if (!involved.has(actor.userId) && !hasRole(actor, "manager") && !hasRole(actor, "reviewer"))
    throw forbidden("只有该申请的参与人、统筹管理单位和复核单位可以评论");
  audit(j, req, "request.comment", req.currentStage, { text: body });
  const run = await currentRun(tx, req);
  const pending = run ? await pendingHolders(tx, run.id) : [];
  const to = [req.applicantId, ...pending].filter((id) => id !== actor.userId);
  await notifyAbout(step, to, "comment", { title: "新评论", summary: `${actor.name}：${body}` });
  return result(req, "评论已记录");
}
