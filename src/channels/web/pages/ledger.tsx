import { Hono } from "hono";
import { z } from "zod";
import { addCalendarDays, monthDays, shanghaiDate } from "../../../core/calendar";
import { ServiceError } from "../../../core/errors";
import { isoDateSchema, monthSchema } from "../../../core/validation";
import { listUnits } from "../../../directory/queries";
import { vmUtilisation } from "../../../metrics/views";
import { listResources, listResourcesQuery } from "../../../resources";
import { LineChart } from "../charts";
import { Page } from "../layout";
import type { WebDeps, WebEnv } from "../session";
import { when } from "../words";
import { Choice, DateRange, onlyFor, OversightStyle, pageQuery, queryOf, Table } from "./oversight";
import { REPORT_ROLES } from "./reports";

// 资源台账 (issue 12): every resource in the person's scope (listResources decides it), and for a VM its daily
// peak and average utilisation over time as line charts (vmUtilisation decides who may see those figures).

/**
 * A ledger row's kind as the forms name it: 虚拟机, 备份, the PaaS product's kind (数据库, 中间件, …), 硬件托管,
 * 带宽, 公网 IP, or the security service (云防火墙, …).
 */
function kindName(kind: string, spec: unknown): string {
  if (kind === "vm") return "虚拟机";
  if (kind === "backup") return "备份";
  const name = (spec as { kindName?: string } | null)?.kindName;
  if (!name) return kind;
  if (kind.startsWith("paas_")) return `PaaS ${name}`;
  return kind.startsWith("security_") ? `安全服务 ${name}` : name;
}
const STATUS_WORDS: Record<string, string> = { delivered: "在用", revoked: "已撤销" };

/** The days a VM's chart covers: a month, a from–to range, or by default the 30 days up to yesterday. */
const chartQuery = z
  .object({ month: monthSchema.optional(), from: isoDateSchema.optional(), to: isoDateSchema.optional() })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { error: "结束日期不能早于开始日期", path: ["to"] })
  // A chart of more than a year of days is unreadable and a heavy read.
  .refine((q) => !q.from || !q.to || addCalendarDays(q.from, 366) >= q.to, { error: "一次最多查看一年", path: ["to"] });

function spec(s: unknown): string {
  const v = (s ?? {}) as Record<string, unknown>;
  const parts = [
    v.vcpu ? `${v.vcpu} 核` : "",
    v.memoryGb ? `${v.memoryGb}G 内存` : "",
    v.diskGb ? `${v.diskGb}G 磁盘` : "",
    v.storageGb ? `${v.storageGb}G 存储` : "",
    v.device ? `${v.device} ${v.rackUnits}U${v.powerW ? ` ${v.powerW}W` : ""}` : "",
    v.mbps ? `${v.zoneName ?? ""} ${v.mbps} Mbps`.trim() : "",
    v.ips ? `${v.ips} 个` : "",
    v.units ? `${v.units} 套` : "",
  ];
  return parts.filter(Boolean).join(" / ") || "—";
}

