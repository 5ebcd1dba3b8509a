import { Hono } from "hono";
import { shanghaiDate } from "../../../core/calendar";
import { invalidInput } from "../../../core/validation";
import { listUnits } from "../../../directory/queries";
import { aggregateDemands, demandOverview, demandYear } from "../../../resources/demand";
import { BarChart } from "../charts";
import { Csrf, Page } from "../layout";
import type { WebDeps, WebEnv } from "../session";
import { when } from "../words";
import { onlyFor, OversightStyle, Table } from "./oversight";
import { REPORT_ROLES } from "./reports";

// 年度资源需求 (issue 12; flow 7, 002 第十七条): the year's figures per unit and per county as demandOverview
// gives them to the person reading (the city every unit once its county passed it on, a county bureau its county,
// a 主管单位审核人 its 下属单位, whose figures it passes on: 002 第十七条(一) 下属单位需求由主管单位统一汇总报送).

/** Who reads the page: the report readers, and the 主管单位审核人 who passes their 下属单位' figures on. */
const DEMAND_ROLES = [...REPORT_ROLES, "unit_supervisor"] as const;

function yearOf(raw: string | undefined) {
  const parsed = demandYear.safeParse(raw);
  if (!parsed.success) throw invalidInput(parsed.error.issues.map((i) => ({ ...i, path: ["年份"] })), "年份有误，应为 2024 至 2100 的四位数字");
  return parsed.data;
}

/** /demands/<year>: the totals, per county and per unit, with a chart of vCPU per unit. */
export function demandPages(deps: WebDeps) {
  const app = new Hono<WebEnv>();
  app.use("*", onlyFor(DEMAND_ROLES));

  // The year being filled in: next year's (002 第十七条: 每年9月底前提出第二年的资源需求预估量).
  app.get("/", (c) => c.redirect(`/demands/${Number(shanghaiDate(c.get("ctx").clock.now()).slice(0, 4)) + 1}`, 303));

  // 002 第十七条(一): the 主管单位审核人 passes on (汇总报送) what its 下属单位 have submitted.
  app.post("/:year/aggregate", async (c) => {
    const year = yearOf(c.req.param("year"));
    const done = await aggregateDemands({ ctx: c.get("ctx"), input: { year } });
    const told = `已汇总报送 ${done.passed} 个下属单位的需求${done.missing.length > 0 ? `；尚未填报：${done.missing.join("、")}` : ""}`;
    return c.redirect(`/demands/${year}?done=${encodeURIComponent(told)}`, 303);
  });

  app.get("/:year", async (c) => {
    const ctx = c.get("ctx");
    const year = yearOf(c.req.param("year"));
    const done = c.req.query("done");
    const o = await demandOverview({ ctx, input: { year } });
    const supervising = ctx.actor!.roles.includes("unit_supervisor");
    const names = new Map((await listUnits(deps.db)).map((u) => [u.id, u.name]));
    return c.html(
      <Page title={`${year} 年度资源需求`} ctx={ctx} csrf={c.get("session").csrf} current="/reports">
        <OversightStyle />
        <h1>{year} 年度资源需求</h1>
        <p class="ys-panel">
          <a href={`/demands/${year - 1}`}>上一年</a> · <a href={`/demands/${year + 1}`}>下一年</a>
        </p>
        {done ? <p class="ys-panel">{done.slice(0, 200)}</p> : null}
        {supervising ? (
          <form method="post" action={`/demands/${year}/aggregate`} class="ys-panel">
            <Csrf csrf={c.get("session").csrf} />
            下属单位的年度资源需求由主管单位统一汇总报送（002 第十七条）。{" "}
            <button type="submit" class="weui-btn weui-btn_mini weui-btn_primary">
              汇总报送下属单位需求
            </button>
          </form>
        ) : null}
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
            {o.supervisors.length > 0 ? (
              <>
                <h2 class="ys-section-title">各主管单位汇总（下属单位）</h2>
                <Table head={["主管单位", "下属单位数", "vCPU（核）", "内存（G）", "存储（G）"]}>
                  {o.supervisors.map((k) => (
                    <tr>
                      <td>{names.get(k.supervisorId) ?? k.supervisorId}</td>
                      <td>{k.units}</td>
                      <td>{k.vcpu}</td>
                      <td>{k.memoryGb}</td>
                      <td>{k.storageGb}</td>
                    </tr>
                  ))}
                </Table>
              </>
            ) : null}
            <h2 class="ys-section-title">各单位</h2>
            <Table head={["单位", "vCPU（核）", "内存（G）", "存储（G）", "说明", "填报时间", "主管单位报送", "县级报送"]}>
              {o.units.map((u) => (
                <tr>
                  <td>{u.unitName}</td>
                  <td>{u.vcpu}</td>
                  <td>{u.memoryGb}</td>
                  <td>{u.storageGb}</td>
                  <td>{u.note || "—"}</td>
                  <td>{when(u.submittedAt)}</td>
                  <td>
                    {u.supervisorId === null
                      ? "—"
                      : u.supervisedAt
                        ? `${names.get(u.supervisorId) ?? u.supervisorId} ${u.supervisedBy ?? ""} ${when(u.supervisedAt)}`
                        : `待${names.get(u.supervisorId) ?? u.supervisorId}汇总报送`}
                  </td>
                  <td>{u.passedAt ? `${u.passedBy ?? ""} ${when(u.passedAt)}` : "—"}</td>
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
