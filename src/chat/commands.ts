// Typed chat commands (我的申请, 查询, 待办, 催办, 评价, 帮助): forgiving parsing into a small union. Pure.

import type { ServiceRating } from "../engine";

export type ChatCommand =
  | { kind: "help" }
  | { kind: "mine" }
  | { kind: "todo" }
  | { kind: "query"; ref: RequestRef | null }
  | { kind: "nudge"; ref: RequestRef | null }
  | { kind: "rate"; rating: ChatRating | null; problem?: string }
  | { kind: "cancel" }
  | { kind: "account"; request: AccountRequest | null; problem?: string }
  | { kind: "unknown"; text: string };

/** 申请账号 / 续期账号 typed in chat: the words of a 虚拟机账号申请. */
export interface AccountRequest {
  kind: "new" | "renew";
  /** A user id or a name, as typed; the directory resolves it. */
  holder: string;
  account: string;
  hosts: string[];
  validity: { workdays: number } | { until: string };
  reason: string;
}

export const ACCOUNT_USAGE = "格式：申请账号 使用人 账号名 主机[,主机] 有效期 用途，如：申请账号 赵磊 zhaolei vm-web-01,vm-db-01 20 日常运维（有效期写工作日数，或“至2026-12-31”）";

/** "申请账号 赵磊 zhaolei vm-web-01,vm-db-01 20 日常运维"; the verb decides new or renewal. */
function parseAccountRequest(kind: AccountRequest["kind"], rest: string): { request: AccountRequest | null; problem?: string } {
  const words = rest.split(" ").filter((w) => w !== "");
  if (words.length < 5) return { request: null, problem: ACCOUNT_USAGE };
  const [holder, account, hostList, validityText, ...reason] = words as [string, string, string, string, ...string[]];
  const days = /^(\d{1,3})(?:个?工作日)?$/.exec(validityText);
  const until = /^(?:至|到)?(\d{4}-\d{2}-\d{2})$/.exec(validityText);
  if (!days && !until) return { request: null, problem: `有效期“${validityText}”无法识别。${ACCOUNT_USAGE}` };
  return {
    request: {
      kind,
      holder,
      account: account.toLowerCase(),
      hosts: hostList.split(/[,，、]/).filter((h) => h !== ""),
      validity: days ? { workdays: Number(days[1]) } : { until: until![1]! },
      reason: reason.join(" "),
    },
  };
}

/** 评价 typed in chat: a request, a score and any remarks. */
export interface ChatRating {
  ref: RequestRef;
  score: ServiceRating;
  comment?: string;
}

export const RATING_USAGE = "格式：评价 编号 满意（或 基本满意 / 不满意）意见，如：评价 YS-2026-00012 满意 开通很快";

// Longest first, so 不满意 and 基本满意 are not read as 满意.
const SCORE_WORDS: [RegExp, ChatRating["score"]][] = [
  [/^(不满意|很不满意|非常不满意|差评)/, "dissatisfied"],
  [/^(基本满意|一般|还行|较满意|比较满意)/, "basic"],
  [/^(非常满意|很满意|满意|好评)/, "satisfied"],
];

/** "评价 YS-2026-00012 满意 开通很快": the request is the first word, the score follows, the rest is the remark. */
function parseRating(rest: string): { rating: ChatRating | null; problem?: string } {
  const words = rest.split(" ").filter((w) => w !== "");
  // "评价 YS 2026 12 满意" splits the code: take the longest leading run of words that reads as one.
  let ref: RequestRef | null = null;
  let taken = 0;
  for (let n = Math.min(3, words.length); n >= 1 && !ref; n--) {
    ref = parseRequestRef(words.slice(0, n).join(" "));
    if (ref) taken = n;
  }
  if (!ref) return { rating: null, problem: `请写明要评价的申请编号。${RATING_USAGE}` };
  const tail = words.slice(taken).join(" ");
  for (const [pattern, score] of SCORE_WORDS) {
    const match = pattern.exec(tail);
    if (!match) continue;
    const comment = tail.slice(match[0].length).replace(/^[\s,，:：;；。、!！]+/, "").trim();
    return { rating: { ref, score, ...(comment ? { comment } : {}) } };
  }
  return { rating: null, problem: `请写明“满意”“基本满意”或“不满意”。${RATING_USAGE}` };
}

