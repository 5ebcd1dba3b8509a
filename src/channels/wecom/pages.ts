import { Hono } from "hono";
import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { z } from "zod";
import type { Db } from "../../../db/client";
import { shanghaiDate, type WorkCalendar } from "../../core/calendar";
import type { Clock, ServiceContext } from "../../core/context";
import { userByWecomId } from "../../directory/queries";
import { getRequest, requestIdByCode } from "../../engine/views";
import { ServiceError } from "../../core/errors";

export interface WecomPageDeps {
  db: Db;
  clock: Clock;
  calendar: () => WorkCalendar;
  profile: ServiceContext["profile"];
  /** WeCom's answer to the OAuth code: the member who opened the page, or null. */
  userIdFromOAuthCode: (code: string) => Promise<string | null>;
  log: (line: string) => void;
}

/**
 * The link a card's 详情 opens inside WeCom: WeCom's OAuth (snsapi_base) sends the member back to our page with
 * a one-time code, so the page knows who is looking without any login of ours.
 */
export function oauthLink(opts: { oauthBase: string; corpId: string; agentId: number; target: string }): string {
  const query = new URLSearchParams({
    appid: opts.corpId,
    redirect_uri: opts.target,
    response_type: "code",
    scope: "snsapi_base",
    state: "ys",
    agentid: String(opts.agentId),
  });
  return `${opts.oauthBase}/connect/oauth2/authorize?${query}#wechat_redirect`;
}

const pageQuery = z.object({ code: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/) });
const requestCode = z.string().regex(/^YS-\d{4}-\d{5,}$/);

function page(title: string, body: HtmlEscapedString | Promise<HtmlEscapedString>) {
  return html`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>body{font-family:system-ui,sans-serif;margin:0;padding:16px;color:#222;line-height:1.5}h1{font-size:18px}
table{border-collapse:collapse;width:100%;font-size:14px}td,th{border-bottom:1px solid #eee;padding:6px 4px;text-align:left;vertical-align:top}
.muted{color:#888}.late{color:#c0392b}</style></head><body>${body}</body></html>`;
}

const STATUS_TEXT: Record<string, string> = {
  open: "办理中",
  approved: "已通过",
  rejected: "已驳回",
  returned: "已退回",
  failed: "未通过",
  withdrawn: "已撤回",
  elapsed: "已届满",
};
const TASK_TEXT: Record<string, string> = {
  pending: "待处理",
  approved: "同意",
  rejected: "驳回",
  returned: "退回",
  failed: "未通过",
  transferred: "已转交",
  superseded: "他人已处理",
  cancelled: "—",
};

/** GET /wecom/requests/:code — a request's details for the WeCom member who opened it from a card. */
export function wecomPageRoutes(deps: WecomPageDeps) {
  const app = new Hono();
  app.get("/:code", async (c) => {
    const refuse = (status: 400 | 403 | 404, message: string) => c.html(page("云审", html`<h1>无法显示</h1><p>${message}</p>`), status);
    const code = requestCode.safeParse(c.req.param("code").toUpperCase());
    const query = pageQuery.safeParse(c.req.query());
    if (!code.success) return refuse(400, "申请编号无效");
    if (!query.success) return refuse(400, "请从企业微信的卡片打开此页面");
    let wecomUserId: string | null;
    try {
      wecomUserId = await deps.userIdFromOAuthCode(query.data.code);
    } catch (err) {
      deps.log(`企业微信网页授权失败：${err instanceof Error ? err.message : String(err)}`);
      return refuse(403, "链接已失效，请回到企业微信从卡片重新打开");
    }
    const user = wecomUserId ? await userByWecomId(deps.db, wecomUserId) : null;
    if (!user) return refuse(403, "您还不在云审通讯录中，请联系管理员");
    const ctx: ServiceContext = {
      db: deps.db,
      clock: deps.clock,
      calendar: deps.calendar(),
      profile: deps.profile,
      actor: { userId: user.id, name: user.name, unitId: user.unitId, roles: user.roles },
      channel: "wecom",
    };
    const id = await requestIdByCode(deps.db, code.data);
    let r;
    try {
      if (id === null) return refuse(404, `申请 ${code.data} 不存在或您无权查看`);
      r = await getRequest({ ctx, input: { id } });
    } catch (err) {
      if (err instanceof ServiceError) return refuse(404, err.message);
      throw err;
    }
    const stages = r.stages.map(
      (s) => html`<tr><td>${s.name}</td><td>${STATUS_TEXT[s.status] ?? s.status}${s.overdue ? html` <span class="late">逾期</span>` : ""}</td>
<td>${s.tasks.filter((x) => x.status !== "cancelled").map((x) => html`${x.userName}：${TASK_TEXT[x.status] ?? x.status}${x.note ? `（${x.note}）` : ""}<br>`)}</td>
<td>${s.deadlineAt ? shanghaiDate(s.deadlineAt) : html`<span class="muted">—</span>`}</td></tr>`,
    );
    const current = r.currentStage;
    const body = html`<h1>${r.title}</h1>
<p>${r.code} · ${r.unit.name} · ${r.statusName}${r.overdue ? html` <span class="late">有逾期</span>` : ""}</p>
${r.summary.map((f) => html`<p>${f.label}：${f.value}</p>`)}
${current
  ? html`<p>当前环节：<b>${current.name}</b>，${current.workdays?.left === null || current.workdays?.left === undefined ? "" : raw(current.workdays.left < 0 ? `<span class="late">已逾期 ${-current.workdays.left} 个工作日</span>` : `剩 ${current.workdays.left} 个工作日`)}</p>`
  : ""}
<table><tr><th>环节</th><th>状态</th><th>处理</th><th>期限</th></tr>${stages}</table>
<p class="muted">审批请在卡片上操作；在聊天中发送“查询 ${r.code}”也可查看进度。</p>`;
    return c.html(page(`${r.code} ${r.title}`, body));
  });
  return app;
}
