import { and, eq, or } from "drizzle-orm";
import { users } from "../../db/schema";
import { shanghaiDate } from "../core/calendar";
import type { ServiceContext } from "../core/context";
import { actionInputSchema, actOnRequest, STAGE_DECISIONS, submitInputSchema, submitRequest, stageDef, getRequest, listRequests, requestIdByCode } from "../engine";
import { ServiceError } from "../core/errors";
import { parseInput } from "../core/validation";
import { answerPrompt, clearPrompt, pendingPrompt } from "./card-clicks";
import { ACCOUNT_USAGE, CHAT_HELP, parseChatCommand, RATING_USAGE, type AccountRequest, type RequestRef } from "./commands";

const LIST_LIMIT = 10;

/** A request's audited steps as the chat names them (the audit log keeps the codes). */
export const REQUEST_EVENTS: Record<string, string> = {
  submit: "提交申请",
  approve: "同意",
  confirm: "确认",
  reject: "驳回",
  return: "退回",
  resubmit: "重新提交",
  fail: "未通过",
  transfer: "转交",
  comment: "留言",
  withdraw: "撤回",
  finding: "整改通知或工作警示",
  extend: "延长期限",
  nudge: "催办",
  rate: "服务评价",
  complete: "办结",
};
/** The steps the answer names the stage of: its decisions, and an extended deadline. */
const NAMES_STAGE = new Set([...STAGE_DECISIONS, "extend"]);

/** 申请账号 in chat: the person named by id or by name, then the same request the API takes. */
async function requestAccount(ctx: ServiceContext, request: AccountRequest, dedupe: ServiceContext["dedupe"]): Promise<string> {
  const matches = await ctx.db
    .select({ id: users.id, name: users.name, unitId: users.unitId })
    .from(users)
    .where(and(or(eq(users.id, request.holder), eq(users.name, request.holder)), eq(users.active, true)));
  if (matches.length === 0) return `通讯录中没有“${request.holder}”`;
  if (matches.length > 1) return `通讯录中有 ${matches.length} 位“${request.holder}”，请改用用户 id：${matches.map((m) => `${m.id}（${m.unitId}）`).join("、")}`;
  const { holder: _, ...rest } = request;
  const input = parseInput(submitInputSchema, { flow: "vm_account", form: { ...rest, holder: matches[0]!.id } }, "虚拟机账号申请有误");
  const result = await submitRequest({ ctx: { ...ctx, dedupe }, input });
  return `${result.message}。审批进度可发送“查询 ${result.code}”查看`;
}

function left(workdays: { used: number | null; left: number | null } | undefined, deadlineAt: Date | null) {
  if (!deadlineAt) return "无期限";
  const date = shanghaiDate(deadlineAt);
  if (!workdays || workdays.left === null) return `${date} 前`;
  if (workdays.left < 0) return `${date} 前，已逾期 ${-workdays.left} 个工作日`;
  return `${date} 前，剩 ${workdays.left} 个工作日`;
}

async function resolve(ctx: ServiceContext, ref: RequestRef): Promise<number | null> {
  return "id" in ref ? ref.id : requestIdByCode(ctx.db, ref.code);
}

async function describeRequest(ctx: ServiceContext, ref: RequestRef): Promise<string> {
  const id = await resolve(ctx, ref);
  const shown = "id" in ref ? String(ref.id) : ref.code;
  if (id === null) return `没有找到申请 ${shown}，或您无权查看`;
  const r = await getRequest({ ctx, input: { id } });
  const lines = [`${r.code}「${r.title}」${r.unit.name}`, `状态：${r.statusName}${r.overdue ? "（有逾期）" : ""}`];
  const stage = r.currentStage;
  if (stage) {
    lines.push(`当前环节：${stage.name}`);
    if (stage.elapses && stage.deadlineAt) {
      lines.push(`${shanghaiDate(stage.deadlineAt)} 届满，届满后自动进入下一环节`);
    } else {
      const holders = stage.tasks.filter((t) => t.status === "pending").map((t) => t.userName);
      lines.push(`处理人：${holders.length > 0 ? holders.join("、") : "（无）"}`);
      if (stage.workdays?.used !== null && stage.workdays?.used !== undefined) lines.push(`已用 ${stage.workdays.used} 个工作日`);
      lines.push(`期限：${stage.deadlinePending ? "待加载下一年工作日历后计算" : left(stage.workdays, stage.deadlineAt)}${stage.overdue ? "（已逾期）" : ""}`);
    }
  }
  if (r.rating) lines.push(`服务评价：${r.rating.scoreName}${r.rating.comment ? `（${r.rating.comment}）` : ""}`);
  // The latest step of the request itself, in words; bookkeeping (a resource's instance id, a card's delivery) is not a step.
  const last = r.history.filter((h) => h.outcome === "ok" && h.action.startsWith("request.") && REQUEST_EVENTS[h.action.slice("request.".length)]).at(-1);
  if (last) {
    const verb = last.action.slice("request.".length);
    const stage = last.stage && NAMES_STAGE.has(verb) ? r.stages.find((s) => s.stage === last.stage) : undefined;
    const word = verb === "approve" && last.stage && stage ? stageDef(r.flow, r.profile, last.stage).approveLabel : REQUEST_EVENTS[verb];
    lines.push(`最近：${shanghaiDate(last.at)} ${stage ? `「${stage.name}」` : ""}${word}`);
  }
  return lines.join("\n");
}

