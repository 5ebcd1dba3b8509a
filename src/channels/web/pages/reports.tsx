import { Hono } from "hono";
import { addCalendarDays, shanghaiDate } from "../../../core/calendar";
import { csvHeaders } from "../../../core/csv";
import { seesEveryUnit } from "../../../core/roles";
import { inspectionLine, monthlyReport, monthlyReportCsv, monthlyReportQuery } from "../../../reports/monthly";
import { BarChart } from "../charts";
import { Page } from "../layout";
import type { WebDeps, WebEnv } from "../session";
import { Badge, when } from "../words";
import { onlyFor, OversightStyle, pageQuery, queryOf, Table } from "./oversight";

// 报表 (issue 12): the monthly report of src/reports with charts where people would rather look than read
// (utilisation per unit, low-load VMs, late stages per holder, the provider's response and satisfaction),
// and the way to the ledger, the month's statement and the year's demands.

/** Who reads the reports: the city's roles and the county bureaus (each sees the units of its scope). */
export const REPORT_ROLES = ["manager", "reviewer", "provider", "county_bureau"] as const;

/** The month before today's, in Beijing: what a monthly page opens on. */
export const lastMonth = (now: Date) => addCalendarDays(`${shanghaiDate(now).slice(0, 8)}01`, -1).slice(0, 7);

const LABELS = { month: "月份", unit: "单位", table: "表" };
const CSV_TABLES = { units: "各单位", late: "逾期环节", lowload: "低负载虚拟机", provider: "评估实施单位", funding: "资金来源", flagged: "紧急申请与专属资源池", inspections: "安全督查与检查" } as const;

