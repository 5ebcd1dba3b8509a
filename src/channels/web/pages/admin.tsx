import { Hono, type Context } from "hono";
import type { Child } from "hono/jsx";
import { addHost, listHosts, revokeHost, rotateHost } from "../../../access/hosts";
import { listPriceTables, loadPriceTable, PRICE_NAMES, PRICED_KIND_NAMES } from "../../../billing/prices";
import { listCalendarYears } from "../../../calendar/store";
import { invalid, ServiceError, type FieldErrors } from "../../../core/errors";
import { mayOperate, requireOperator, type OperatorTask } from "../../../core/roles";
import { parseJsonText } from "../../../core/validation";
import { checkDirectoryImport, directoryProblems, importDirectory, type DirectoryProblem, type ImportResult } from "../../../directory/import";
import { createLoginLink } from "../../../directory/login-links";
import { createToken, expiryText, listTokens, revokeToken } from "../../../directory/tokens";
import { loadCalendarYearWithDeadlines } from "../../../engine";
import { field } from "../guard";
import { Csrf, Page } from "../layout";
import type { WebDeps, WebEnv } from "../session";
import { when } from "../words";

// /admin: the operator's pages (issue 12, "Operators"), each the form of a service verb the CLI and /api/admin
// call, which authorizes first. Uploads are JSON files, read whole: a directory, a year's holidays, a price table.

type AdminContext = Context<WebEnv>;
/** What a page answers with: 200, or the status of the refusal it shows above its form. */
export type PageStatus = 200 | 400 | 404 | 409 | 422;

const AREAS: readonly { task: OperatorTask; href: string; label: string; about: string }[] = [
  { task: "directory", href: "/admin/directory", label: "通讯录", about: "上传通讯录文件（JSON），先检查出每一处错误，确认后再导入" },
  { task: "tokens", href: "/admin/tokens", label: "访问令牌", about: "签发、查看、吊销 API 访问令牌；签发网页端登录链接" },
  { task: "hosts", href: "/admin/hosts", label: "主机凭据", about: "登记堡垒机和虚拟机，换发或吊销它们调用登录验证的凭据" },
  { task: "calendar", href: "/admin/calendar", label: "工作日历", about: "查看已有年份，加载下一年的放假安排" },
  { task: "prices", href: "/admin/prices", label: "单价表", about: "查看、加载费用结算所用的单价表" },
];

/** What a page says above its content: the outcome of the last POST. */
export interface Outcome {
  notice?: string;
  error?: string;
  fields?: FieldErrors;
}

