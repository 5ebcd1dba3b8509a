import { Hono } from "hono";
import { z } from "zod";
import { auditDownload, auditQuerySchema, isAuditor, listAuditEntries, verifyAuditLog } from "../../../audit/auditors";
import { forbidden } from "../../../core/errors";
import { Csrf, Page } from "../layout";
import type { WebDeps, WebEnv } from "../session";
import { when } from "../words";
import { DateRange, FilterButtons, OversightStyle, Pager, pageQuery, queryOf, Table } from "./oversight";

// 审计 (issue 12): the audit log for the auditors (统筹管理单位, 复核单位), filtered by request, person and date;
// 校验 runs the chain verification of `yunshen audit verify` (src/audit) and shows the count or the first bad
// entry; the export is the CLI's, signatures and all, so it verifies offline.

const PAGE_SIZE = 100;
const LABELS = { request: "申请", actor: "操作人", from: "日期自", to: "日期至", before: "页码" };
const exportQuery = z.object({ format: z.enum(["jsonl", "csv"]).default("csv") });

/** /audit, POST /audit/verify, /audit/export. */
export function auditPages(deps: WebDeps) {
  const app = new Hono<WebEnv>();
  // The audit module's own rule, so the page and the API refuse the same people.
  app.use("*", async (c, next) => {
    if (!isAuditor(c.get("ctx").actor)) throw forbidden("审计日志仅统筹管理单位和复核单位可以查看");
    await next();
  });

  app.get("/", async (c) => {
    const ctx = c.get("ctx");
    const q = pageQuery(c, auditQuerySchema, LABELS);
    const { items, next } = await listAuditEntries({ ctx, input: { ...q, limit: PAGE_SIZE } });
    const filters = { request: q.request, actor: q.actor, from: q.from, to: q.to };
    const csrf = c.get("session").csrf;
    return c.html(
      <Page title="审计日志" ctx={ctx} csrf={csrf} current="/audit">
        <OversightStyle />
        <h1>审计日志</h1>
        <form method="get" action="/audit" class="ys-panel ys-filters">
          <label>
            申请编号
            <input type="text" name="request" value={q.request ?? ""} placeholder="YS-2026-00001" maxlength={40} />
          </label>
          <label>
            操作人（用户 ID）
            <input type="text" name="actor" value={q.actor ?? ""} maxlength={64} />
          </label>
          <DateRange label="日期" from={q.from} to={q.to} />
          <FilterButtons clear="/audit">
            <a href="/audit/export?format=csv" download>
              导出全部（CSV）
            </a>
            <a href="/audit/export?format=jsonl" download>
              导出全部（JSON Lines，可离线校验）
            </a>
          </FilterButtons>
        </form>
        <form method="post" action="/audit/verify" class="ys-panel">
          <Csrf csrf={csrf} />
          <button type="submit" class="weui-btn weui-btn_mini weui-btn_default">
            校验
          </button>{" "}
          <span class="ys-muted">校验整个审计日志的哈希链、签名与锚点（与 yunshen audit verify 相同）。</span>
        </form>
        {items.length === 0 ? (
          <p class="ys-panel ys-muted">没有符合条件的审计记录。</p>
        ) : (
          <Table head={["序号", "时间", "操作人", "角色", "操作", "申请", "环节", "结果", "渠道", "详情"]}>
            {items.map((e) => (
              <tr class={e.outcome === "refused" ? "ys-row-late" : undefined}>
                <td>{e.seq}</td>
                <td>{when(e.at)}</td>
                <td>{e.actorId ? `${e.actorName ?? ""}（${e.actorId}）` : "系统"}</td>
                <td>{e.actorRole ?? "—"}</td>
                <td>{e.action}</td>
                <td>{e.requestCode ? <a href={`/requests/${e.requestCode}`}>{e.requestCode}</a> : "—"}</td>
                <td>{e.stage ?? "—"}</td>
                <td>{e.outcome === "ok" ? "成功" : "拒绝"}</td>
                <td>{e.channel}</td>
                <td class="ys-details">{JSON.stringify(e.details)}</td>
              </tr>
            ))}
          </Table>
        )}
        <Pager path="/audit" filters={filters} paged={Boolean(q.before)} next={next} />
      </Page>,
    );
  });

  app.post("/verify", async (c) => {
    const ctx = c.get("ctx");
    const result = await verifyAuditLog({ ctx, input: { files: deps.settings.auditFiles ?? null } });
    return c.html(
      <Page title="审计日志校验" ctx={ctx} csrf={c.get("session").csrf} current="/audit">
        <OversightStyle />
        <h1>审计日志校验</h1>
        {result.ok ? (
          <div class="ys-notice" role="status">
            <p>审计日志完整：{result.count} 条记录，哈希链校验通过。</p>
            <p>{result.signaturesChecked ? `签名：${result.signed} 条全部有效。` : "签名：未校验（本机没有签名密钥文件）。"}</p>
            <p>
              {result.lastAnchor
                ? `锚点：与 ${result.anchors} 个锚点相符，最近一个为第 ${result.lastAnchor.seq} 条（${when(result.lastAnchor.at)}）。`
                : "锚点：没有锚点文件，无法发现被删除的最新记录。"}
            </p>
          </div>
        ) : (
          <div class="ys-error" role="alert">
            <p>
              审计日志校验失败：{result.firstBad.reason}（第 {result.firstBad.seq} 条；此前 {result.count} 条校验通过）
            </p>
            {result.findings.slice(1).map((f) => (
              <p>另：{f.reason}</p>
            ))}
            <p>
              <a href={`/audit?${queryOf({ before: result.firstBad.seq + 1 })}`}>查看第 {result.firstBad.seq} 条及之前的记录</a>
            </p>
          </div>
        )}
        <p>
          <a href="/audit">返回审计日志</a>
        </p>
      </Page>,
    );
  });

  app.get("/export", (c) => {
    const { body, headers } = auditDownload({ ctx: c.get("ctx"), input: pageQuery(c, exportQuery, { format: "格式" }) });
    return c.body(body, 200, headers);
  });
  return app;
}
