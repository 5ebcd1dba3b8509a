import { and, desc, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "../../../db/client";
import { outbox, tasks, wecomCards } from "../../../db/schema";
import type { Card } from "../../../cards";
import type { Clock } from "../../context";
import { SendError, type OutboxMessage, type Sender } from "../../jobs/outbox";
import { WecomApiError, type WecomClient } from "./client";
import { renderMessage, renderText, wecomTaskId } from "./render";

/** Response codes are single-use and expire; WeCom has said 72 h and 24 h at different times, so trust 24 h. */
export const RESPONSE_CODE_TTL_MS = 24 * 3_600_000;
// A card still waiting this long is sent again, so the one the decision updates has a live code.
export const CARD_REISSUE_AFTER_MS = 20 * 3_600_000;
const REISSUED = "（卡片超过 20 小时未处理，已重新发送）";

export interface WecomSenderDeps {
  db: Db;
  client: WecomClient;
  clock: Clock;
  /** The details page of a request, where there is one. */
  detailLink?: (ref: { code: string; id: number }) => string;
}

/**
 * Delivers outbox messages to WeCom / 粤政易: 待办 as button cards (buttons carry the task's token), notices as
 * text cards, and settlements as update_template_card on each recipient's copy.
 */
export function wecomSender(deps: WecomSenderDeps): Sender {
  const { db, client, clock } = deps;
  const detailUrl = (card: Card) => {
    const id = Number(/\/(\d+)$/.exec(card.link)?.[1]);
    const code = card.fields.find((f) => f.label === "编号")?.value;
    return deps.detailLink && code && id ? deps.detailLink({ code, id }) : null;
  };

  async function deliver(m: OutboxMessage & { card: Card }): Promise<"sent" | "skipped"> {
    // A card asking for a decision already made (by someone else, before this went out) has nothing to ask.
    if (m.task && !m.task.pending) return "skipped";
    const token = m.task?.cardToken ?? null;
    const body = renderMessage(m.card, { touser: m.wecomUserId, outboxId: m.id, token, detailUrl, resumed: m.resumed });
    let result: Awaited<ReturnType<typeof client.send>> | null;
    try {
      result = await client.send(body);
    } catch (err) {
      // Resent after a crash: the first attempt did reach WeCom, which keeps task_ids unique. Its response
      // code is lost, but the card is recorded, so its clicks bring fresh codes and it can be re-issued.
      if (!(err instanceof WecomApiError && err.errcode === 42014 && m.resumed)) throw sendError(err);
      result = null;
    }
    if (result?.invalidUsers.some((u) => u.toLowerCase() === m.wecomUserId.toLowerCase()))
      throw new SendError(`企业微信不认识用户 ${m.wecomUserId}，或该用户不在应用可见范围内`, null, true);
    const responseCode = result?.responseCode ?? null;
    if (body.msgtype === "template_card") {
      const now = clock.now();
      await db
        .insert(wecomCards)
        .values({
          wecomTaskId: wecomTaskId(m.id),
          outboxId: m.id,
          userId: m.userId,
          taskId: m.task?.id ?? null,
          responseCode,
          codeIssuedAt: responseCode ? now : null,
          sentAt: now,
        })
        .onConflictDoNothing();
    }
    return "sent";
  }

  /** Greys out the buttons on the recipient's card(s) for the task; a card whose code has lapsed gets a text instead. */
  async function settle(m: OutboxMessage): Promise<"sent" | "skipped"> {
    const label = m.settlement!.label;
    if (!m.task) return "skipped";
    const cards = await db
      .select()
      .from(wecomCards)
      .where(and(eq(wecomCards.taskId, m.task.id), isNull(wecomCards.settledAt)))
      .orderBy(desc(wecomCards.id));
    if (cards.length === 0) return "skipped";
    const now = clock.now();
    let told = false;
    for (const card of cards) {
      const fresh = card.responseCode && card.codeIssuedAt && now.getTime() - card.codeIssuedAt.getTime() < RESPONSE_CODE_TTL_MS;
      if (fresh) {
        try {
          await client.updateTemplateCard({ userids: [m.wecomUserId], response_code: card.responseCode, button: { replace_name: label } });
          told = true;
        } catch (err) {
          if (!(err instanceof WecomApiError && err.errcode === 60140)) throw sendError(err);
          // 60140: the code is spent. On a resend after a crash that is this update's own earlier success;
          // otherwise it lapsed after all, and the person is told by text below.
          if (m.resumed) told = true;
        }
      }
      await db.update(wecomCards).set({ settledAt: now, responseCode: null }).where(eq(wecomCards.id, card.id));
    }
    if (!told) await client.send(renderText(m.wecomUserId, `您的一项待办已处理：${label}。旧卡片上的按钮已失效。`)).catch((err) => {
      throw sendError(err);
    });
    return "sent";
  }

  /**
   * Cards of still-pending tasks whose response code is about to lapse are sent again (the same card, a new
   * task_id and code): after a long stage the decision can still grey out the buttons instead of failing.
   */
  async function reissueLapsingCards() {
    const now = clock.now();
    const before = new Date(now.getTime() - CARD_REISSUE_AFTER_MS);
    const stale = await db
      .select({ card: wecomCards, payload: outbox.payload })
      .from(wecomCards)
      .innerJoin(tasks, eq(tasks.id, wecomCards.taskId))
      .innerJoin(outbox, eq(outbox.id, wecomCards.outboxId))
      .where(
        and(
          eq(tasks.status, "pending"),
          isNull(wecomCards.settledAt),
          lt(wecomCards.sentAt, before),
          or(isNull(wecomCards.codeIssuedAt), lt(wecomCards.codeIssuedAt, before)),
          // Only the newest card of each task: older ones were re-issued already.
          sql`${wecomCards.id} = (select max(c.id) from ${wecomCards} c where c.task_id = ${wecomCards.taskId})`,
        ),
      );
    for (const { card, payload } of stale) {
      const again = payload as Card;
      const summary = again.summary.endsWith(REISSUED) ? again.summary : `${again.summary}${REISSUED}`;
      await db
        .insert(outbox)
        .values({
          dedupeKey: `reissue:${card.id}`,
          userId: card.userId,
          kind: "task",
          payload: { ...again, summary },
          taskId: card.taskId,
          nextAttemptAt: now,
          createdAt: now,
        })
        .onConflictDoNothing();
    }
  }

  return {
    name: "wecom",
    upkeep: reissueLapsingCards,
    // WeCom drops sends over 30 a minute or 1000 an hour to one member without saying so.
    perRecipient: { perMinute: 30, perHour: 1000 },
    async send(m) {
      if (!m.wecomUserId) throw new SendError(`用户 ${m.userId} 没有配置企业微信账号（wecomUserId）`, null, true);
      if (m.settlement) return settle(m);
      return deliver({ ...m, card: m.card! });
    },
  };
}

// An operator can fix a configuration problem (trusted IP, secret, permissions) while messages wait.
const OPERATOR_RETRY_MS = 5 * 60_000;

function sendError(err: unknown): SendError {
  if (err instanceof WecomApiError) {
    // 81013: this recipient is outside the app's visible range; no retry will reach them.
    if (err.errcode === 81013) return new SendError(err.message, null, true);
    return new SendError(err.message, err.operator ? OPERATOR_RETRY_MS : err.retryAfterMs);
  }
  return new SendError(err instanceof Error ? err.message : String(err));
}
