import { Hono } from "hono";
import { z } from "zod";
import { BILLING_FLAG_NAMES, billingRequestsFor, PARTY_TITLE, statementOfRecord, statementPage } from "../../../billing/draft";
import { fundersOf, fundingSplit } from "../../../billing/funding";
import { listPayments, paymentOfMonth } from "../../../billing/payment";
import { shanghaiDate } from "../../../core/calendar";
import { ServiceError } from "../../../core/errors";
import { invalidInput, monthSchema } from "../../../core/validation";
import { FLOWS, getRequest, STATUS_NAMES, submitRequest } from "../../../engine";
import { errorPage } from "../guard";
import { Csrf, Page } from "../layout";
import type { WebDeps, WebEnv } from "../session";
import { when } from "../words";
import { onlyFor, OversightStyle, Table, yuan } from "./oversight";
import { lastMonth, REPORT_ROLES } from "./reports";

// 费用结算 (issue 12; flows.md flow 6, 004 第四十一—四十七条): the month's statement to check and countersign,
// its new, adjusted, revoked and backup lines and those whose dates the monitoring contradicts (日期不符)
// highlighted, and the statement itself laid out as 附件13 for the browser to print. Checking and signing are
// the billing flow's own actions on its request (the request page's form), never a second path.

const monthParam = z.object({ month: monthSchema });

function monthOf(raw: string): string {
  const parsed = monthParam.safeParse({ month: raw });
  if (!parsed.success) throw invalidInput(parsed.error.issues.map((i) => ({ ...i, path: ["月份"] })), "月份有误，应为 YYYY-MM（如 2026-11）");
  return parsed.data.month;
}

/** 004 第四十七条: the manager picks the period's months and starts the payment (the payment flow's own submission). */
function StartPayment({ csrf, month }: { csrf: string; month: string }) {
  return (
    <form method="post" action="/billing/payments" class="ys-panel ys-filters">
      <Csrf csrf={csrf} />
      <strong>发起费用支付</strong>
      <label>
        起始月份
        <input type="month" name="from" value={month} required />
      </label>
      <label>
        结束月份
        <input type="month" name="to" value={month} required />
      </label>
      <button type="submit" class="weui-btn weui-btn_mini weui-btn_primary">
        发起支付
      </button>
      <span class="ys-muted">支付周期内各月的结算单须已经三方签字，每月只支付一次；提交后由评估实施单位和复核单位确认，再由您发起报账。</span>
    </form>
  );
}

/**
 * /billing/<month>: the statement with its checks and the signing; /billing/<month>/print: 附件13 alone;
 * /billing/payments: the payments (004 第四十七条), and where the manager starts one.
 */