/** A request as people type it: its number (the id) or its code with or without the YS- prefix. */
export type RequestRef = { id: number } | { code: string };

/** Full-width letters, digits and spaces to half-width, runs of blanks to one space. */
export function normalizeChatText(text: string): string {
  return text.normalize("NFKC").replace(/\s+/g, " ").trim();
}

export function parseRequestRef(text: string): RequestRef | null {
  const t = normalizeChatText(text).replace(/[#＃:：]/g, "").trim();
  const code = /^(?:YS)?[\s-]*(\d{4})[\s-]+(\d{1,12})$/i.exec(t);
  if (code) return { code: `YS-${code[1]}-${code[2]!.padStart(5, "0")}` };
  const bare = /^(?:YS)?[\s-]*(\d{1,12})$/i.exec(t);
  if (bare) {
    const id = Number(bare[1]);
    return id > 0 ? { id } : null;
  }
  return null;
}

const VERBS: [RegExp, "help" | "mine" | "todo" | "query" | "nudge" | "rate" | "cancel" | "new" | "renew"][] = [
  [/^申请(虚拟机)?账号/, "new"],
  [/^续期(虚拟机)?账号/, "renew"],
  [/^(帮助|help|\?|菜单|功能)$/i, "help"],
  [/^(我的申请|我的|我申请的|申请列表)$/, "mine"],
  [/^(待办|我的待办|待处理|待审批|待我处理)$/, "todo"],
  [/^(查询|查|进度|状态|查进度)/, "query"],
  [/^(催办|催)/, "nudge"],
  [/^(评价|服务评价)/, "rate"],
  [/^(取消|算了)$/, "cancel"],
];

export function parseChatCommand(text: string): ChatCommand {
  const t = normalizeChatText(text);
  for (const [pattern, kind] of VERBS) {
    const match = pattern.exec(t);
    if (!match) continue;
    if (kind === "new" || kind === "renew") return { kind: "account", ...parseAccountRequest(kind, t.slice(match[0].length).trim()) };
    if (kind === "rate") return { kind, ...parseRating(t.slice(match[0].length).trim()) };
    if (kind === "query" || kind === "nudge") {
      const rest = t.slice(match[0].length).trim();
      // "查询YS-2026-00012", "查 12", or just "查询" (which asks for the number).
      if (rest === "") return { kind, ref: null };
      const ref = parseRequestRef(rest);
      if (ref) return { kind, ref };
      continue;
    }
    return { kind };
  }
  // A bare request code is a query too.
  const ref = /^YS/i.test(t) ? parseRequestRef(t) : null;
  return ref ? { kind: "query", ref } : { kind: "unknown", text: t };
}

export const CHAT_HELP = [
  "云审可以回答这些消息：",
  "· 我的申请 —— 您提交的、仍在办理中的申请",
  "· 待办 —— 等您处理的申请",
  "· 查询 编号 —— 某个申请的环节、处理人和期限，如：查询 YS-2026-00012",
  "· 催办 编号 —— 提醒当前处理人（每个申请每个工作日一次）",
  "· 评价 编号 满意 / 基本满意 / 不满意 意见 —— 申请办结后评价实施单位的服务",
  "· 申请账号 使用人 账号名 主机 有效期 用途 —— 申请虚拟机账号（续期写“续期账号”），如：申请账号 赵磊 zhaolei vm-web-01 20 日常运维",
  "· 帮助 —— 显示本说明",
  "审批请直接点卡片上的按钮。",
].join("\n");

/** Common reasons offered when a 驳回, 退回 or 未通过 is tapped; the approver may answer with a number or their own words. */
export const COMMON_REASONS: Record<"reject" | "return" | "fail", string[]> = {
  reject: ["不符合集约化建设要求", "资源需求依据不足", "重复申请"],
  return: ["材料不全，请补充附件", "资源配置需调整，请按实际需要填写", "请补充说明用途"],
  fail: ["检测发现高危漏洞，请整改", "存在弱口令或默认账号", "开放了未申请的端口"],
};