/** /resources: the ledger; /resources/vm/<cloud id>: one VM's daily utilisation as charts. */
export function ledgerPages(deps: WebDeps) {
  const app = new Hono<WebEnv>();
  app.use("*", onlyFor(REPORT_ROLES));

  app.get("/", async (c) => {
    const ctx = c.get("ctx");
    const q = pageQuery(c, listResourcesQuery.omit({ request: true }), { status: "状态", unit: "单位" });
    const { items } = await listResources({ ctx, input: q });
    const unitList = (await listUnits(deps.db)).filter((u) => u.kind === "unit");
    return c.html(
      <Page title="资源台账" ctx={ctx} csrf={c.get("session").csrf} current="/reports">
        <OversightStyle />
        <h1>资源台账</h1>
        <form method="get" action="/resources" class="ys-panel ys-filters">
          <Choice label="单位" name="unit" value={q.unit} options={unitList.map((u) => [u.id, u.name] as const)} />
          <Choice label="状态" name="status" value={q.status} options={Object.entries(STATUS_WORDS)} />
          <button type="submit" class="weui-btn weui-btn_mini weui-btn_primary">
            查看
          </button>
        </form>
        {items.length === 0 ? (
          <p class="ys-panel ys-muted">没有符合条件的资源。</p>
        ) : (
          <Table head={["资源", "单位", "系统", "类型", "规格", "状态", "云主机编号", "交付", "申请"]}>
            {items.map((r) => (
              <tr class={r.status === "revoked" ? "ys-row-muted" : undefined}>
                <td>{r.name}</td>
                <td>{r.unitName}</td>
                <td>{r.system}</td>
                <td>{kindName(r.kind, r.spec)}</td>
                <td>{spec(r.spec)}</td>
                <td>{STATUS_WORDS[r.status] ?? r.status}</td>
                <td>{r.instanceId ? <a href={`/resources/vm/${encodeURIComponent(r.instanceId)}`}>{r.instanceId}（利用率）</a> : "—"}</td>
                <td>{when(r.deliveredAt)}</td>
                <td>
                  <a href={`/requests/${r.request.code}`}>{r.request.code}</a>
                </td>
              </tr>
            ))}
          </Table>
        )}
      </Page>,
    );
  });

  app.get("/vm/:vm", async (c) => {
    const ctx = c.get("ctx");
    const vm = c.req.param("vm");
    const q = pageQuery(c, chartQuery, { month: "月份", from: "日期自", to: "日期至" });
    const yesterday = addCalendarDays(shanghaiDate(ctx.clock.now()), -1);
    const range = q.month ? monthDays(q.month) : { first: q.from ?? addCalendarDays(q.to ?? yesterday, -29), last: q.to ?? (q.from ? addCalendarDays(q.from, 29) : yesterday) };
    let figures: Awaited<ReturnType<typeof vmUtilisation>> | null = null;
    let refusal: string | null = null;
    try {
      figures = await vmUtilisation({ ctx, input: { vm, from: range.first, to: range.last } });
    } catch (err) {
      // The figures' own rule (the city's roles) decides; the ledger stays open to a county bureau.
      if (err instanceof ServiceError && err.status === 403) refusal = err.message;
      else throw err;
    }
    const labels = figures?.days.map((d) => d.date) ?? [];
    const title = figures?.resource ? `${figures.resource.name}（${vm}）` : vm;
    return c.html(
      <Page title={`${vm} 利用率`} ctx={ctx} csrf={c.get("session").csrf} current="/reports">
        <OversightStyle />
        <h1>{title} 每日利用率</h1>
        <form method="get" action={`/resources/vm/${encodeURIComponent(vm)}`} class="ys-panel ys-filters">
          <DateRange label="日期" from={range.first} to={range.last} />
          <button type="submit" class="weui-btn weui-btn_mini weui-btn_primary">
            查看
          </button>
          <a href="/resources">返回台账</a>
        </form>
        {refusal ? (
          <p class="ys-panel ys-muted">{refusal}</p>
        ) : labels.length === 0 ? (
          <p class="ys-panel ys-muted">
            {range.first} 至 {range.last} 没有这台虚拟机的监控数据。
          </p>
        ) : (
          <div class="ys-chart-grid">
            <LineChart
              id="cpu"
              title={`vCPU 利用率（${range.first} 至 ${range.last}）`}
              labels={labels}
              series={[
                { name: "全天峰值", values: figures!.days.map((d) => d.cpuPeak) },
                { name: "08:00–20:00 平均", values: figures!.days.map((d) => d.cpuAvg) },
              ]}
              unit="%"
              max={100}
            />
            <LineChart
              id="memory"
              title={`内存利用率（${range.first} 至 ${range.last}）`}
              labels={labels}
              series={[
                { name: "全天峰值", values: figures!.days.map((d) => d.memPeak) },
                { name: "08:00–20:00 平均", values: figures!.days.map((d) => d.memAvg) },
              ]}
              unit="%"
              max={100}
            />
            {figures!.months.length > 0 ? (
              <p class="ys-panel">
                {figures!.months.map((m) => `${m.month}：低负载 ${m.lowLoadDays} 天${m.lowLoad ? "（本月判定为低负载）" : ""}`).join("；")}
              </p>
            ) : null}
          </div>
        )}
        <p class="ys-muted">
          <a href={`/resources/vm/${encodeURIComponent(vm)}?${queryOf({ month: range.first.slice(0, 7) })}`}>按月查看 {range.first.slice(0, 7)}</a>
        </p>
      </Page>,
    );
  });
  return app;
}
