import { findings } from "../../../db/schema";
import { usersWithRole } from "../../directory/queries";
import { conflict, forbidden } from "../../core/errors";
import type { ActionOf } from "../action-input";
import { hasRole, audit, result, notifyAbout, type Step } from "../step";

export async function finding(step: Step, input: ActionOf<"finding">) {
  const { ctx, tx, j, req, actor } = step;
  const { kind, text: body } = input;
  if (!hasRole(actor, "reviewer")) throw forbidden("整改通知和工作警示由复核单位发出");
  if (req.status === "withdrawn") throw conflict("request_closed", "申请已撤回");
  const now = ctx.clock.now();
  await tx.insert(findings).values({ requestId: req.id, stage: req.currentStage, kind, text: body, byUserId: actor.userId, createdAt: now });
  audit(j, req, "request.finding", req.currentStage, { kind, text: body });
  const title = kind === "rectification" ? "整改通知" : "工作警示";
  const managers = (await usersWithRole(tx, "manager")).map((u) => u.id);
  const providers = (await usersWithRole(tx, "provider")).map((u) => u.id);
  await notifyAbout(step, [req.applicantId, ...managers, ...providers], "finding", {
    title,
    summary: `${actor.name}：${body}`,
    tone: "warning",
  });
  return result(req, `${title}已发出`);
}