/** The notice, or the error with each field's messages, of the last POST. */
export function OutcomeMessages({ outcome }: { outcome?: Outcome | undefined }) {
  return (
    <>
      {outcome?.notice ? <p class="ys-notice">{outcome.notice}</p> : null}
      {outcome?.error ? (
        <div class="ys-error" role="alert">
          <p>{outcome.error}</p>
          {outcome.fields ? (
            <ul>
              {Object.entries(outcome.fields).map(([name, messages]) => (
                <li>
                  {name}：{messages.join("；")}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
    </>
  );
}

function AdminPage({ c, title, area, outcome, children }: { c: AdminContext; title: string; area?: string; outcome?: Outcome; children?: Child }) {
  const ctx = c.get("ctx");
  const areas = AREAS.filter((a) => mayOperate(ctx.actor, a.task));
  return (
    <Page title={title} ctx={ctx} csrf={c.get("session").csrf} current="/admin">
      <h1>{title}</h1>
      <p class="ys-panel">
        {areas.map((a, i) => (
          <>
            {i > 0 ? " · " : null}
            {a.href === area ? <strong>{a.label}</strong> : <a href={a.href}>{a.label}</a>}
          </>
        ))}
      </p>
      <OutcomeMessages outcome={outcome} />
      {children}
    </Page>
  );
}

/** A button that POSTs to `action` with the CSRF token: revoke, rotate. */
function PostButton({ csrf, action, label, confirmText }: { csrf: string; action: string; label: string; confirmText?: string }) {
  return (
    <form method="post" action={action} class="ys-inline-form">
      <Csrf csrf={csrf} />
      <button type="submit" class="weui-btn weui-btn_mini weui-btn_default" title={confirmText}>
        {label}
      </button>
    </form>
  );
}

/** A form with one JSON file to upload (and any other fields), posted as multipart. */
export function UploadForm({ csrf, action, label, what, children }: { csrf: string; action: string; label: string; what: string; children?: Child }) {
  return (
    <form method="post" action={action} enctype="multipart/form-data" class="ys-panel ys-actions">
      <Csrf csrf={csrf} />
      <label>
        {what}（JSON 文件）
        <input type="file" name="file" accept=".json,application/json" required />
      </label>
      {children}
      <button type="submit" class="weui-btn weui-btn_mini weui-btn_primary">
        {label}
      </button>
    </form>
  );
}

/** The form's fields: a multipart upload or an url-encoded form, as Hono parses either. */
export const formOf = async (c: AdminContext) => (await c.req.parseBody()) as Record<string, unknown>;

/** The text of the uploaded file `file`, read as JSON: a missing, empty or unreadable file is a 400 in words. */
export async function uploadedJson(body: Record<string, unknown>, what: string): Promise<{ input: unknown; text: string }> {
  const file = body.file;
  if (!(file instanceof File) || file.size === 0) throw invalid(`请选择要上传的${what}`);
  const text = await file.text();
  return { input: parseJsonText(text, what), text };
}

/** A ServiceError a page shows above its form (the refused change wrote nothing); any other error is the error page's. */
export function shown(err: unknown): Outcome & { status: PageStatus } {
  if (err instanceof ServiceError && (err.status === 400 || err.status === 404 || err.status === 409 || err.status === 422))
    return { error: err.message, fields: err.fields, status: err.status };
  throw err;
}

const counts = (n: ImportResult["units"]) => `新增 ${n.created}，更新 ${n.updated}，未变 ${n.unchanged}`;

function Problems({ problems }: { problems: readonly DirectoryProblem[] }) {
  return (
    <div class="ys-table-wrap">
      <table class="ys-table">
        <thead>
          <tr>
            <th>位置</th>
            <th>标识</th>
            <th>字段</th>
            <th>问题</th>
          </tr>
        </thead>
        <tbody>
          {problems.map((p) => (
            <tr>
              <td>{p.list === null ? "整个文件" : `${p.list === "units" ? "单位" : "用户"}第 ${p.row} 行`}</td>
              <td>{p.id ?? "—"}</td>
              <td>{p.field ?? "—"}</td>
              <td>{p.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function DirectoryForm({ csrf }: { csrf: string }) {
  return (
    <UploadForm csrf={csrf} action="/admin/directory/check" label="检查" what="通讯录文件">
      <p class="ys-muted">先检查：列出每一处错误（第几行、哪个字段、为什么），不写入任何数据；没有错误时再确认导入，全部导入或全部不导入。</p>
    </UploadForm>
  );
}

async function directoryPage(c: AdminContext, outcome?: Outcome, status: PageStatus = 200) {
  requireOperator(c.get("ctx").actor, "directory");
  return c.html(
    <AdminPage c={c} title="通讯录导入" area="/admin/directory" outcome={outcome}>
      <DirectoryForm csrf={c.get("session").csrf} />
    </AdminPage>,
    status,
  );
}

/** The answer to a checked or refused file: every problem, and the form to upload a corrected one. */
function problemsPage(c: AdminContext, problems: readonly DirectoryProblem[], status: PageStatus) {
  return c.html(
    <AdminPage c={c} title="通讯录导入" area="/admin/directory" outcome={{ error: `通讯录文件有 ${problems.length} 处错误，没有导入任何数据；请修改后重新上传。` }}>
      <Problems problems={problems} />
      <DirectoryForm csrf={c.get("session").csrf} />
    </AdminPage>,
    status,
  );
}

async function tokensPage(c: AdminContext, outcome?: Outcome, status: PageStatus = 200) {
  const ctx = c.get("ctx");
  requireOperator(ctx.actor, "tokens");
  const csrf = c.get("session").csrf;
  const user = c.req.query("user")?.trim() || undefined;
  const now = ctx.clock.now();
  const items = await listTokens(ctx.db, user);
  return c.html(
    <AdminPage c={c} title="访问令牌" area="/admin/tokens" outcome={outcome}>
      <form method="get" action="/admin/tokens" class="ys-panel ys-actions">
        <label>
          只看此用户的令牌（用户账号）
          <input type="text" name="user" value={user ?? ""} />
        </label>
        <button type="submit" class="weui-btn weui-btn_mini weui-btn_default">
          筛选
        </button>
      </form>
      <div class="ys-table-wrap">
        <table class="ys-table">
          <thead>
            <tr>
              <th>令牌编号</th>
              <th>用户</th>
              <th>名称</th>
              <th>签发时间</th>
              <th>到期时间</th>
              <th>最近使用</th>
              <th>状态</th>
            </tr>
          </thead>
          <tbody>
            {items.map((t) => (
              <tr>
                <td>{t.id}</td>
                <td>{t.userId}</td>
                <td>{t.name || "—"}</td>
                <td>{when(t.createdAt)}</td>
                <td>
                  {when(t.expiresAt)}
                  {t.expiryAssumed ? "（签发时未设到期，按有效期推算）" : ""}
                </td>
                <td>{when(t.lastUsedAt)}</td>
                <td>
                  {t.revokedAt ? (
                    `已吊销（${when(t.revokedAt)}）`
                  ) : t.expiresAt.getTime() <= now.getTime() ? (
                    "已过期"
                  ) : (
                    <PostButton csrf={csrf} action={`/admin/tokens/${encodeURIComponent(t.id)}/revoke`} label="吊销" />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2 class="ys-section-title">签发访问令牌</h2>
      <form method="post" action="/admin/tokens" class="ys-panel ys-actions">
        <Csrf csrf={csrf} />
        <label>
          用户账号
          <input type="text" name="userId" required />
        </label>
        <label>
          令牌名称（用途，可不填）
          <input type="text" name="name" />
        </label>
        <label>
          有效期（天数如 30d，或到期日如 2027-03-01；不填按默认天数）
          <input type="text" name="expires" />
        </label>
        <button type="submit" class="weui-btn weui-btn_mini weui-btn_primary">
          签发
        </button>
      </form>
      {mayOperate(ctx.actor, "loginLinks") ? (
        <>
          <h2 class="ys-section-title">签发登录链接</h2>
          <form method="post" action="/admin/login-links" class="ys-panel ys-actions">
            <Csrf csrf={csrf} />
            <label>
              用户账号
              <input type="text" name="userId" required />
            </label>
            <p class="ys-muted">一次性链接，24 小时内有效，只能使用一次；请只发给本人。</p>
            <button type="submit" class="weui-btn weui-btn_mini weui-btn_primary">
              签发
            </button>
          </form>
        </>
      ) : null}
    </AdminPage>,
    status,
  );
}

/** A secret shown once (a token, a host credential, a sign-in link), with what to do with it. */
function secretPage(c: AdminContext, title: string, area: string, secret: string, advice: string) {
  return c.html(
    <AdminPage c={c} title={title} area={area} outcome={{ notice: advice }}>
      <div class="ys-panel">
        <p class="ys-muted">只显示这一次，离开本页后无法再查看：</p>
        <p>
          <code class="ys-secret">{secret}</code>
        </p>
        <p>
          <a href={area}>返回</a>
        </p>
      </div>
    </AdminPage>,
    201,
  );
}

async function hostsPage(c: AdminContext, outcome?: Outcome, status: PageStatus = 200) {
  const ctx = c.get("ctx");
  requireOperator(ctx.actor, "hosts");
  const csrf = c.get("session").csrf;
  const items = await listHosts(ctx.db);
  return c.html(
    <AdminPage c={c} title="主机凭据" area="/admin/hosts" outcome={outcome}>
      <div class="ys-table-wrap">
        <table class="ys-table">
          <thead>
            <tr>
              <th>主机名</th>
              <th>登记时间</th>
              <th>状态</th>
              <th>操作</th>
            </tr>
          </thead>
          <tbody>
            {items.map((h) => {
              const path = `/admin/hosts/${encodeURIComponent(h.name)}`;
              return (
                <tr>
                  <td>{h.name}</td>
                  <td>{when(h.createdAt)}</td>
                  <td>{h.revokedAt ? `已吊销（${when(h.revokedAt)}）` : "有效"}</td>
                  <td>
                    <PostButton csrf={csrf} action={`${path}/rotate`} label={h.revokedAt ? "重新签发凭据" : "换发凭据"} />
                    {h.revokedAt ? null : <PostButton csrf={csrf} action={`${path}/revoke`} label="吊销" />}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <h2 class="ys-section-title">登记主机</h2>
      <form method="post" action="/admin/hosts" class="ys-panel ys-actions">
        <Csrf csrf={csrf} />
        <label>
          主机名（字母、数字、点、下划线或连字符）
          <input type="text" name="name" required />
        </label>
        <button type="submit" class="weui-btn weui-btn_mini weui-btn_primary">
          登记并签发凭据
        </button>
      </form>
    </AdminPage>,
    status,
  );
}

const HOST_ADVICE = (name: string) => `主机 ${name} 的凭据已签发：请写入该主机的 /etc/yunshen/host.token（仅 root 可读）。`;

async function calendarPage(c: AdminContext, outcome?: Outcome, status: PageStatus = 200) {
  const ctx = c.get("ctx");
  requireOperator(ctx.actor, "calendar");
  const years = await listCalendarYears(ctx.db);
  return c.html(
    <AdminPage c={c} title="工作日历" area="/admin/calendar" outcome={outcome}>
      <div class="ys-table-wrap">
        <table class="ys-table">
          <thead>
            <tr>
              <th>年份</th>
              <th>来源</th>
              <th>放假安排</th>
              <th>调休上班</th>
              <th>加载</th>
            </tr>
          </thead>
          <tbody>
            {years.map((y) => (
              <tr>
                <td>{y.year}</td>
                <td>
                  <a href={y.url}>{y.source}</a>
                  {y.missing.length > 0 ? <p class="ys-late">缺少：{y.missing.join("、")}</p> : null}
                </td>
                <td>{y.holidays} 项</td>
                <td>{y.workdays} 天</td>
                <td>{y.builtIn ? "随版本发布" : when(y.loadedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2 class="ys-section-title">加载一年的放假安排</h2>
      <UploadForm csrf={c.get("session").csrf} action="/admin/calendar" label="加载" what="放假安排文件">
        <p class="ys-muted">按国务院办公厅的放假通知填写，须含元旦、春节、清明节、劳动节、端午节、中秋节、国庆节七个法定节假日；同一年再加载即替换。</p>
        <label>
          缺少法定节假日时仍要加载的原因（一般不填；填写后记入审计日志）
          <input type="text" name="override" />
        </label>
      </UploadForm>
    </AdminPage>,
    status,
  );
}

async function pricesPage(c: AdminContext, outcome?: Outcome, status: PageStatus = 200) {
  const ctx = c.get("ctx");
  requireOperator(ctx.actor, "prices");
  const tables = await listPriceTables(ctx.db);
  return c.html(
    <AdminPage c={c} title="单价表" area="/admin/prices" outcome={outcome}>
      <div class="ys-table-wrap">
        <table class="ys-table">
          <thead>
            <tr>
              <th>版本</th>
              <th>生效日期</th>
              <th>来源</th>
              <th>单价</th>
            </tr>
          </thead>
          <tbody>
            {tables.map((t) => (
              <tr>
                <td>{t.version}</td>
                <td>{t.effectiveFrom}</td>
                <td>{t.source || "—"}</td>
                <td>
                  {Object.entries(t.prices).map(([kind, prices]) => (
                    <p>
                      {PRICED_KIND_NAMES[kind as keyof typeof PRICED_KIND_NAMES]}：
                      {Object.entries(prices ?? {})
                        .map(([name, amount]) => `${PRICE_NAMES[name as keyof typeof PRICE_NAMES]} ${amount}`)
                        .join("，")}
                    </p>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2 class="ys-section-title">加载单价表</h2>
      <UploadForm csrf={c.get("session").csrf} action="/admin/prices" label="加载" what="单价表文件">
        <p class="ys-muted">同一版本只加载一次；更正请用新的版本号。</p>
      </UploadForm>
    </AdminPage>,
    status,
  );
}

/** The operator's pages under /admin: each refuses, with a 403 page, whoever may not do its task. */
export function adminPages(deps: WebDeps) {
  const app = new Hono<WebEnv>();

  app.get("/", (c) => {
    const actor = c.get("ctx").actor;
    const areas = AREAS.filter((a) => mayOperate(actor, a.task));
    if (areas.length === 0) requireOperator(actor, "directory");
    return c.html(
      <AdminPage c={c} title="系统管理">
        <div class="weui-cells">
          {areas.map((a) => (
            <a class="weui-cell weui-cell_access" href={a.href}>
              <div class="weui-cell__bd">
                <p>{a.label}</p>
                <p class="ys-muted">{a.about}</p>
              </div>
            </a>
          ))}
        </div>
      </AdminPage>,
    );
  });

  app.get("/directory", (c) => directoryPage(c));
  // The POSTs leave the authorization to the verbs, which audit a refusal; a page shown for bad input checks it too.
  app.post("/directory/check", async (c) => {
    let upload: { input: unknown; text: string };
    try {
      upload = await uploadedJson(await formOf(c), "通讯录文件");
    } catch (err) {
      const { status, ...outcome } = shown(err);
      return directoryPage(c, outcome, status);
    }
    const check = await checkDirectoryImport({ ctx: c.get("ctx"), input: upload.input });
    if (!check.valid) return problemsPage(c, check.problems, 200);
    return c.html(
      <AdminPage c={c} title="通讯录导入" area="/admin/directory" outcome={{ notice: "检查通过，尚未导入。确认后将按下列数目导入：" }}>
        <dl class="ys-kv">
          <dt>单位</dt>
          <dd>{counts(check.units)}</dd>
          <dt>用户</dt>
          <dd>{counts(check.users)}</dd>
        </dl>
        <form method="post" action="/admin/directory/import" enctype="multipart/form-data" class="ys-panel">
          <Csrf csrf={c.get("session").csrf} />
          <input type="hidden" name="content" value={upload.text} />
          <button type="submit" class="weui-btn weui-btn_mini weui-btn_primary">
            确认导入
          </button>{" "}
          <a href="/admin/directory">取消</a>
        </form>
      </AdminPage>,
    );
  });
  app.post("/directory/import", async (c) => {
    const content = field(await formOf(c), "content");
    let input: unknown;
    try {
      if (content === undefined) throw invalid("没有要导入的内容，请重新上传通讯录文件");
      input = parseJsonText(content, "通讯录文件");
      const result = await importDirectory({ ctx: c.get("ctx"), input });
      return directoryPage(c, { notice: `通讯录已导入。单位：${counts(result.units)}；用户：${counts(result.users)}。` });
    } catch (err) {
      // The directory may have changed since the check: the import's own refusal, row by row.
      if (err instanceof ServiceError && err.code === "invalid_input" && err.fields) return problemsPage(c, directoryProblems(err.fields, input), 400);
      const { status, ...outcome } = shown(err);
      return directoryPage(c, outcome, status);
    }
  });

  app.get("/tokens", (c) => tokensPage(c, { notice: c.req.query("done") === "revoked" ? "令牌已吊销" : undefined }));
  app.post("/tokens", async (c) => {
    const body = await formOf(c);
    try {
      const issued = await createToken({ ctx: c.get("ctx"), input: { userId: field(body, "userId") ?? "", name: field(body, "name") ?? "", expires: field(body, "expires") } });
      return secretPage(c, "访问令牌", "/admin/tokens", issued.token, `令牌 ${issued.id} 已签发给 ${issued.userId}，${expiryText(issued.expiresAt)}到期；请妥善保存。`);
    } catch (err) {
      const { status, ...outcome } = shown(err);
      return tokensPage(c, outcome, status);
    }
  });
  app.post("/tokens/:id/revoke", async (c) => {
    try {
      await revokeToken({ ctx: c.get("ctx"), input: { id: c.req.param("id") } });
      return c.redirect("/admin/tokens?done=revoked", 303);
    } catch (err) {
      const { status, ...outcome } = shown(err);
      return tokensPage(c, outcome, status);
    }
  });
  app.post("/login-links", async (c) => {
    const body = await formOf(c);
    try {
      const link = await createLoginLink({ ctx: c.get("ctx"), input: { userId: field(body, "userId") ?? "" } });
      const base = deps.settings.publicUrl ?? new URL(c.req.url).origin;
      return secretPage(c, "访问令牌", "/admin/tokens", `${base}/login/${link.token}`, `登录链接已签发给 ${link.userId}，${expiryText(link.expiresAt)}前有效，只能使用一次；请只发给本人。`);
    } catch (err) {
      const { status, ...outcome } = shown(err);
      return tokensPage(c, outcome, status);
    }
  });

  app.get("/hosts", (c) => hostsPage(c, { notice: c.req.query("done") === "revoked" ? "主机凭据已吊销" : undefined }));
  app.post("/hosts", async (c) => {
    const body = await formOf(c);
    try {
      const host = await addHost({ ctx: c.get("ctx"), input: { name: field(body, "name") ?? "" } });
      return secretPage(c, "主机凭据", "/admin/hosts", host.credential, HOST_ADVICE(host.name));
    } catch (err) {
      const { status, ...outcome } = shown(err);
      return hostsPage(c, outcome, status);
    }
  });
  app.post("/hosts/:name/rotate", async (c) => {
    try {
      const host = await rotateHost({ ctx: c.get("ctx"), input: { name: c.req.param("name") } });
      return secretPage(c, "主机凭据", "/admin/hosts", host.credential, `${HOST_ADVICE(host.name)}旧凭据已失效。`);
    } catch (err) {
      const { status, ...outcome } = shown(err);
      return hostsPage(c, outcome, status);
    }
  });
  app.post("/hosts/:name/revoke", async (c) => {
    try {
      await revokeHost({ ctx: c.get("ctx"), input: { name: c.req.param("name") } });
      return c.redirect("/admin/hosts?done=revoked", 303);
    } catch (err) {
      const { status, ...outcome } = shown(err);
      return hostsPage(c, outcome, status);
    }
  });

  app.get("/calendar", (c) => calendarPage(c, { notice: c.req.query("done") ? `${c.req.query("done")} 年工作日历已加载` : undefined }));
  app.post("/calendar", async (c) => {
    const body = await formOf(c);
    try {
      const { input } = await uploadedJson(body, "放假安排文件");
      const loaded = await loadCalendarYearWithDeadlines({ ctx: c.get("ctx"), input, override: field(body, "override") });
      // As through the API (http/admin.ts): this service counts with the year at once, other replicas at their
      // next job round, which refreshes the calendar from the database first (jobs/runner runRound).
      await deps.refreshCalendar?.();
      const missing = loaded.missing.length > 0 ? `；按原因加载，缺少 ${loaded.missing.join("、")}，公布后请补全再加载一次` : "";
      const filled = loaded.recomputed > 0 ? `；${loaded.recomputed} 个待定期限已计算` : "";
      return calendarPage(c, { notice: `${loaded.year} 年工作日历已${loaded.replaced ? "更新" : "加载"}${filled}${missing}` });
    } catch (err) {
      const { status, ...outcome } = shown(err);
      return calendarPage(c, outcome, status);
    }
  });

  app.get("/prices", (c) => pricesPage(c));
  app.post("/prices", async (c) => {
    try {
      const { input } = await uploadedJson(await formOf(c), "单价表文件");
      const loaded = await loadPriceTable({ ctx: c.get("ctx"), input });
      return pricesPage(c, { notice: `单价表 ${loaded.version} 已加载，自 ${loaded.effectiveFrom} 起执行` });
    } catch (err) {
      const { status, ...outcome } = shown(err);
      return pricesPage(c, outcome, status);
    }
  });

  return app;
}