async function listOpen(ctx: ServiceContext, view: "mine" | "todo"): Promise<string> {
  const { items } = await listRequests({ ctx, input: { view, limit: 50 } });
  const open = items.filter((i) => i.status === "in_progress" || i.status === "returned");
  if (open.length === 0) return view === "mine" ? "您没有办理中的申请" : "没有等您处理的申请";
  const head = view === "mine" ? `您有 ${open.length} 个办理中的申请：` : `有 ${open.length} 个申请等您处理：`;
  const lines = open
    .slice(0, LIST_LIMIT)
    .map((i) => `· ${i.code}「${i.title}」${i.currentStageName ?? i.statusName}${i.deadlineAt ? `，${shanghaiDate(i.deadlineAt)} 前` : ""}${i.overdue ? "（逾期）" : ""}`);
  if (open.length > LIST_LIMIT) lines.push(`……另有 ${open.length - LIST_LIMIT} 个`);
  return [head, ...lines, "回复“查询 编号”看详情"].join("\n");
}

/**
 * 查询 in chat: the answer to one text message from a known person. A reason that a tapped 驳回 / 退回 is
 * waiting on comes first; otherwise the text is a command, and anything else gets the help.
 * `messageKey` de-duplicates the message (WeCom's MsgId) for anything it changes.
 */
export async function answerChat({ ctx, input }: { ctx: ServiceContext; input: { text: string; messageKey: string } }): Promise<string> {
  const actor = ctx.actor!;
  const command = parseChatCommand(input.text);
  const prompt = await pendingPrompt(ctx, actor.userId);
  const dedupe = { scope: "chat", key: `${actor.userId}:${input.messageKey}`, fingerprint: input.messageKey };
  try {
    if (prompt && command.kind === "cancel") {
      await clearPrompt(ctx, actor.userId);
      return "已取消，卡片仍可继续处理";
    }
    if (prompt && command.kind === "unknown") {
      const result = await answerPrompt({ ctx: { ...ctx, dedupe }, input: { prompt, text: command.text } });
      return result.message;
    }
    switch (command.kind) {
      case "help":
      case "unknown":
      case "cancel":
        return CHAT_HELP;
      case "mine":
      case "todo":
        return await listOpen(ctx, command.kind);
      case "query":
        return command.ref ? await describeRequest(ctx, command.ref) : "请在“查询”后写申请编号，如：查询 YS-2026-00012";
      case "account":
        if (!command.request) return command.problem ?? ACCOUNT_USAGE;
        return await requestAccount(ctx, command.request, dedupe);
      case "rate": {
        if (!command.rating) return command.problem ?? RATING_USAGE;
        const { ref, score, comment } = command.rating;
        const id = await resolve(ctx, ref);
        if (id === null) return "没有找到这个申请，或您无权查看";
        const rating = parseInput(actionInputSchema, { action: "rate", score, comment }, "评价有误");
        return (await actOnRequest({ ctx: { ...ctx, dedupe }, input: { requestId: id, ...rating } })).message;
      }
      case "nudge": {
        if (!command.ref) return "请在“催办”后写申请编号，如：催办 YS-2026-00012";
        const id = await resolve(ctx, command.ref);
        if (id === null) return "没有找到这个申请，或您无权查看";
        return (await actOnRequest({ ctx: { ...ctx, dedupe }, input: { requestId: id, action: "nudge" } })).message;
      }
    }
  } catch (err) {
    // Refusals are answered in words, with the fields at fault; anything else is the caller's to log.
    if (err instanceof ServiceError)
      return err.fields ? [err.message, ...Object.entries(err.fields).map(([f, m]) => `· ${f}：${m.join("；")}`)].join("\n") : err.message;
    throw err;
  }
}
