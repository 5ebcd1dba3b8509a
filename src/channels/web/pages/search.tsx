import { Hono } from "hono";
import { shanghaiDate } from "../../../core/calendar";
import { csvHeaders } from "../../../core/csv";
import { listUnits } from "../../../directory/queries";
import { exportRequestsCsv, FLOWS, listQuerySchema, listRequests, searchQuerySchema, STATUS_NAMES } from "../../../engine";
import { Page } from "../layout";
import type { WebDeps, WebEnv } from "../session";
import { Badge, when } from "../words";
import { Choice, DateRange, FilterButtons, onlyFor, OversightStyle, Pager, pageQuery, queryOf, Table } from "./oversight";

// 查询 (issue 12): every request in the person's scope, searched by 编号, 系统名称, 单位, 流程, 状态 and 提交日期,
// and exported as it is listed. The engine's list applies its visibility rule; the page adds none of its own.

/** Who sees more than their own requests: the city's roles and the county bureaus. */
export const SEARCH_ROLES = ["manager", "reviewer", "provider", "county_bureau"] as const;

const PAGE_SIZE = 50;
const LABELS = { code: "编号", title: "系统名称", unit: "单位", flow: "流程", status: "状态", from: "提交日期自", to: "提交日期至", before: "页码" };

/** /requests (search) and /requests/export.csv; mounted before the request pages, whose /:code would take export.csv. */
export function searchPages(deps: WebDeps) {
  const app = new Hono<WebEnv>();
  app.use("/", onlyFor(SEARCH_ROLES));
  app.use("/export.csv", onlyFor(SEARCH_ROLES));

  app.get("/", async (c) => {
    const ctx = c.get("ctx");
    const q = pageQuery(c, listQuerySchema, LABELS);
    const { items, next } = await listRequests({ ctx, input: { ...q, view: "all", limit: PAGE_SIZE } });
    const unitList = await listUnits(deps.db);
    const filters = { code: q.code, title: q.title, unit: q.unit, flow: q.flow, status: q.status, from: q.from, to: q.to };
    return c.html(
      <Page title="查询申请" ctx={ctx} csrf={c.get("session").csrf} current="/requests">
        <OversightStyle />
        <h1>查询申请</h1>
        <form method="get" action="/requests" class="ys-panel ys-filters">
          <label>
            编号
            <input type="text" name="code" value={q.code ?? ""} placeholder="如 YS-2026-00012 或 00012" maxlength={40} />
          </label>
          <label>
            系统名称
            <input type="text" name="title" value={q.title ?? ""} maxlength={100} />
          </label>
          <Choice
            label="单位"
            name="unit"
            value={q.unit}
            options={unitList.filter((u) => u.kind !== "city").map((u) => [u.id, u.kind === "county" ? `${u.name}（含辖区单位）` : u.name] as const)}
          />
          <Choice label="流程" name="flow" value={q.flow} options={Object.values(FLOWS).map((f) => [f.key, f.name] as const)} />
          <Choice label="状态" name="status" value={q.status} options={Object.entries(STATUS_NAMES)} />
          <DateRange label="提交日期" from={q.from} to={q.to} />
          <FilterButtons clear="/requests">
            <a href={`/requests/export.csv?${queryOf(filters)}`} download>
              导出 CSV
            </a>
          </FilterButtons>
        </form>
        {items.length === 0 ? (
          <p class="ys-panel ys-muted">没有符合条件的申请。</p>
        ) : (
          <Table head={["编号", "系统名称", "单位", "流程", "状态", "当前环节", "提交时间"]}>
            {items.map((r) => (
              <tr class={r.overdue ? "ys-row-late" : undefined}>
                <td>
                  <a href={`/requests/${r.code}`}>{r.code}</a>
                  <Badge text={r.badge} />
                </td>
                <td>{r.title}</td>
                <td>{r.unitName}</td>
                <td>{r.flowName}</td>
                <td>
                  {r.statusName}
                  {r.overdue ? <span class="ys-late">（逾期）</span> : null}
                </td>
                <td>{r.currentStageName ?? "—"}</td>
                <td>{when(r.submittedAt)}</td>
              </tr>
            ))}
          </Table>
        )}
        <Pager path="/requests" filters={filters} paged={Boolean(q.before)} next={next} />
      </Page>,
    );
  });

  app.get("/export.csv", async (c) => {
    const ctx = c.get("ctx");
    const q = pageQuery(c, searchQuerySchema, LABELS);
    const { csv } = await exportRequestsCsv({ ctx, input: { ...q, view: "all" } });
    return c.body(csv, 200, csvHeaders(`yunshen-requests-${shanghaiDate(ctx.clock.now())}.csv`));
  });
  return app;
}
