// Channel-neutral card views: pure functions from a request's facts to a Card. Channel renderers
// (console now, WeCom later) turn a Card into their own message format.

export type CardTone = "info" | "warning" | "success" | "danger";

export interface CardAction {
  /** Engine action the button performs. */
  action: "approve" | "reject" | "return" | "fail";
  label: string;
}

export interface Card {
  title: string;
  tone: CardTone;
  /** One line under the title: what happened or what is asked. */
  summary: string;
  fields: { label: string; value: string }[];
  actions: CardAction[];
  /** Path of the request in the API, for a "details" link. */
  link: string;
  /** A portal page that does what the card asks, where a button cannot (修改后重新提交 is a form to edit). */
  open?: { label: string; path: string };
}

export interface CardRequest {
  id: number;
  code: string;
  title: string;
  unitName: string;
  /** The flow's summary of the request (system and resources; account, holder and hosts…). */
  summary: { label: string; value: string }[];
}

export interface CardStage {
  name: string;
  approveLabel: string;
  /** False when the request's facts bar approving the stage (only 退回 is left). */
  canApprove?: boolean;
  canReject: boolean;
  canReturn: boolean;
  /** The stage has a "not passed" outcome (安全检测未通过). */
  canFail: boolean;
  /** "2026-11-24（剩 2 个工作日）" or null when the stage has no deadline. */
  deadlineText: string | null;
  /** The applicant's turn after 退回: the request's form, opened on the portal, edited and sent again. */
  onForm?: boolean;
  /**
   * Approving the stage needs this form filled in (梅州's 附件6 at 申请上线前安全检测): a one-click button would be
   * refused, so the card opens the request's page on the portal, where the form is.
   */
  form?: string;
}

function requestFields(r: CardRequest): Card["fields"] {
  return [{ label: "编号", value: r.code }, { label: "单位", value: r.unitName }, ...r.summary];
}

/** Sent to each assignee when a stage opens: the card an approver taps. */
export function taskCard(r: CardRequest, stage: CardStage, note?: string): Card {
  if (stage.onForm)
    return {
      title: `待处理：${stage.name}`,
      tone: "warning",
      summary: note ?? `「${r.title}」已退回，请修改后重新提交`,
      fields: [...requestFields(r), { label: "环节", value: stage.name }],
      actions: [],
      link: `/api/requests/${r.id}`,
      open: { label: stage.approveLabel, path: `/requests/${r.code}/edit` },
    };
  const actions: CardAction[] = stage.canApprove === false || stage.form ? [] : [{ action: "approve", label: stage.approveLabel }];
  if (stage.canReject) actions.push({ action: "reject", label: "驳回" });
  if (stage.canReturn) actions.push({ action: "return", label: "退回" });
  if (stage.canFail) actions.push({ action: "fail", label: "未通过" });
  return {
    title: `待处理：${stage.name}`,
    tone: "info",
    summary: [note ?? `${r.unitName}「${r.title}」等待您处理`, ...(stage.form ? [`请在网页端填写${stage.form}后提交`] : [])].join("；"),
    fields: [
      ...requestFields(r),
      { label: "环节", value: stage.name },
      ...(stage.deadlineText ? [{ label: "期限", value: stage.deadlineText }] : []),
    ],
    actions,
    link: `/api/requests/${r.id}`,
    ...(stage.form ? { open: { label: stage.approveLabel, path: `/requests/${r.code}#actions` } } : {}),
  };
}

/** Everything that is told rather than asked: results, reminders, warnings, comments. */
export function noticeCard(r: CardRequest, title: string, summary: string, tone: CardTone = "info", extra: Card["fields"] = []): Card {
  return { title, tone, summary, fields: [...requestFields(r), ...extra], actions: [], link: `/api/requests/${r.id}` };
}

/** Plain-text rendering for the console sender and for chat channels without cards. */
export function cardText(card: Card): string {
  const lines = [`【${card.title}】${card.summary}`, ...card.fields.map((f) => `  ${f.label}：${f.value}`)];
  if (card.actions.length > 0) lines.push(`  可选操作：${card.actions.map((a) => a.label).join(" / ")}`);
  if (card.open) lines.push(`  ${card.open.label}：在网页端打开 ${card.open.path}`);
  lines.push(`  详情：${card.link}`);
  return lines.join("\n");
}
