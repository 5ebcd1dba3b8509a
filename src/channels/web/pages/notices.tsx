import { Hono } from "hono";
import { listIncidents } from "../../../notices/incidents";
import { listMaintenance } from "../../../notices/maintenance";
import { Page } from "../layout";
import type { WebDeps, WebEnv } from "../session";
import { when } from "../words";
import { OversightStyle, Table } from "./oversight";

// 故障与检修 (issue 14), read-only: the incidents (000 8.2; 001 第十九、二十九条; 002 第二十五、三十条; 003 第三十、
// 三十九条) and the maintenance notices (000 8.4; 002 第三十条) the signed-in person may see, as the API lists them
// (the city's roles every one, a unit those that concern it). Reporting and announcing go through /api.

/** /notices: both lists, newest first. */
export function noticePages(_deps: WebDeps) {
  const app = new Hono<WebEnv>();
  app.get("/", async (c) => {
    const ctx = c.get("ctx");
    const incidents = await listIncidents({ ctx });
    const notices = await listMaintenance({ ctx });
    return c.html(
      <Page title="故障与检修" ctx={ctx} csrf={c.get("session").csrf} current="/notices">
        <OversightStyle />
        <h1>故障与检修</h1>
        <h2 class="ys-section-title">故障与突发事件通报</h2>
        {incidents.length === 0 ? (
          <p class="ys-panel ys-muted">暂无涉及您的故障与突发事件。</p>
        ) : (
          <Table head={["事件", "类别", "级别", "发生时间", "受影响单位", "受影响资源", "状态", "最新报告", "依据"]}>
            {incidents.map((i) => {
              const last = i.reports[i.reports.length - 1];
              return (
                <tr class={i.status === "open" ? "ys-row-late" : "ys-row-muted"}>
                  <td>{i.title}</td>
                  <td>{i.kindText}</td>
                  <td>{i.severityText}</td>
                  <td>{when(i.startedAt)}</td>
                  <td>{i.affectedUnits.map((u) => u.name).join("、") || "—"}</td>
                  <td>{i.affectedResources.map((r) => r.name).join("、") || "—"}</td>
                  <td>{i.statusText}</td>
                  <td>{last ? `${last.kindText}（${when(last.reportedAt)}）：${last.text}` : "—"}</td>
                  <td>{i.articles.join("；")}</td>
                </tr>
              );
            })}
          </Table>
        )}
        <h2 class="ys-section-title">平台变更与检修公告</h2>
        {notices.length === 0 ? (
          <p class="ys-panel ys-muted">暂无涉及您的变更与检修公告。</p>
        ) : (
          <Table head={["公告", "类别", "窗口", "影响分析", "受影响单位", "状态", "结果", "依据"]}>
            {notices.map((n) => (
              <tr class={n.status === "announced" ? undefined : "ys-row-muted"}>
                <td>{n.title}</td>
                <td>{n.kindText}</td>
                <td>
                  {when(n.windowStart)} 至 {when(n.windowEnd)}
                </td>
                <td>{n.impact}</td>
                <td>{n.affectedUnits.map((u) => u.name).join("、") || "—"}</td>
                <td>{n.statusText}</td>
                <td>{n.result ?? (n.cancelReason ? `取消：${n.cancelReason}` : "—")}</td>
                <td>{n.articles.join("；")}</td>
              </tr>
            ))}
          </Table>
        )}
      </Page>,
    );
  });
  return app;
}
