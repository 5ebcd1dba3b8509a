import { and, asc, desc, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "../../../db/client";
import { outbox, tasks, wecomCards } from "../../../db/schema";
import type { Card } from "../../../cards";
import type { Clock } from "../../core/context";
import { SendError, type OutboxMessage, type Sender } from "../types";
import { WecomApiError, type WecomClient } from "./client";
import { renderMessage, renderText, wecomTaskId } from "./render";

/** Response codes are single-use and expire; WeCom has said 72 h and 24 h at different times, so trust 24 h. */
export const RESPONSE_CODE_TTL_MS = 24 * 3_600_000;
// A card still waiting this long is sent again, so the one the decision updates has a live code.
export const CARD_REISSUE_AFTER_MS = 20 * 3_600_000;
const REISSUED = "（卡片超过 20 小时未处理，已重新发送）";

/**
 * Every message goes with WeCom's duplicate check, from its first attempt: WeCom drops a request whose JSON is
 * identical to one it took within the interval, so a message handed over again after a crash or a timeout
 * (whose first attempt may have got through) reaches the person once. The JSON must be the same each time,
 * check flag included. The retries and leases of one message (jobs/outbox) add up to under 2 hours, so WeCom's
 * maximum, 4 hours, covers its repeats.
 */
export const DUPLICATE_CHECK_SECONDS = 4 * 3600;
const ONCE = { duplicateCheckSeconds: DUPLICATE_CHECK_SECONDS };
// What a card whose task was closed shows when no decision label was queued for it.
const DECIDED = "已处理";

export interface WecomSenderDeps {
  db: Db;
  client: WecomClient;
  clock: Clock;
  /** The details page of a request, where there is one. */
  detailLink?: (ref: { code: string; id: number }) => string;
  /** The address of a portal page by its path, where the service has a public address. */
  pageUrl?: (path: string) => string;
}

type CardRow = typeof wecomCards.$inferSelect;

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

  async function deliver(m: OutboxMessage & { card: Card }, touser: string): Promise<"sent" | "skipped"> {
    // An earlier hand-off may have reached WeCom: a crash before its answer was recorded, or a timeout.
    const mayBeOut = m.resumed || m.attempt > 1;
    // A card asking for a decision already made (by someone else, before this went out) has nothing to ask.
    // One that may already be on the person's phone is sent again all the same: WeCom drops the repeat, and
    // the copy is then greyed out below instead of being left with live buttons.
    if (m.task && !m.task.pending && !mayBeOut) return "skipped";
    const token = m.task?.cardToken ?? null;
    const body = renderMessage(m.card, { touser, outboxId: m.id, token, detailUrl, pageUrl: (path) => deps.pageUrl?.(path) ?? null });
    let result: Awaited<ReturnType<typeof client.send>> | null;
    try {
      result = await client.send(body, ONCE);
    } catch (err) {
      // An earlier attempt did reach WeCom, which keeps task_ids unique. Its response code is lost, but the
      // card is recorded, so its clicks bring fresh codes and it can be re-issued.
      if (!(err instanceof WecomApiError && err.errcode === 42014 && mayBeOut)) throw sendError(err);
      result = null;
    }
    if (result?.invalidUsers.some((u) => u.toLowerCase() === touser.toLowerCase()))
      throw new SendError(`企业微信不认识用户 ${touser}，或该用户不在应用可见范围内`, null, true);
    if (body.msgtype !== "template_card") return "sent";
    const responseCode = result?.responseCode ?? null;
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
    // Decided while this card was on its way, or while the process that sent it lay dead: the settlement
    // found no card on record to update, so the card is settled here.
    if (m.task && !(await stillPending(m.task.id))) {
      const [card] = await db.select().from(wecomCards).where(and(eq(wecomCards.wecomTaskId, wecomTaskId(m.id)), isNull(wecomCards.settledAt)));
      if (card) {
        const label = await settlementLabel(m.task.id);
        if (!(await greyOut(card, touser, label, mayBeOut))) await tellDecided(touser, m.card, label);
        await markSettled([card.id]);
      }
    }
    return "sent";
  }

  async function stillPending(taskId: number) {
    const [row] = await db.select({ status: tasks.status }).from(tasks).where(eq(tasks.id, taskId));
    return row?.status === "pending";
  }

  /** The label the decision queued for the task's cards ("已由张三同意"). */
  async function settlementLabel(taskId: number): Promise<string> {
    const [row] = await db.select({ payload: outbox.payload }).from(outbox).where(and(eq(outbox.dedupeKey, `settle:${taskId}`), eq(outbox.channel, "wecom")));
    return (row?.payload as { label?: string } | undefined)?.label ?? DECIDED;
  }

  /**
   * Greys out the buttons of one recipient's copy of a card. False when WeCom could not be asked (no live
   * response code: lapsed, or lost in a crash before it was recorded).
   */
  async function greyOut(card: CardRow, wecomUserId: string, label: string, retried: boolean): Promise<boolean> {
    const now = clock.now();
    const fresh = card.responseCode && card.codeIssuedAt && now.getTime() - card.codeIssuedAt.getTime() < RESPONSE_CODE_TTL_MS;
    let told = false;
    if (fresh) {
      try {
        await client.updateTemplateCard({ userids: [wecomUserId], response_code: card.responseCode, button: { replace_name: label } });
        told = true;
      } catch (err) {
        if (!(err instanceof WecomApiError && err.errcode === 60140)) throw sendError(err);
        // 60140: the code is spent. On a repeat after a crash or timeout that is this update's own earlier
        // success; otherwise it lapsed after all, and the person is told by text.
        if (retried) told = true;
      }
    }
    return told;
  }

  /** Only once the person has been told, so a crash or failure before that leaves the card to be settled again. */
  async function markSettled(ids: number[]) {
    await db.update(wecomCards).set({ settledAt: clock.now(), responseCode: null }).where(inArray(wecomCards.id, ids));
  }

  /** The text for a card that cannot be greyed out: which request, and what became of it. */
  async function tellDecided(wecomUserId: string, card: Card | null, label: string) {
    const code = card?.fields.find((f) => f.label === "编号")?.value;
    const what = card ? `「${card.title.replace(/^待处理：/, "")}」${code ? `（${code}）` : ""}` : "";
    await client.send(renderText(wecomUserId, `您的待办${what}已处理：${label}。卡片上的按钮已失效，无需再点。`), ONCE).catch((err) => {
      throw sendError(err);
    });
  }

  /** Greys out the buttons on the recipient's card(s) for the task; a card whose code has lapsed gets a text instead. */
  async function settle(m: OutboxMessage, touser: string): Promise<"sent" | "skipped"> {
    const label = m.settlement!.label;
    if (!m.task) return "skipped";
    // No card on record: never sent (skipped), or still on its way, and then its delivery settles it.
    const cards = await db
      .select({ card: wecomCards, payload: outbox.payload })
      .from(wecomCards)
      .innerJoin(outbox, eq(outbox.id, wecomCards.outboxId))
      .where(and(eq(wecomCards.taskId, m.task.id), isNull(wecomCards.settledAt)))
      .orderBy(desc(wecomCards.id));
    if (cards.length === 0) return "skipped";
    let told = false;
    for (const { card } of cards) if (await greyOut(card, touser, label, m.resumed || m.attempt > 1)) told = true;
    if (!told) await tellDecided(touser, cards[0]!.payload as Card, label);
    await markSettled(cards.map(({ card }) => card.id));
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
      )
      // Re-issued in the order they were first sent, so a person's newest card stays the newest one.
      .orderBy(asc(wecomCards.id));
    for (const { card, payload } of stale) {
      const again = payload as Card;
      const summary = again.summary.endsWith(REISSUED) ? again.summary : `${again.summary}${REISSUED}`;
      await db
        .insert(outbox)
        .values({
          dedupeKey: `reissue:${card.id}`,
          userId: card.userId,
          // The card lapsing is a WeCom card: its re-issue goes to WeCom only.
          channel: "wecom",
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
      // The person's WeCom userid, as the directory has it now (user_channels).
      const touser = m.address;
      if (!touser) throw new SendError(`用户 ${m.userId} 没有配置企业微信账号（wecomUserId）`, null, true);
      if (m.settlement) return settle(m, touser);
      return deliver({ ...m, card: m.card! }, touser);
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
