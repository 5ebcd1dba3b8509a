import type { ServiceContext } from "../core/context";
import { mutate } from "../core/mutate";
import type { ActionInput, ActionOf } from "./action-input";
import { approve } from "./actions/approve";
import { comment } from "./actions/comment";
import { extend } from "./actions/extend";
import { fail } from "./actions/fail";
import { finding } from "./actions/finding";
import { nudge } from "./actions/nudge";
import { rate } from "./actions/rate";
import { reject } from "./actions/reject";
import { resubmit } from "./actions/resubmit";
import { returnRequest } from "./actions/return";
import { transfer } from "./actions/transfer";
import { withdraw } from "./actions/withdraw";
import { lockRequest, requireActor, type ActionResult, type Step } from "./step";

type Action = ActionInput["action"];
type Handler<A extends Action> = (step: Step, input: ActionOf<A>) => Promise<ActionResult>;

// One handler per action of the input union: an action without one fails to compile.
const ACTIONS: { [A in Action]: Handler<A> } = {
  approve,
  confirm: approve,
  reject,
  return: returnRequest,
  fail,
  transfer,
  comment,
  withdraw,
  resubmit,
  finding,
  extend,
  nudge,
  rate,
};

/** 办理: every action on a request after submission. */
export async function actOnRequest({ ctx, input }: { ctx: ServiceContext; input: { requestId: number } & ActionInput }) {
  const actor = requireActor(ctx);
  return mutate(ctx, { action: `request.${input.action}`, requestId: input.requestId }, async (tx, j) => {
    const step: Step = { ctx, tx, j, req: await lockRequest(tx, input.requestId), actor };
    // The table pairs each action with its handler; TypeScript cannot follow that pairing through a union.
    const handler = ACTIONS[input.action] as Handler<Action>;
    return handler(step, input);
  });
}
