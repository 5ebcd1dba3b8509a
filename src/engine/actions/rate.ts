import { serviceRatings } from "../../../db/schema";
import { flowModule } from "../../../flows";
import { conflict, forbidden, unprocessable } from "../../core/errors";
import { partiesUsers } from "../stages";
import { RATING_NAMES, type ActionOf } from "../action-input";
import { STATUS_NAMES, audit, result, notifyAbout, type Step } from "../step";

/**
 * 服务评价: the applicant rates the provider's service once the request is completed, once. A 不满意 needs its
 * reason and reaches the providers and managers at once, so it can be put right rather than only counted.
 */
export async function rate(step: Step, input: ActionOf<"rate">) {
  const { ctx, tx, j, req, actor } = step;
  if (actor.userId !== req.applicantId) throw forbidden("只有申请人本人可以评价");
  const flow = flowModule(req.flow).definition;
  if (!flow.ratedService) throw unprocessable("not_rated", `${flow.name}无需服务评价`);
  if (req.status !== "completed") throw conflict("not_completed", `申请 ${req.code} ${STATUS_NAMES[req.status] ?? req.status}，办结后才能评价`);
  const { score, comment } = input;
  if (score === "dissatisfied" && !comment)
    throw unprocessable("comment_required", "不满意请写明原因，便于实施单位整改", { comment: ["不满意请写明原因"] });
  const [rated] = await tx
    .insert(serviceRatings)
    .values({ requestId: req.id, userId: actor.userId, score, comment: comment ?? null, createdAt: ctx.clock.now() })
    .onConflictDoNothing()
    .returning({ requestId: serviceRatings.requestId });
  if (!rated) throw conflict("already_rated", `申请 ${req.code} 已经评价过`);
  audit(j, req, "request.rate", null, { score, comment });
  if (score === "dissatisfied") {
    const to = await partiesUsers(tx, req, ["provider", "manager"]);
    await notifyAbout(step, to, "rating", { title: "服务评价：不满意", summary: `${actor.name}：${comment}`, tone: "danger" });
  }
  return result(req, `感谢您的评价：${RATING_NAMES[score]}`);
}