export function billingPages(deps: WebDeps) {
  const app = new Hono<WebEnv>();
  app.use("*", onlyFor(REPORT_ROLES));

  app.get("/payments", async (c) => {
    const ctx = c.get("ctx");
    const csrf = c.get("session").csrf;
    const payments = await listPayments({ ctx, input: {} });
    return c.html(
      <Page title="费用支付" ctx={ctx} csrf={csrf} current="/reports">
        <OversightStyle />
        <h1>费用支付</h1>
        {ctx.actor!.roles.includes("manager") ? <StartPayment csrf={csrf} month={lastMonth(ctx.clock.now())} /> : null}
        <Table head={["编号", "支付周期", "合计（元）", "资金来源", "状态", "报账单号"]}>
          {payments.map((p) => (
            <tr>
              <td>
                <a href={`/requests/${p.code}`}>{p.code}</a>
              </td>
              <td>{p.from === p.to ? p.from : `${p.from} 至 ${p.to}`}</td>
              <td class="ys-num">{yuan(p.total)}</td>
              <td>{p.funding.map((f) => `${f.name} ${yuan(f.amount)}`).join("；")}</td>
              <td>{p.status === "completed" ? "已支付（已发起报账）" : (STATUS_NAMES[p.status] ?? p.status)}</td>
              <td>{p.paid?.reference ?? "—"}</td>
            </tr>
          ))}
        </Table>
      </Page>,
    );
  });

  app.post("/payments", async (c) => {
    const body = (await c.req.parseBody()) as Record<string, unknown>;
    const form = { from: String(body.from ?? ""), to: String(body.to ?? "") };
    try {
      const started = await submitRequest({ ctx: c.get("ctx"), input: { flow: "payment", form } });
      deps.onQueued?.();
      return c.redirect(`/requests/${started.code}`, 303);
    } catch (err) {
      // The flow's own refusal (unsigned months, a month paid already), on a page of its own; nothing was written.
      if (err instanceof ServiceError && err.status !== 503) return errorPage(c, err.status, err.message, err.fields);
      throw err;
    }
  });

  app.get("/:month", async (c) => {
    const ctx = c.get("ctx");
    const month = monthOf(c.req.param("month"));
    const { statement: s, signatures, source } = await statementOfRecord(ctx, month);
    const live = (await billingRequestsFor(deps.db, month)).find((r) => r.status !== "rejected" && r.status !== "withdrawn");
    const signoff = live ? await getRequest({ ctx, input: { id: live.id } }) : null;
    const stage = signoff?.currentStage ?? null;
    const mine = stage && !stage.elapses && stage.tasks.some((t) => t.status === "pending" && t.userId === ctx.actor!.userId) ? stage : null;
    const def = mine ? FLOWS.billing.stages[mine.stage as keyof typeof FLOWS.billing.stages] : null;
    const counts = Object.keys(BILLING_FLAG_NAMES)
      .map((flag) => [flag, s.lines.filter((l) => l.flags.includes(flag as never)).length] as const)
      .filter(([, n]) => n > 0);
    const unitName = new Map(s.units.map((u) => [u.unitId, u.unitName]));
    const split = fundingSplit(s.units, await fundersOf(deps.db));
    const payment = await paymentOfMonth(deps.db, month);
    const csrf = c.get("session").csrf;
    return c.html(
      <Page title={`${month} 费用结算单`} ctx={ctx} csrf={csrf} current="/reports">
        <OversightStyle />
        <div class="ys-no-print">
          <h1>{month} 费用结算单</h1>
          <p class="ys-panel">
            {source === "signoff" ? (
              <>
                结算流程 <a href={`/requests/${signoff!.code}`}>{signoff!.code}</a>：{signoff!.statusName}
                {stage ? `，当前环节：${stage.name}` : ""}。以下为进入流程时编制的结算单（签字所据）。
              </>
            ) : (
              "本月结算单尚未进入结算流程，以下按资源台账当前情况计算。"
            )}
          </p>
          <p class="ys-panel">
            费用支付（004 第四十七条）：
            {payment ? (
              <>
                <a href={`/requests/${payment.code}`}>{payment.code}</a>
                {payment.status === "completed" ? `，已支付（报账单号 ${payment.reference ?? ""}，${payment.paidAt ? shanghaiDate(payment.paidAt) : ""}）` : `，${STATUS_NAMES[payment.status] ?? payment.status}`}
              </>
            ) : (
              "本月尚未发起支付"
            )}
            。<a href="/billing/payments">全部费用支付</a>
          </p>
          {!payment && signatures?.status === "completed" && ctx.actor!.roles.includes("manager") ? <StartPayment csrf={csrf} month={month} /> : null}
          {counts.length > 0 ? (
            <p class="ys-panel">
              重点核对：
              {counts.map(([flag, n]) => (
                <span class={`ys-flag ys-flag-${flag}`}>
                  {BILLING_FLAG_NAMES[flag]} {n} 项
                </span>
              ))}
            </p>
          ) : null}
          {mine && signoff ? (
            <div class="ys-panel ys-actions">
              <h2 class="ys-section-title">{mine.name}</h2>
              <form method="post" action={`/requests/${signoff.code}/actions`}>
                <Csrf csrf={csrf} />
                <input type="hidden" name="action" value="approve" />
                <input type="hidden" name="stageRunId" value={String(mine.runId)} />
                <label>
                  意见（可不填）
                  <input type="text" name="note" maxlength={500} />
                </label>
                <button type="submit" class="weui-btn weui-btn_primary">
                  {def?.approveLabel ?? "同意"}
                </button>
              </form>
              {def && "canReturn" in def && def.canReturn ? (
                <form method="post" action={`/requests/${signoff.code}/actions`}>
                  <Csrf csrf={csrf} />
                  <input type="hidden" name="action" value="return" />
                  <input type="hidden" name="stageRunId" value={String(mine.runId)} />
                  <label>
                    退回原因
                    <input type="text" name="reason" maxlength={500} required />
                  </label>
                  <button type="submit" class="weui-btn weui-btn_default">
                    退回
                  </button>
                </form>
              ) : null}
            </div>
          ) : null}
          <p class="ys-muted">
            打印附件13：使用浏览器的“打印”（Ctrl+P），页面上只会打印下面的结算单；或打开<a href={`/billing/${month}/print`}>单独的打印页</a>。
          </p>
        </div>
        <section class="ys-print-sheet" aria-label="附件13 政务云资源费用结算单">
          <h2 class="ys-sheet-title">{month} 政务云资源费用结算单</h2>
          <Table head={["资源", "单位", "系统", "类型", "计费天数", "金额（元）", "标记"]}>
            {s.lines.map((l) => (
              <tr class={l.flags.map((f) => `ys-flag-${f}`).join(" ") || undefined}>
                <td>{l.name}</td>
                <td>{unitName.get(l.unitId) ?? l.unitId}</td>
                <td>{l.system}</td>
                <td>{l.kind}</td>
                <td>{l.days}</td>
                <td class="ys-num">{yuan(l.amount)}</td>
                <td>
                  {l.flags.map((f) => BILLING_FLAG_NAMES[f]).join("、")}
                  {l.mismatch.length > 0 ? <div class="ys-mismatch">{l.mismatch.join("；")}</div> : null}
                </td>
              </tr>
            ))}
            <tr class="ys-total">
              <td colspan={5}>合计</td>
              <td class="ys-num">{yuan(s.total)}</td>
              <td></td>
            </tr>
          </Table>
          <p>各单位：{s.units.map((u) => `${u.unitName} ${yuan(u.amount)} 元`).join("；") || "无"}</p>
          <Table head={["资金来源（004 第四十二条）", "金额（元）"]}>
            {split.map((f) => (
              <tr>
                <td>{f.name}</td>
                <td class="ys-num">{yuan(f.amount)}</td>
              </tr>
            ))}
            <tr class="ys-total">
              <td>合计</td>
              <td class="ys-num">{yuan(s.total)}</td>
            </tr>
          </Table>
          <table class="ys-signatures">
            <tbody>
              <tr>
                {["manager", "applicant", "reviewer"].map((party) => {
                  const vote = signatures?.votes.find((v) => v.party === party);
                  return (
                    <td>
                      {PARTY_TITLE[party]}
                      <br />
                      {vote ? `${vote.name} ${vote.decidedAt ? shanghaiDate(vote.decidedAt) : ""}` : "（未签）"}
                    </td>
                  );
                })}
              </tr>
            </tbody>
          </table>
          {signatures?.status === "completed" ? <p class="ys-muted">三方签字后的结算单摘要（SHA-256）：{signatures.sha256}</p> : null}
          <p class="ys-muted ys-no-print">生成时间：{when(ctx.clock.now())}</p>
        </section>
      </Page>,
    );
  });

  app.get("/:month/print", async (c) => {
    const { statement, signatures } = await statementOfRecord(c.get("ctx"), monthOf(c.req.param("month")));
    return c.html(statementPage(statement, signatures, fundingSplit(statement.units, await fundersOf(deps.db))));
  });
  return app;
}
