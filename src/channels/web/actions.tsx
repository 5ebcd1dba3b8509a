import { Csrf } from "./layout";

// What the request page and the 待办 list share to act on a request: the form, the code it names, and what a
// page says once the action is done.

/** A request's code as pages and links name it (YS-2026-00012). */
export const REQUEST_CODE = /^YS-\d{4}-\d{5,}$/;

/** Where an action's form was sent from, when that is not the request's own page: the person returns there. */
export type ActionOrigin = "todo";

/** What a page says once an action is done (`?done=<action>`). */
export const DONE: Record<string, string> = {
  approve: "已提交您的意见",
  confirm: "已确认",
  reject: "已驳回",
  return: "已退回",
  fail: "已记录未通过",
  transfer: "已转交",
  comment: "评论已发送",
  withdraw: "申请已撤回",
  nudge: "已催办当前处理人",
  rate: "感谢您的评价",
  // From the forms' pages (/new, /requests/<code>/edit).
  submit: "申请已提交",
  resubmit: "已重新提交",
};

/**
 * One action on a request as a form posted to /requests/<code>/actions, with the session's CSRF token and, for a
 * decision, the stage run it was read from: sent twice, the second finds that run decided and acts on nothing.
 */
export function ActionForm(props: {
  action: string;
  csrf: string;
  code: string;
  runId?: number;
  label: string;
  children?: unknown;
  primary?: boolean;
  from?: ActionOrigin;
  /** The form carries a file (a stage form's document). */
  multipart?: boolean;
}) {
  const { action, csrf, code, runId, label, children, primary, from, multipart } = props;
  return (
    <form method="post" action={`/requests/${code}/actions`} class={from ? "ys-inline-form" : undefined} enctype={multipart ? "multipart/form-data" : undefined}>
      <Csrf csrf={csrf} />
      <input type="hidden" name="action" value={action} />
      {runId !== undefined ? <input type="hidden" name="stageRunId" value={String(runId)} /> : null}
      {from ? <input type="hidden" name="back" value={from} /> : null}
      {children}
      <button type="submit" class={`weui-btn weui-btn_mini ${primary ? "weui-btn_primary" : "weui-btn_default"}`}>
        {label}
      </button>
    </form>
  );
}

/** What became of the last action, above a page's content: the engine's refusal, or what was done. */
export function Outcome({ message }: { message?: { error?: string; notice?: string } }) {
  if (message?.error)
    return (
      <p class="ys-error" role="alert">
        {message.error}
      </p>
    );
  return message?.notice ? <p class="ys-notice">{message.notice}</p> : null;
}
