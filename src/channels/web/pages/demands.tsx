import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { PROFILES, type ProfileModule } from "../../../../profiles";
import { shanghaiDate } from "../../../core/calendar";
import { ServiceError, type FieldErrors } from "../../../core/errors";
import { invalidInput } from "../../../core/validation";
import { listUnits } from "../../../directory/queries";
import { aggregateDemands, demandOverview, demandYear, recordPlanConsent } from "../../../resources/demand";
import { BarChart } from "../charts";
import { field } from "../guard";
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

/** /demands/<year>: the totals, per county and per unit, with a chart of vCPU per unit. */
export function demandPages(_deps: WebDeps) {
  const app = new Hono<WebEnv>();
  app.use("*", onlyFor(DEMAND_ROLES));

  // The year being filled in: next year's (002 第十七条: 每年9月底前提出第二年的资源需求预估量).
  app.get("/", (c) => c.redirect(`/demands/${Number(shanghaiDate(c.get("ctx").clock.now()).slice(0, 4)) + 1}`, 303));

  // 002 第十七条(一): the 主管单位审核人 passes on (汇总报送) what its 下属单位 have submitted.
  app.post("/:year/aggregate", async (c) => {
    const year = yearOf(c);
    const done = await aggregateDemands({ ctx: c.get("ctx"), input: { year } });
    const told = `已汇总报送 ${done.passed} 个下属单位的需求${done.missing.length > 0 ? `；尚未填报：${done.missing.join("、")}` : ""}`;
    return c.redirect(`/demands/${year}?done=${encodeURIComponent(told)}`, 303);
  });

  app.get("/:year", (c) => {
    const done = c.req.query("done");
    return demandPage(c, yearOf(c), { notice: done === "consent" ? "市人民政府审定同意已登记" : done?.slice(0, 200) });
  });
  // 巴中 003 第十四条: the manager records the city government's consent of the year's plan.
  app.post("/:year/consent", async (c) => {
    const year = yearOf(c);
    const body = (await c.req.parseBody()) as Record<string, unknown>;
    const input = { year, docNo: field(body, "docNo") ?? "", consentedOn: field(body, "consentedOn") ?? "", ...(field(body, "fileId") ? { fileId: field(body, "fileId") } : {}) };
    try {
      await recordPlanConsent({ ctx: c.get("ctx"), input });
      return c.redirect(`/demands/${year}?done=consent`, 303);
    } catch (err) {
      if (!(err instanceof ServiceError) || ![400, 403, 409, 422].includes(err.status)) throw err;
      const { year: _year, ...values } = input;
      return demandPage(c, year, { error: err.message, fields: err.fields, values }, err.status as ContentfulStatusCode);
    }
  });
  return app;
}

type DemandContext = Context<WebEnv>;
interface Outcome {
  notice?: string;
  error?: string;
  fields?: FieldErrors;
  values?: Record<string, string | undefined>;
}

function yearOf(c: DemandContext): number {
  const parsed = demandYear.safeParse(c.req.param("year"));
  if (!parsed.success) throw invalidInput(parsed.error.issues.map((i) => ({ ...i, path: ["年份"] })), "年份有误，应为 2024 至 2100 的四位数字");
  return parsed.data;
}

/** The form a manager records the city government's consent with (003 第十四条), while the year has none. */
function ConsentForm({ year, csrf, outcome }: { year: number; csrf: string; outcome: Outcome }) {
  const err = (name: string) => outcome.fields?.[name]?.map((m) => <span class="ys-error">{m}</span>);
  return (
    <form method="post" action={`/demands/${year}/consent`} class="ys-panel">
      <Csrf csrf={csrf} />
      <h2 class="ys-section-title">登记市人民政府审定同意（003 第十四条）</h2>
      <p class="ys-muted">计划按登记时市级可见的各单位需求保存（县级单位须已由县级数据局报送）；计划外的申请在技术论证后须另报市人民政府审定。</p>
      <label>
        审定同意文号
        <input type="text" name="docNo" maxlength={100} required value={outcome.values?.docNo ?? ""} placeholder="如：巴府阅〔2026〕88 号" />
        {err("docNo")}
      </label>
      <label>
        审定同意日期
        <input type="date" name="consentedOn" required value={outcome.values?.consentedOn ?? ""} />
        {err("consentedOn")}
      </label>
      <label>
        审定同意文件编号（可选，先在“上传材料”以「市人民政府审定同意文件」上传）
        <input type="text" name="fileId" maxlength={100} value={outcome.values?.fileId ?? ""} />
        {err("fileId")}
      </label>
      <button type="submit" class="weui-btn weui-btn_primary weui-btn_mini">
        登记审定同意
      </button>
    </form>
  );
}

async function demandPage(c: DemandContext, year: number, outcome: Outcome = {}, status: ContentfulStatusCode = 200) {
  const ctx = c.get("ctx");
  const o = await demandOverview({ ctx, input: { year } });
  const names = new Map((await listUnits(ctx.db)).map((u) => [u.id, u.name]));
  // 003 第十四条: a manager records the consent where the profile's document has one, once the year has figures.
  const consentable = Boolean((PROFILES[ctx.profile] as ProfileModule).planConsent) && ctx.actor!.roles.includes("manager") && o.units.length > 0;
  const supervising = ctx.actor!.roles.includes("unit_supervisor");
  return c.html(
    <Page title={`${year} 年度资源需求`} ctx={ctx} csrf={c.get("session").csrf} current="/reports">
      <OversightStyle />
      <h1>{year} 年度资源需求</h1>
      {outcome.notice ? (
        <p class="ys-notice" role="status">
          {outcome.notice}
        </p>
      ) : null}
      {outcome.error ? (
        <p class="ys-error" role="alert">
          {outcome.error}
        </p>
      ) : null}
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
        <a href={`/demands/${year - 1}`}>上一年</a> · <a href={`/demands/${year + 1}`}>下一年</a>
      </p>
      <p class="ys-panel">
        合计：vCPU {o.total.vcpu} 核，内存 {o.total.memoryGb} G，存储 {o.total.storageGb} G（{o.units.length} 个单位）
      </p>
      {o.consent ? (
        <p class="ys-panel">
          市人民政府审定同意（003 第十四条）：{o.consent.docNo}，{o.consent.consentedOn}
          {o.consent.fileId ? (
            <>
              {" "}
              <a href={`/files/${o.consent.fileId}`}>审定同意文件</a>
            </>
          ) : null}
          。计划共 {o.consent.units.length} 个单位：vCPU {o.consent.total.vcpu} 核，内存 {o.consent.total.memoryGb} G，存储 {o.consent.total.storageGb} G；计划外的申请须另报市人民政府审定同意。
        </p>
      ) : consentable ? (
        <ConsentForm year={year} csrf={c.get("session").csrf} outcome={outcome} />
      ) : null}
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
    status,
  );
}
