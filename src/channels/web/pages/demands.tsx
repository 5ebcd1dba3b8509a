import { Hono } from "hono";
import { invalidInput } from "../../../core/validation";
import { listUnits } from "../../../directory/queries";
import { demandOverview, demandYear } from "../../../resources/demand";
import { BarChart } from "../charts";
import { Page } from "../layout";
import type { WebDeps, WebEnv } from "../session";
import { when } from "../words";
import { onlyFor, OversightStyle, Table } from "./oversight";
import { REPORT_ROLES } from "./reports";

// 年度资源需求 (issue 12; flow 7, 002 第十七条): the year's figures per unit and per county as demandOverview
// gives them to the person reading (the city every unit once its county passed it on, a county bureau its county).

/** /demands/<year>: the totals, per county and per unit, with a chart of vCPU per unit. */
export function demandPages(deps: WebDeps) {
  const app = new Hono<WebEnv>();
  app.use("*", onlyFor(REPORT_ROLES));

  app.get("/:year", async (c) => {
    const ctx = c.get("ctx");
    const parsed = demandYear.safeParse(c.req.param("year"));
    if (!parsed.success) throw invalidInput(parsed.error.issues.map((i) => ({ ...i, path: ["年份"] })), "年份有误，应为 2024 至 2100 的四位数字");
    const year = parsed.data;
    const o = await demandOverview({ ctx, input: { year } });
    const names = new Map((await listUnits(deps.db)).map((u) => [u.id, u.name]));
    return c.html(
      <Page title={`${year} 年度资源需求`} ctx={ctx} csrf={c.get("session").csrf} current="/reports">
        <OversightStyle />
        <h1>{year} 年度资源需求</h1>
        <p class="ys-panel">
          <a href={`/demands/${year - 1}`}>上一年</a> · <a href={`/demands/${year + 1}`}>下一年</a>
        </p>
        <p class="ys-panel">
          合计：vCPU {o.total.vcpu} 核，内存 {o.total.memoryGb} G，存储 {o.total.storageGb} G（{o.units.length} 个单位）
        </p>
        {o.units.length === 0 ? (
          <p class="ys-panel ys-muted">该年度暂无已填报（或已由县级数据局报送）的需求。</p>
        ) : (
          <>
            <div class="ys-chart-grid">
              <BarChart id="demand-units" title={`${year} 年各单位 vCPU 需求（核）`} bars={o.units.map((u) => ({ label: u.unitName, value: u.vcpu }))} unit="核" valueHeader="vCPU" />
              {o.counties.length > 0 ? (
                <BarChart
                  id="demand-counties"
                  title={`${year} 年各县区 vCPU 需求（核）`}
                  bars={o.counties.map((k) => ({ label: names.get(k.countyId) ?? k.countyId, value: k.vcpu }))}
                  unit="核"
                  valueHeader="vCPU"
                />
              ) : null}
            </div>
            {o.counties.length > 0 ? (
              <>
                <h2 class="ys-section-title">各县区</h2>
                <Table head={["县区", "vCPU（核）", "内存（G）", "存储（G）"]}>
                  {o.counties.map((k) => (
                    <tr>
                      <td>{names.get(k.countyId) ?? k.countyId}</td>
                      <td>{k.vcpu}</td>
                      <td>{k.memoryGb}</td>
                      <td>{k.storageGb}</td>
                    </tr>
                  ))}
                </Table>
              </>
            ) : null}
            <h2 class="ys-section-title">各单位</h2>
            <Table head={["单位", "vCPU（核）", "内存（G）", "存储（G）", "说明", "填报时间", "县级报送"]}>
              {o.units.map((u) => (
                <tr>
                  <td>{u.unitName}</td>
                  <td>{u.vcpu}</td>
                  <td>{u.memoryGb}</td>
                  <td>{u.storageGb}</td>
                  <td>{u.note || "—"}</td>
                  <td>{when(u.submittedAt)}</td>
                  <td>{u.passedAt ? when(u.passedAt) : "—"}</td>
                </tr>
              ))}
            </Table>
          </>
        )}
      </Page>,
    );
  });
  return app;
}
