// Card → WeCom message bodies (message/send without agentid; the client adds it). Pure functions.
import { cardText, type Card, type CardAction } from "../../../cards";

/** WeCom cuts text messages at 2048 bytes; cut ourselves, on a character boundary, and say so. */
export const WECOM_TEXT_LIMIT = 2048;

export function fitText(text: string, limit = WECOM_TEXT_LIMIT): string {
  if (Buffer.byteLength(text, "utf8") <= limit) return text;
  const ellipsis = "…";
  let out = "";
  let bytes = Buffer.byteLength(ellipsis, "utf8");
  for (const ch of text) {
    const size = Buffer.byteLength(ch, "utf8");
    if (bytes + size > limit) break;
    out += ch;
    bytes += size;
  }
  return out + ellipsis;
}

/** At most `max` characters, for the card fields WeCom truncates anyway (titles ~36, values ~30). */
function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}

// The key a button sends back as EventKey: versioned, the engine action, and the task's card token.
const KEY_PREFIX = "ys1";

export function buttonKey(action: CardAction["action"], token: string): string {
  return `${KEY_PREFIX}:${action}:${token}`;
}

export function parseButtonKey(key: string): { action: CardAction["action"]; token: string } | null {
  const match = /^ys1:(approve|reject|return|fail):([A-Za-z0-9_-]{16})$/.exec(key);
  return match ? { action: match[1] as CardAction["action"], token: match[2]! } : null;
}

const HORIZONTAL_MAX = 6;

const BUTTON_STYLE: Record<CardAction["action"], number> = { approve: 1, reject: 2, return: 3, fail: 2 };

/** WeCom's task_id: unique within the app, [A-Za-z0-9_@-], ≤128 bytes. Derived from the outbox row, so a resend after a crash reuses it and WeCom refuses the duplicate (42014). */
export function wecomTaskId(outboxId: number): string {
  return `ys-${outboxId}`;
}

export interface RenderOptions {
  touser: string;
  outboxId: number;
  /** The card token of the recipient's task; without it the card is a notice. */
  token: string | null;
  /** A details page for the request, where the deployment has one ({code} and {id} are filled in). */
  detailUrl: (card: Card) => string | null;
  /** The address of a portal page (PUBLIC_URL), for a card whose step is done there; null without one. */
  pageUrl?: (path: string) => string | null;
}

/** 待办 cards become button_interaction template cards; everything else a text_notice (or text without a link). */
export function renderMessage(card: Card, opts: RenderOptions): Record<string, unknown> {
  const link = opts.detailUrl(card);
  const code = card.fields.find((f) => f.label === "编号")?.value ?? "";
  const fields = card.fields.filter((f) => f.label !== "编号");
  const details = link
    ? { type: 1, keyname: "详情", value: "查看", url: link }
    : { keyname: "详情", value: clip(`回复「查询 ${code}」`, 30) };
  // WeCom shows at most 6 lines: the stage and its deadline always, then the request's facts in order; what
  // does not fit (a 年度需求 flag, say) goes under the title instead of being dropped.
  const always = fields.filter((f) => f.label === "环节" || f.label === "期限");
  const rest = fields.filter((f) => !always.includes(f));
  const room = HORIZONTAL_MAX - 1 - always.length;
  const line = (f: { label: string; value: string }) => ({ keyname: clip(f.label, 5), value: clip(f.value, 30) });
  const horizontal = [...rest.slice(0, room).map(line), ...always.map(line), details];
  const subtitle = [card.summary, ...rest.slice(room).map((f) => `${f.label}：${f.value}`)].join("\n");
  // The duplicate check (enable_duplicate_check) is set by the client on every send, the first included.
  const base = { touser: opts.touser };
  // 修改后重新提交 opens the form on the portal: a button of type 1 opens its address instead of calling back.
  const page = card.open ? (opts.pageUrl?.(card.open.path) ?? null) : null;
  const buttons = [
    ...card.actions.slice(0, 6).map((a) => ({ text: clip(a.label, 10), style: BUTTON_STYLE[a.action], key: buttonKey(a.action, opts.token!) })),
    ...(card.open && page ? [{ type: 1, text: clip(card.open.label, 10), style: 1, url: page }] : []),
  ];
  if (opts.token && buttons.length > 0)
    return {
      ...base,
      msgtype: "template_card",
      template_card: {
        card_type: "button_interaction",
        source: { desc: "云审", desc_color: 0 },
        main_title: { title: clip(card.title, 36), desc: clip(code, 44) },
        sub_title_text: clip(subtitle, 200),
        horizontal_content_list: horizontal,
        ...(link ? { card_action: { type: 1, url: link } } : {}),
        task_id: wecomTaskId(opts.outboxId),
        button_list: buttons,
      },
    };
  if (link)
    return {
      ...base,
      msgtype: "template_card",
      template_card: {
        card_type: "text_notice",
        source: { desc: "云审", desc_color: TONE_COLOR[card.tone] },
        main_title: { title: clip(card.title, 36), desc: clip(code, 44) },
        sub_title_text: clip(subtitle, 200),
        horizontal_content_list: horizontal,
        card_action: { type: 1, url: link },
        task_id: wecomTaskId(opts.outboxId),
      },
    };
  return { ...base, msgtype: "text", text: { content: fitText(cardText({ ...card, actions: [] })) } };
}

const TONE_COLOR: Record<Card["tone"], number> = { info: 0, success: 3, warning: 2, danger: 2 };

/** A plain text message, for answers and for settlements a card can no longer show. */
export function renderText(touser: string, content: string): Record<string, unknown> {
  return { touser, msgtype: "text", text: { content: fitText(content) } };
}
