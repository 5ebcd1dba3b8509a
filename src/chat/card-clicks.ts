import { and, eq, lt } from "drizzle-orm";
import { chatPrompts, requests, stageRuns, tasks, users } from "../../db/schema";
import type { CardAction } from "../../cards";
import type { ServiceContext } from "../core/context";
import { actionInputSchema, actOnRequest, holderDecisions, STATUS_NAMES, type ActionResult, stageDef } from "../engine";
import { parseInput } from "../core/validation";
import { auditRefusal } from "../core/mutate";
import { conflict, forbidden, notFound, unprocessable, type ServiceError } from "../core/errors";
import { COMMON_REASONS } from "./commands";

/** How long a tapped 驳回 / 退回 waits for its reason in the chat. */
export const REASON_PROMPT_MS = 30 * 60_000;

export type CardClickOutcome =
  | { kind: "decided"; result: ActionResult; buttonLabel: string }
  | { kind: "asked"; question: string };

async function refuse(ctx: ServiceContext, requestId: number | null, err: ServiceError): Promise<never> {
  await auditRefusal(ctx, { action: "card.click", requestId }, err);
  throw err;
}

/**
 * A tap on a card button (design.md invariant 4): the token names one task, so one request, stage run and
 * assignee. Only that assignee may use it, and only while the task is pending; 同意 decides at once, 驳回 and
 * 退回 first ask for the reason in the chat.
 */
export async function actOnCard({ ctx, input }: { ctx: ServiceContext; input: { token: string; action: CardAction["action"] } }): Promise<CardClickOutcome> {
  const actor = ctx.actor;
  if (!actor) return refuse(ctx, null, forbidden("您还不在云审通讯录中，请联系管理员"));
  const [task] = await ctx.db
    .select({
      id: tasks.id,
      userId: tasks.userId,
      holderName: users.name,
      status: tasks.status,
      stageRunId: tasks.stageRunId,
      requestId: tasks.requestId,
      stage: stageRuns.stage,
      flow: requests.flow,
      profile: requests.profile,
      code: requests.code,
      title: requests.title,
      requestStatus: requests.status,
      facts: requests.facts,
    })
    .from(tasks)
    .innerJoin(users, eq(users.id, tasks.userId))
    .innerJoin(stageRuns, eq(stageRuns.id, tasks.stageRunId))
    .innerJoin(requests, eq(requests.id, tasks.requestId))
    .where(eq(tasks.cardToken, input.token));
  if (!task) return refuse(ctx, null, notFound("这张卡片已失效"));
  if (task.userId !== actor.userId)
    return refuse(ctx, task.requestId, forbidden(`这张卡片是发给${task.holderName}的，您不能代为处理`));
  const stage = stageDef(task.flow, task.profile, task.stage);
  const offered = holderDecisions(stage, task.facts).find((d) => d.action === input.action);

  if (offered?.action === "approve" && offered.asks === null) {
    const result = await actOnRequest({ ctx, input: { requestId: task.requestId, action: "approve", stageRunId: task.stageRunId } });
    const label = stage.approveLabel.length <= 4 ? stage.approveLabel : "处理";
    return { kind: "decided", result, buttonLabel: `已${label}` };
  }

  // Refusals that can be given now rather than after the reason is typed.
  if (task.status !== "pending")
    return refuse(ctx, task.requestId, conflict("already_decided", `「${stage.name}」已处理，这张卡片的按钮已失效`));
  if (task.requestStatus !== "in_progress")
    return refuse(ctx, task.requestId, conflict("request_closed", `申请 ${task.code} ${STATUS_NAMES[task.requestStatus] ?? task.requestStatus}`));
  const verb = { approve: "同意", reject: "驳回", return: "退回", fail: "判定未通过" }[input.action];
  if (!offered) return refuse(ctx, task.requestId, unprocessable("not_allowed", `「${stage.name}」不能${verb}`));

  const now = ctx.clock.now();
  const prompt = { taskId: task.id, action: input.action, askedAt: now, expiresAt: new Date(now.getTime() + REASON_PROMPT_MS) };
  await ctx.db.insert(chatPrompts).values({ userId: actor.userId, ...prompt }).onConflictDoUpdate({ target: chatPrompts.userId, set: prompt });
  const about = `「${task.title}」（${task.code}）`;
  if (input.action === "approve")
    return { kind: "asked", question: `${offered.asks}。请直接回复${about}的说明，回复“取消”放弃。30 分钟内有效。` };
  const choices = COMMON_REASONS[input.action].map((r, i) => `${i + 1}. ${r}`);
  return {
    kind: "asked",
    question: [`请回复${verb}${about}的理由，可直接输入，或回复序号：`, ...choices, `回复“取消”放弃${verb}。30 分钟内有效。`].join("\n"),
  };
}

/** The reason prompt waiting on this user, if any and not expired; expired ones are cleared. */
export async function pendingPrompt(ctx: ServiceContext, userId: string) {
  const now = ctx.clock.now();
  await ctx.db.delete(chatPrompts).where(and(eq(chatPrompts.userId, userId), lt(chatPrompts.expiresAt, now)));
  const [prompt] = await ctx.db.select().from(chatPrompts).where(eq(chatPrompts.userId, userId));
  return prompt ?? null;
}

export async function clearPrompt(ctx: ServiceContext, userId: string) {
  await ctx.db.delete(chatPrompts).where(eq(chatPrompts.userId, userId));
}

/** The reason typed (or chosen by number) for the 驳回 / 退回 a prompt is waiting on: now it is decided. */
export async function answerPrompt({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { prompt: NonNullable<Awaited<ReturnType<typeof pendingPrompt>>>; text: string };
}): Promise<ActionResult> {
  const { prompt, text } = input;
  const choice = prompt.action !== "approve" && /^\d$/.test(text) ? COMMON_REASONS[prompt.action][Number(text) - 1] : undefined;
  const reason = choice ?? text;
  const [task] = await ctx.db.select({ requestId: tasks.requestId, stageRunId: tasks.stageRunId }).from(tasks).where(eq(tasks.id, prompt.taskId));
  try {
    const typed = prompt.action === "approve" ? { note: reason } : { reason };
    const action = parseInput(actionInputSchema, { action: prompt.action, stageRunId: task!.stageRunId, ...typed }, "理由无效");
    return await actOnRequest({ ctx, input: { ...action, requestId: task!.requestId } });
  } finally {
    await clearPrompt(ctx, prompt.userId);
  }
}