/** /reports: the index; /reports/monthly: the report with its charts; /reports/monthly.csv: one of its tables. */
export function reportPages(_deps: WebDeps) {
  const app = new Hono<WebEnv>();
  app.use("*", onlyFor(REPORT_ROLES));

  app.get("/", (c) => {
    const ctx = c.get("ctx");
    const now = ctx.clock.now();
    const links = [
      ["/reports/monthly", "月度报告", "资源、利用率、低负载虚拟机、逾期环节、评估实施单位履职与服务评价"],
      ["/resources", "资源台账", "各单位在用与已撤销的资源，每台虚拟机的每日利用率"],
      // The statement is the city's (src/billing reads it to the roles that see every unit).
      ...(seesEveryUnit(ctx.actor!) ? [[`/billing/${lastMonth(now)}`, "费用结算单", "上月结算单的核对与会签，附件13 打印"] as const] : []),
      ...(seesEveryUnit(ctx.actor!) ? [["/billing/payments", "费用支付", "发起与确认费用支付、报账（004 第四十七条），各级财政分担"] as const] : []),
      [`/demands/${shanghaiDate(now).slice(0, 4)}`, "年度资源需求", "各单位、各县区的年度需求合计"],
    ] as const;
    return c.html(
      <Page title="报表" ctx={ctx} csrf={c.get("session").csrf} current="/reports">
        <h1>报表</h1>
        <div class="weui-cells">
          {links.map(([href, title, desc]) => (
            <a class="weui-cell weui-cell_access" href={href}>
              <div class="weui-cell__bd">
                <p>{title}</p>
                <p class="ys-muted">{desc}</p>
              </div>
              <div class="weui-cell__ft"></div>
            </a>
          ))}
        </div>
      </Page>,
    );
  });

  app.get("/monthly", async (c) => {
    const ctx = c.get("ctx");
    const q = pageQuery(c, monthlyReportQuery.partial({ month: true }), LABELS);
    const month = q.month ?? lastMonth(ctx.clock.now());
    const report = await monthlyReport({ ctx, input: { month, unit: q.unit } });
    const unitName = new Map(report.units.map((u) => [u.unitId, u.unitName]));
    const perHolder = new Map<string, number>();
    for (const l of report.lateStages) for (const name of l.heldBy.length ? l.heldBy : ["（无人办理）"]) perHolder.set(name, (perHolder.get(name) ?? 0) + 1);
    const p = report.provider;
    const csv = (table: keyof typeof CSV_TABLES) => `/reports/monthly.csv?${queryOf({ month, unit: q.unit, table })}`;
    return c.html(
      <Page title={`${month} 月度报告`} ctx={ctx} csrf={c.get("session").csrf} current="/reports">
        <OversightStyle />
        <h1>{month} 月度报告</h1>
        <form method="get" action="/reports/monthly" class="ys-panel ys-filters">
          <label>
            月份
            <input type="month" name="month" value={month} required />
          </label>
          <button type="submit" class="weui-btn weui-btn_mini weui-btn_primary">
            查看
          </button>
          <span class="ys-muted">
            下载 CSV：
            {/* The inspections' table only for who may see inspections (004 第三十九条). */}
            {Object.entries(CSV_TABLES).filter(([table]) => table !== "inspections" || report.inspections !== null).map(([table, name]) => (
              <a href={csv(table as keyof typeof CSV_TABLES)} download>
                {name}{" "}
              </a>
            ))}
          </span>
        </form>
        {report.total === null ? (
          <p class="ys-panel ys-muted">您的范围内没有单位。</p>
        ) : (
          <>
            <p class="ys-panel">
              资源 {report.total.resources} 项（虚拟机 {report.total.vms} 台，{report.total.vcpu} 核 / {report.total.memoryGb}G 内存 / {report.total.diskGb}G 磁盘）；低负载虚拟机{" "}
              {report.total.lowLoadVms} 台；新提交申请 {report.total.requestsOpened} 个，办结 {report.total.requestsClosed} 个；逾期环节 {report.total.lateStages} 个。
            </p>
            <div class="ys-chart-grid">
              <BarChart
                id="cpu-per-unit"
                title="各单位虚拟机 vCPU 平均利用率（08:00–20:00）"
                bars={report.units.filter((u) => u.cpuAvg !== null).map((u) => ({ label: u.unitName, value: u.cpuAvg! }))}
                unit="%"
                max={100}
                valueHeader="平均利用率"
              />
              <BarChart
                id="lowload-per-unit"
                title="各单位低负载虚拟机（台）"
                bars={report.units.filter((u) => u.lowLoadVms > 0).map((u) => ({ label: u.unitName, value: u.lowLoadVms, warn: true }))}
                unit="台"
                valueHeader="低负载虚拟机"
              />
              <BarChart
                id="late-per-holder"
                title="逾期环节（按办理人）"
                bars={[...perHolder].sort((a, b) => b[1] - a[1]).map(([label, value]) => ({ label, value, warn: true }))}
                unit="个"
                valueHeader="逾期环节"
              />
              {p ? (
                <BarChart
                  id="provider-response"
                  title={`评估实施单位办结环节：按期与逾期${p.avgWorkdays !== null ? `（平均 ${p.avgWorkdays} 个工作日）` : ""}`}
                  bars={[
                    { label: "按期", value: p.onTime },
                    { label: "逾期", value: p.late, warn: true },
                    { label: "返工", value: p.reworked, warn: true },
                    { label: "整改与警示", value: p.findings, warn: true },
                  ]}
                  unit="个"
                />
              ) : null}
              {p ? (
                <BarChart
                  id="satisfaction"
                  title={`服务评价${p.satisfaction.satisfiedPercent !== null ? `（满意率 ${p.satisfaction.satisfiedPercent}%）` : "（本月无评价）"}`}
                  bars={[
                    { label: "满意", value: p.satisfaction.satisfied },
                    { label: "基本满意", value: p.satisfaction.basic },
                    { label: "不满意", value: p.satisfaction.dissatisfied, warn: true },
                  ]}
                  unit="个"
                />
              ) : null}
            </div>
            <h2 class="ys-section-title">各单位</h2>
            <Table head={["单位", "资源", "虚拟机", "vCPU", "内存(G)", "磁盘(G)", "vCPU 平均(%)", "vCPU 峰值(%)", "低负载", "新提交", "办结", "逾期环节"]}>
              {report.units.map((u) => (
                <tr>
                  <td>{u.unitName}</td>
                  <td>{u.resources}</td>
                  <td>{u.vms}</td>
                  <td>{u.vcpu}</td>
                  <td>{u.memoryGb}</td>
                  <td>{u.diskGb}</td>
                  <td>{u.cpuAvg ?? "—"}</td>
                  <td>{u.cpuPeak ?? "—"}</td>
                  <td>{u.lowLoadVms}</td>
                  <td>{u.requestsOpened}</td>
                  <td>{u.requestsClosed}</td>
                  <td class={u.lateStages > 0 ? "ys-late" : undefined}>{u.lateStages}</td>
                </tr>
              ))}
            </Table>
            {report.funding ? (
              <>
                <h2 class="ys-section-title">资金来源（004 第四十二条）</h2>
                <p class="ys-muted">
                  {report.funding.source === "signoff" ? (report.funding.signed ? "按三方签字的结算单" : "按结算流程中的结算单") : "结算单尚未进入结算流程，按资源台账计算"}；
                  <a href={`/billing/${month}`}>查看结算单</a>
                </p>
                <Table head={["资金来源", "金额（元）"]}>
                  {report.funding.split.map((f) => (
                    <tr>
                      <td>{f.name}</td>
                      <td class="ys-num">{f.amount.toFixed(2)}</td>
                    </tr>
                  ))}
                  <tr class="ys-total">
                    <td>合计</td>
                    <td class="ys-num">{report.funding.total.toFixed(2)}</td>
                  </tr>
                </Table>
              </>
            ) : null}
            {report.lateStages.length > 0 ? (
              <>
                <h2 class="ys-section-title">逾期环节</h2>
                <Table head={["编号", "单位", "环节", "期限", "办结时间", "办理人"]}>
                  {report.lateStages.map((l) => (
                    <tr>
                      <td>
                        <a href={`/requests/${l.code}`}>{l.code}</a>
                      </td>
                      <td>{unitName.get(l.unitId) ?? l.unitId}</td>
                      <td>{l.stage}</td>
                      <td>{when(l.deadlineAt)}</td>
                      <td>{l.closedAt ? when(l.closedAt) : <span class="ys-late">未办结</span>}</td>
                      <td>{l.heldBy.join("、") || "—"}</td>
                    </tr>
                  ))}
                </Table>
              </>
            ) : null}
            {report.lowLoadVms.length > 0 ? (
              <>
                <h2 class="ys-section-title">低负载虚拟机</h2>
                <Table head={["单位", "资源", "云主机编号", "低负载天数"]}>
                  {report.lowLoadVms.map((v) => (
                    <tr>
                      <td>{unitName.get(v.unitId) ?? v.unitId}</td>
                      <td>{v.resource}</td>
                      <td>
                        <a href={`/resources/vm/${encodeURIComponent(v.instanceId)}?${queryOf({ month })}`}>{v.instanceId}</a>
                      </td>
                      <td>{v.lowLoadDays}</td>
                    </tr>
                  ))}
                </Table>
              </>
            ) : null}
            {report.emergencies.length > 0 ? (
              <>
                {/* 004 第四十八条: resources opened first, 需求评估 and 审批 done afterwards. */}
                <h2 class="ys-section-title">紧急申请（先开通，后补评估和审批）</h2>
                <Table head={["编号", "单位", "系统", "紧急情况类别", "事后审批", "提交时间"]}>
                  {report.emergencies.map((e) => (
                    <tr>
                      <td>
                        <a href={`/requests/${e.code}`}>{e.code}</a> <Badge text="紧急" />
                      </td>
                      <td>{e.unitName}</td>
                      <td>{e.system}</td>
                      <td>{e.categoryName}</td>
                      <td class={e.postApproval === "done" ? undefined : "ys-late"}>{e.postApprovalName}</td>
                      <td>{when(e.submittedAt)}</td>
                    </tr>
                  ))}
                </Table>
              </>
            ) : null}
            {report.dedicatedPools.length > 0 ? (
              <>
                {/* 004 第十四条(二)2 */}
                <h2 class="ys-section-title">专属资源池申请</h2>
                <Table head={["编号", "单位", "系统", "资源池规模", "必要性和可行性审核", "提交时间"]}>
                  {report.dedicatedPools.map((d) => (
                    <tr>
                      <td>
                        <a href={`/requests/${d.code}`}>{d.code}</a>
                      </td>
                      <td>{d.unitName}</td>
                      <td>{d.system}</td>
                      <td>{d.scale || "—"}</td>
                      <td>{d.reviewName}</td>
                      <td>{when(d.submittedAt)}</td>
                    </tr>
                  ))}
                </Table>
              </>
            ) : null}
            {report.inspections ? (
              <>
                {/* 004 第三十九条: the manager's 安全督查和检查 of the provider, by 检查日期 in the month. */}
                <h2 class="ys-section-title" id="inspections">
                  安全督查与检查
                </h2>
                <p class="ys-panel">
                  {report.inspections.recorded > 0 ? `${inspectionLine(report.inspections)}。` : "本月没有安全督查与检查记录。"}
                  <a href="/inspections">查看全部检查记录</a>
                </p>
                {report.inspections.items.length > 0 ? (
                  <Table head={["检查日期", "类别", "结论", "问题", "整改期限", "状态", "按期整改"]}>
                    {report.inspections.items.map((i) => (
                      <tr class={i.overdue ? "ys-row-late" : undefined}>
                        <td>{i.inspectedOn}</td>
                        <td>{i.kindText}</td>
                        <td>{i.resultText}</td>
                        <td>{i.findings}</td>
                        <td>{i.deadline ?? "—"}</td>
                        <td class={i.overdue ? "ys-late" : undefined}>
                          {i.statusText}
                          {i.overdue ? "（已超期）" : null}
                        </td>
                        <td class={i.rectifiedOnTime === false ? "ys-late" : undefined}>{i.rectifiedOnTime === null ? "—" : i.rectifiedOnTime ? "按期" : "逾期"}</td>
                      </tr>
                    ))}
                  </Table>
                ) : null}
              </>
            ) : null}
            {p && p.satisfaction.complaints.length > 0 ? (
              <>
                <h2 class="ys-section-title">不满意评价</h2>
                <Table head={["编号", "单位", "原因", "时间"]}>
                  {p.satisfaction.complaints.map((s) => (
                    <tr>
                      <td>
                        <a href={`/requests/${s.code}`}>{s.code}</a>
                      </td>
                      <td>{unitName.get(s.unitId) ?? s.unitId}</td>
                      <td>{s.comment ?? "—"}</td>
                      <td>{when(s.at)}</td>
                    </tr>
                  ))}
                </Table>
              </>
            ) : null}
          </>
        )}
      </Page>,
    );
  });

  app.get("/monthly.csv", async (c) => {
    const ctx = c.get("ctx");
    const q = pageQuery(c, monthlyReportQuery, LABELS);
    const report = await monthlyReport({ ctx, input: { month: q.month, unit: q.unit } });
    return c.body(monthlyReportCsv(report, q.table), 200, csvHeaders(`yunshen-report-${q.month}${q.table === "units" ? "" : `-${q.table}`}.csv`));
  });
  return app;
}
