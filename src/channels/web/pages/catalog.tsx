import { Hono, type Context } from "hono";
import { catalogMakers, catalogView, loadServiceCatalog, mayPublishCatalog } from "../../../billing/service-catalog";
import { shanghaiDate } from "../../../core/calendar";
import { isIsoDate } from "../../../core/calendar-schedule";
import { Page } from "../layout";
import type { WebDeps, WebEnv } from "../session";
import { formOf, OutcomeMessages, shown, uploadedJson, UploadForm, type Outcome, type PageStatus } from "./admin";

// /catalog: the 服务目录 (000 5.5 "使用单位在申请使用云资源时，所需资源应从服务目录中选择"; 003 第二条(二); 004 第四条),
// read by everyone signed in: the version in force on a day (today unless ?on=), each item with its figures and
// its day price under the price table in force that day, which is what the monthly statement bills for it. Those
// who publish it (catalogMakers: the administrator and the manager, or 高创中心's 监管部门) load a new version here.

async function catalogPage(c: Context<WebEnv>, outcome?: Outcome, status: PageStatus = 200) {
  const ctx = c.get("ctx");
  const asked = c.req.query("on");
  const today = shanghaiDate(ctx.clock.now());
  const day = asked && isIsoDate(asked) ? asked : today;
  const view = await catalogView(ctx.db, day);
  const makers = catalogMakers(ctx.profile);
  return c.html(
    <Page title="服务目录" ctx={ctx} csrf={c.get("session").csrf} current="/catalog">
      <h1>服务目录</h1>
      <OutcomeMessages outcome={outcome} />
      <form method="get" action="/catalog" class="ys-panel ys-actions">
        <label>
          查看日期
          <input type="date" name="on" value={day} />
        </label>
        <button type="submit" class="weui-btn weui-btn_mini weui-btn_default">
          查看
        </button>
      </form>
      {view.catalog ? (
        <p class="ys-panel">
          {day} 执行：服务目录 {view.catalog.version}（自 {view.catalog.effectiveFrom} 起）{view.catalog.source ? `，依据 ${view.catalog.source}` : ""}；单价按
          {view.priceTable ? ` 单价表 ${view.priceTable.version}（自 ${view.priceTable.effectiveFrom} 起）` : "（尚无执行中的单价表）"}计算，与费用结算一致。
          申请时请在虚拟机、PaaS 行填写目录编号；目录中没有的配置，按功能和性能相近的目录项适配（000 5.5）。
        </p>
      ) : (
        <p class="ys-panel ys-muted">{day} 尚无执行中的服务目录。</p>
      )}
      {view.items.length > 0 ? (
        <div class="ys-table-wrap">
          <table class="ys-table">
            <thead>
              <tr>
                <th>编号</th>
                <th>名称</th>
                <th>类型</th>
                <th>规格</th>
                <th>日单价（元）</th>
                <th>说明</th>
              </tr>
            </thead>
            <tbody>
              {view.items.map((i) => (
                <tr>
                  <td>{i.code}</td>
                  <td>{i.name}</td>
                  <td>{i.kindName}</td>
                  <td>{i.figures}</td>
                  <td style="text-align:right">{i.dayPrice === null ? "无单价" : i.dayPrice.toFixed(2)}</td>
                  <td>{i.note ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {view.versions.length > 0 ? (
        <>
          <h2 class="ys-section-title">已发布的版本</h2>
          <ul class="ys-panel">
            {view.versions.map((v) => (
              <li>
                <a href={`/catalog?on=${v.effectiveFrom}`}>{v.version}</a>：自 {v.effectiveFrom} 起，{v.items} 项{v.effectiveFrom > today ? "（尚未生效）" : ""}
                {v.source ? `，${v.source}` : ""}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {mayPublishCatalog(ctx) ? (
        <>
          <h2 class="ys-section-title">发布新版本</h2>
          <UploadForm csrf={c.get("session").csrf} action="/catalog" label="发布" what="服务目录文件">
            <p class="ys-muted">
              由系统管理员或{makers.party}发布（{makers.article}）。新版本自生效日期起执行；同一版本只发布一次，更正请用新的版本号。
            </p>
          </UploadForm>
        </>
      ) : null}
    </Page>,
    status,
  );
}

export function catalogPages(_deps: WebDeps) {
  const app = new Hono<WebEnv>();
  app.get("/", (c) => catalogPage(c));
  app.post("/", async (c) => {
    try {
      const { input } = await uploadedJson(await formOf(c), "服务目录文件");
      const loaded = await loadServiceCatalog({ ctx: c.get("ctx"), input });
      return catalogPage(c, { notice: `服务目录 ${loaded.version} 已发布（${loaded.items} 项），自 ${loaded.effectiveFrom} 起执行` });
    } catch (err) {
      const { status, ...outcome } = shown(err);
      return catalogPage(c, outcome, status);
    }
  });
  return app;
}
