import { rectificationGrounds } from "../../../../flows/rectification/definition";
import { MANAGER_REVOCATIONS, type ManagerRevocationTrigger } from "../../../../flows/revocation/definition";
import { REVOCATION_TRIGGERS } from "../../../resources/catalog";
import { createHash, randomBytes } from "node:crypto";
import { Hono, type Context } from "hono";
import { canonicalJson } from "../../../core/audit-canonical";
import { shanghaiDate } from "../../../core/calendar";
import type { Actor, ServiceContext } from "../../../core/context";
import { notFound, ServiceError } from "../../../core/errors";
import { getUnit, listUsers } from "../../../directory/queries";
import { MB } from "../../../files";
import { files } from "../../../../db/schema";
import { and, eq, inArray } from "drizzle-orm";
import { actOnRequest, getRequest, previewRequest, requestIdByCode, submitRequest, type RequestPreview } from "../../../engine";
import { submitDemand } from "../../../resources/demand";
import { listResources } from "../../../resources";
import { assetHref } from "../assets";
import { Csrf, Message, Page } from "../layout";
import type { WebDeps, WebEnv } from "../session";
import { checkForm, formForProfile, formsFor, webForm, WEB_FORMS } from "./index";
import { FORM_KEY, serviceFieldMessages, type FormMessages } from "./messages";
import { applyRowCommand, plainFields, readValues, rowGroups, valuesFromInput, type FormBody, type FormValues } from "./parse";
import { FormFields, FormProblems, HiddenValues, type DynamicOptions } from "./render";
import { chosenFile, storeChosenFile } from "./uploads";
import { ApplicationTotals, ScaleUpPanel, scaleUpFor } from "./panels";
import type { WebForm } from "./types";
import { PROFILES, type ProfileKey } from "../../../../profiles";

// 发起申请 (/new) and 修改后重新提交 (/requests/<code>/edit): a unit's forms, checked as a submission checks them,
// previewed with who decides each stage by which date, then submitted through the engine's own verbs.

type C = Context<WebEnv>;

const STEP = { preview: "preview", edit: "edit", submit: "submit" } as const;

const fileFields = (form: WebForm) => [
  ...plainFields(form).filter((f) => f.kind === "file").map((f) => ({ group: null, name: f.name })),
  ...rowGroups(form).flatMap((g) => g.fields.filter((f) => f.kind === "file").map((f) => ({ group: g.name, name: f.name }))),
];
const hasFiles = (form: WebForm) => fileFields(form).length > 0;

/** The stored files' names, for the file fields that hold their ids (the unit's own files only). */
async function fileNames(ctx: ServiceContext, form: WebForm, values: FormValues): Promise<DynamicOptions> {
  const ids = new Set<string>();
  for (const { group, name } of fileFields(form))
    for (const v of group ? (values.rows[group] ?? []).map((r) => r[name]) : [values.fields[name]]) if (typeof v === "string" && v !== "") ids.add(v);
  if (ids.size === 0) return {};
  const rows = await ctx.db
    .select({ id: files.id, name: files.name, size: files.size })
    .from(files)
    .where(and(inArray(files.id, [...ids]), eq(files.unitId, ctx.actor!.unitId)));
  const named = rows.map((f) => ({ value: f.id, label: `${f.name}（${Math.max(1, Math.round(f.size / 1024))} KB）` }));
  return Object.fromEntries(fileFields(form).map(({ name }) => [name, named]));
}

/** The purposes a row's file may be uploaded as: the options of the row's own 材料类型 field. */
const purposesOf = (form: WebForm, group: string | null) =>
  rowGroups(form)
    .find((g) => g.name === group)
    ?.fields.find((f) => f.name === "purpose")?.options ?? [];

/**
 * The files chosen in this post, stored at once (a browser cannot send a chosen file again) as the purpose chosen
 * in their row: each one's id takes its place in the body. A refused file (too large, a type not allowed, no
 * purpose chosen, over the quota of files not yet submitted) is named on its field instead.
 */
async function storeUploads(ctx: ServiceContext, form: WebForm, body: FormBody, maxBytes: number): Promise<FormMessages> {
  const messages: FormMessages = {};
  for (const { group, name } of fileFields(form)) {
    const keys = Object.keys(body).filter((k) => (group ? new RegExp(`^${group}\\[\\d{1,6}\\]\\.${name}$`).test(k) : k === name));
    for (const key of keys) {
      const chosen = chosenFile(body[key]);
      if (!chosen) continue;
      const purpose = body[key.replace(new RegExp(`${name}$`), "purpose")];
      if (typeof purpose !== "string" || !purposesOf(form, group).some((o) => o.value === purpose)) {
        messages[key] = "请先选择材料类型，再选择文件";
        body[key] = "";
        continue;
      }
      const refused = await storeChosenFile(ctx, body, key, chosen, purpose, maxBytes);
      if (refused) messages[key] = refused;
    }
  }
  return messages;
}

/** The choices that come from the ledger or the directory, for this person, and the names of files already stored. */
async function dynamicOptions(ctx: ServiceContext, form: WebForm, values: FormValues): Promise<DynamicOptions> {
  return { ...(await choices(ctx, form)), ...(await fileNames(ctx, form, values)) };
}

async function choices(ctx: ServiceContext, form: WebForm): Promise<DynamicOptions> {
  const actor = ctx.actor!;
  if (form.key === "rectification") {
    const { items } = await listResources({ ctx, input: { status: "delivered" } });
    return {
      resources: items.filter((r) => r.kind !== "backup").map((r) => ({ value: String(r.id), label: resourceLabel(r) })),
      ground: rectificationGrounds(ctx.profile).map((g) => ({ value: g.value, label: `${g.label}（${g.article}）` })),
    };
  }
  if (form.key === "adjustment" || form.key === "revocation" || form.key === "backup" || form.key === "purpose_change") {
    const { items } = await listResources({ ctx, input: { status: "delivered" } });
    // Only VMs and PaaS services have sizes to adjust; hosting, bandwidth, IPs and security services do not.
    // Only a VM has a 用途 in the ledger to change, and a backup is made of a VM.
    const sized = (kind: string) => kind === "vm" || kind.startsWith("paas_");
    const chosen = items.filter((r) => (form.key === "backup" || form.key === "purpose_change" ? r.kind === "vm" : form.key === "adjustment" ? sized(r.kind) : r.kind !== "backup"));
    const several = form.key === "revocation" || form.key === "purpose_change";
    // The manager's grounds for revoking, under this profile's document.
    const triggers = Object.entries(MANAGER_REVOCATIONS[ctx.profile] ?? {}).map(([value, article]) => ({ value, label: `${REVOCATION_TRIGGERS[value as ManagerRevocationTrigger]}（${article}）` }));
    return { [several ? "resources" : "resource"]: chosen.map((r) => ({ value: String(r.id), label: resourceLabel(r) })), ...(form.key === "revocation" ? { trigger: actor.roles.includes("manager") ? triggers : [] } : {}) };
  }
  if (form.key === "application" && PROFILES[ctx.profile].reapplication) {
    // 002 第二十一条: what a 重大变更 applied for anew may replace is the unit's own resources in use.
    const { items } = await listResources({ ctx, input: { status: "delivered", unit: actor.unitId } });
    return { replaces: items.filter((r) => r.kind !== "backup").map((r) => ({ value: String(r.id), label: resourceLabel(r) })) };
  }
  if (form.key === "vm_account") {
    // An applicant asks for people of their own unit (the flow refuses others); a security officer for anyone.
    const people = await listUsers(ctx.db, { active: true, ...(actor.roles.includes("security_officer") ? {} : { unitId: actor.unitId }) });
    return { holder: people.map((u) => ({ value: u.id, label: `${u.name}（${u.id}）` })) };
  }
  return {};
}

type LedgerItem = Awaited<ReturnType<typeof listResources>>["items"][number];

/** "YS-2026-00001-01 资助系统 · 应用服务器 4 核 / 8 GB / 100 GB", from the latest size the ledger holds. */
function resourceLabel(r: LedgerItem): string {
  // The sizes as of the latest change of size; the 用途 as the ledger has it now (a 用途变更 sets no new size).
  const spec = { ...(r.sizes.at(-1)?.spec ?? r.spec), purpose: (r.spec as Record<string, unknown>).purpose } as Record<string, unknown>;
  const what = [spec.purpose ?? spec.device ?? spec.kindName ?? spec.type, spec.vcpu !== undefined ? `${spec.vcpu} 核` : null, spec.memoryGb !== undefined ? `${spec.memoryGb} GB 内存` : null, spec.diskGb ?? spec.storageGb ? `${spec.diskGb ?? spec.storageGb} GB 存储` : null]
    .filter((x) => x !== null && x !== undefined && x !== "")
    .join(" / ");
  return `${r.name} ${r.system}${what ? ` · ${what}` : ""}${r.unitName ? `（${r.unitName}）` : ""}`;
}

/** What a new form starts with: one blank row per group, next year for the yearly demand. */
function initialValues(ctx: ServiceContext, form: WebForm, query: Record<string, string>): FormValues {
  const values = readValues(form, {});
  if (form.key === "demand") values.fields.year = String(Number(shanghaiDate(ctx.clock.now()).slice(0, 4)) + 1);
  if (form.key === "vm_account") values.fields.kind = "new";
  if (form.key === "adjustment") {
    values.fields.direction = query.direction === "down" ? "down" : "up";
    if (query.resource && /^\d{1,12}$/.test(query.resource)) values.fields.resource = query.resource;
  }
  return values;
}

/** The forms' stylesheet and script, served by the service itself (the layout's head carries the common ones). */
function FormAssets() {
  return (
    <>
      <link rel="stylesheet" href={assetHref("forms.css")} />
      <script src={assetHref("forms.js")} defer></script>
    </>
  );
}

interface FormView {
  form: WebForm;
  values: FormValues;
  messages: FormMessages;
  action: string;
  /** 修改后重新提交: the reason the request came back, and the button's words. */
  returned?: { code: string; by: string; stage: string; reason: string };
  /** UPLOAD_MAX_MB: the largest file a row takes, told in the 附件 note and checked on upload. */
  uploadMaxMb: number;
}

async function renderForm(c: C, view: FormView, status = 200) {
  const ctx = c.get("ctx");
  const { form, values, messages } = view;
  const unit = await getUnit(ctx.db, ctx.actor!.unitId);
  const dynamic = await dynamicOptions(ctx, form, values);
  const scaleUp = form.key === "adjustment" ? await scaleUpFor(ctx, values.fields.resource) : null;
  const direct = form.flow === null || view.returned;
  return c.html(
    <Page title={form.title} ctx={ctx} csrf={c.get("session").csrf} current="/new">
      <FormAssets />
      <h1>{view.returned ? `修改后重新提交：${form.title}` : form.title}</h1>
      <p class="ys-panel">
        {form.description}
        <br />
        <span class="ys-muted">依据：{form.source}</span>
        <br />
        <span class="ys-muted">建设单位：{unit?.name ?? ctx.actor!.unitId}</span>
      </p>
      {view.returned ? (
        <div class="ys-error" role="note">
          <p>
            {view.returned.code} 已被{view.returned.by}在「{view.returned.stage}」退回，理由：{view.returned.reason}
          </p>
          <p>请按退回理由修改后重新提交。</p>
        </div>
      ) : null}
      <FormProblems messages={messages} />
      <form method="post" action={view.action} enctype={hasFiles(form) ? "multipart/form-data" : undefined} novalidate>
        <Csrf csrf={c.get("session").csrf} />
        {/* Enter in a field submits the first button: this one, not a row's 删除. */}
        <button type="submit" name="_step" value={direct ? STEP.submit : STEP.preview} class="ys-default-submit" tabindex={-1} aria-hidden="true">
          {direct ? "提交" : "预览"}
        </button>
        <FormFields form={form} values={values} messages={messages} dynamic={dynamic} uploadMaxMb={view.uploadMaxMb} />
        {form.key === "application" ? <ApplicationTotals values={values} /> : null}
        {scaleUp ? <ScaleUpPanel check={scaleUp} /> : null}
        <div class="ys-form-buttons">
          <button type="submit" name="_step" value={direct ? STEP.submit : STEP.preview} class="weui-btn weui-btn_primary">
            {view.returned ? "重新提交" : direct ? "提交" : "预览"}
          </button>
        </div>
      </form>
    </Page>,
    status as 200,
  );
}

/** The labels of what was filled in, as the person chose them (option labels, never codes). */
function Summary({ form, values, dynamic }: { form: WebForm; values: FormValues; dynamic: DynamicOptions }) {
  const label = (options: readonly { value: string; label: string }[] | undefined, v: string) => options?.find((o) => o.value === v)?.label ?? v;
  const lines: [string, string][] = [];
  for (const f of plainFields(form)) {
    const v = values.fields[f.name];
    const list = Array.isArray(v) ? v : v ? [v] : [];
    if (list.length > 0) lines.push([f.label, list.map((x) => label(f.options ?? dynamic[f.name], x)).join("、")]);
  }
  const groups = rowGroups(form).map((g) => ({ g, rows: values.rows[g.name] ?? [] }));
  return (
    <>
      <dl class="ys-kv">
        {lines.map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </>
        ))}
      </dl>
      {groups
        .filter(({ rows }) => rows.length > 0)
        .map(({ g, rows }) => (
          <div class="ys-table-wrap">
            <table class="ys-table">
              <thead>
                <tr>
                  {g.fields.map((f) => (
                    <th>{f.label}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((row) => (
                  <tr>
                    {g.fields.map((f) => (
                      <td>{label(f.options ?? dynamic[f.name], row[f.name] ?? "") || (f.emptyOption ?? "")}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
    </>
  );
}

function Deciders({ stage }: { stage: RequestPreview["stages"][number] }) {
  const parts = stage.parties.map((p) =>
    p.people.length > 0 ? p.people.map((u) => `${u.name}（${u.unitName}）`).join("、") : `${p.partyName}（通讯录中暂无人员）`,
  );
  return <>{parts.join(stage.mode === "all" ? "；并且 " : "；")}</>;
}

// The date and its span each stay on one line; on a phone the span may go under the date.
function byText(stage: RequestPreview["stages"][number]) {
  if (stage.by)
    return (
      <>
        <span class="ys-nowrap">{stage.by} 前</span>
        <wbr />
        <span class="ys-nowrap">（{stage.span}）</span>
      </>
    );
  if (stage.pending) return "工作日历尚未覆盖，待加载后计算";
  return stage.span ? "视前一环节办结时间而定" : "无期限";
}

async function renderPreview(c: C, form: WebForm, values: FormValues, preview: RequestPreview) {
  const ctx = c.get("ctx");
  const dynamic = await dynamicOptions(ctx, form, values);
  return c.html(
    <Page title={`预览：${form.title}`} ctx={ctx} csrf={c.get("session").csrf} current="/new">
      <FormAssets />
      <h1>预览：{preview.title}</h1>
      <p class="ys-panel">
        {preview.flowName} · {preview.unitName}。提交后将依次经过以下环节。最迟办结日按工作日（含调休上班日、除去法定节假日）从今天（{preview.from}）起推算，假定每个环节都用满时限。
      </p>
      <div class="ys-table-wrap">
        <table class="ys-table ys-preview">
          <thead>
            <tr>
              <th>环节</th>
              <th>由谁办理</th>
              <th>最迟办结</th>
            </tr>
          </thead>
          <tbody>
            {preview.stages.map((s) => (
              <tr data-stage={s.stage}>
                <td>
                  {s.name}
                  {s.mode === "all" ? <span class="ys-muted">（会签）</span> : null}
                </td>
                <td>
                  <Deciders stage={s} />
                </td>
                <td>{byText(s)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2 class="ys-section-title">填报内容</h2>
      <Summary form={form} values={values} dynamic={dynamic} />
      <form method="post" action={`/new/${form.key}`} class="ys-form-buttons">
        <Csrf csrf={c.get("session").csrf} />
        <HiddenValues form={form} values={values} />
        {/* One submission however often 提交 is pressed: the engine keeps the first answer under this key. */}
        <input type="hidden" name="_once" value={randomBytes(12).toString("base64url")} />
        <button type="submit" name="_step" value={STEP.submit} class="weui-btn weui-btn_primary">
          提交
        </button>
        <button type="submit" name="_step" value={STEP.edit} class="weui-btn weui-btn_default">
          返回修改
        </button>
      </form>
    </Page>,
  );
}

/** A refusal of the engine shown on the form: its fields on theirs, the rest at the top. */
function refusalMessages(form: WebForm, err: ServiceError): FormMessages {
  return { ...serviceFieldMessages(form, err.fields), [FORM_KEY]: err.message };
}

const bodyOf = async (c: C) => (await c.req.parseBody({ all: true })) as FormBody;
const stepOf = (body: FormBody) => (typeof body._step === "string" ? body._step : STEP.preview);

/** The form's submission kept once per key, so a second press of 提交 answers with the first request. */
function once(ctx: ServiceContext, form: WebForm, body: FormBody, data: unknown): ServiceContext {
  const key = typeof body._once === "string" && /^[A-Za-z0-9_-]{8,64}$/.test(body._once) ? body._once : null;
  if (!key) return ctx;
  const fingerprint = createHash("sha256").update(canonicalJson(data ?? null)).digest("hex");
  return { ...ctx, dedupe: { scope: `web:${ctx.actor!.userId}:new/${form.key}`, key, fingerprint } };
}

/**
 * A posted form: a row added or removed, or 返回修改, shows it again; otherwise it is checked, and `act` runs on the
 * checked form. Its messages, or a refusal of the engine, show on the form, with what was typed.
 */
async function handlePost(
  c: C,
  view: Omit<FormView, "values" | "messages">,
  body: FormBody,
  act: (data: unknown, read: FormValues) => Promise<Response>,
): Promise<Response> {
  const refusedFiles = await storeUploads(c.get("ctx"), view.form, body, view.uploadMaxMb * MB);
  const read = readValues(view.form, body);
  if (Object.keys(refusedFiles).length > 0) return renderForm(c, { ...view, values: read, messages: refusedFiles }, 400);
  const moved = applyRowCommand(view.form, body, read);
  if (moved) return renderForm(c, { ...view, values: moved, messages: {} });
  if (stepOf(body) === STEP.edit) return renderForm(c, { ...view, values: read, messages: {} });
  const checked = checkForm(view.form, read);
  if (!checked.ok) return renderForm(c, { ...view, values: read, messages: checked.messages }, 400);
  try {
    return await act(checked.data, read);
  } catch (err) {
    if (err instanceof ServiceError && err.status !== 503) return renderForm(c, { ...view, values: read, messages: refusalMessages(view.form, err) }, err.status);
    throw err;
  }
}

function formFor(c: C, actor: Actor): WebForm {
  const form = webForm(c.req.param("key") ?? "");
  if (!form || !formsFor(actor, c.get("ctx").profile).includes(form)) throw notFound("没有这个申请表，或您的角色不能发起此类申请");
  return formForProfile(form, c.get("ctx").profile);
}

/** /new: the forms this person may start; /new/<form>: fill in, 预览, 提交. */
export function newRequestPages(deps: WebDeps) {
  const app = new Hono<WebEnv>();

  app.get("/", (c) => {
    const ctx = c.get("ctx");
    const forms = formsFor(ctx.actor!, ctx.profile);
    return c.html(
      <Page title="发起申请" ctx={ctx} csrf={c.get("session").csrf} current="/new">
        <h1>发起申请</h1>
        {forms.length === 0 ? (
          <p class="ys-panel ys-muted">您的角色不发起申请。</p>
        ) : (
          <div class="weui-cells">
            {forms.map((f) => formForProfile(f, ctx.profile)).map((f) => (
              <a class="weui-cell weui-cell_access" href={`/new/${f.key}`}>
                <div class="weui-cell__bd">
                  <p>{f.title}</p>
                  <p class="ys-muted">{f.description}</p>
                </div>
              </a>
            ))}
          </div>
        )}
      </Page>,
    );
  });

  app.get("/:key", (c) => {
    const form = formFor(c, c.get("ctx").actor!);
    return renderForm(c, { form, values: initialValues(c.get("ctx"), form, c.req.query()), messages: {}, action: `/new/${form.key}`, uploadMaxMb: deps.settings.uploadMaxMb });
  });

  app.post("/:key", async (c) => {
    const ctx = c.get("ctx");
    const form = formFor(c, ctx.actor!);
    const body = await bodyOf(c);
    return handlePost(c, { form, action: `/new/${form.key}`, uploadMaxMb: deps.settings.uploadMaxMb }, body, async (data, read) => {
      if (form.flow === null) {
        const done = await submitDemand({ ctx, input: data });
        return c.html(
          <Message title="已填报" message={done.message} ctx={ctx} csrf={c.get("session").csrf} kind="success">
            <p class="weui-msg__desc">
              <a href="/">返回首页</a>
            </p>
          </Message>,
        );
      }
      const input = { flow: form.flow, form: data } as Parameters<typeof submitRequest>[0]["input"];
      if (stepOf(body) !== STEP.submit) return renderPreview(c, form, read, await previewRequest({ ctx, input }));
      const result = await submitRequest({ ctx: once(ctx, form, body, data), input });
      deps.onQueued?.();
      return c.redirect(`/requests/${result.code}?done=submit`, 303);
    });
  });
  return app;
}

type RequestView = Awaited<ReturnType<typeof getRequest>>;

/** Who returned the request, from which stage, and why: the latest returned stage's returning task. */
function returnedBy(r: RequestView): FormView["returned"] {
  const run = r.stages.filter((s) => s.status === "returned").at(-1);
  const task = run?.tasks.find((t) => t.status === "returned");
  return { code: r.code, by: task?.userName ?? "审核人", stage: run?.name ?? "", reason: task?.note ?? "" };
}

/** The stored form's parts the web form does not edit (the attachments): kept as they were. */
function untouched(form: WebForm, stored: unknown): Record<string, unknown> {
  const edited = new Set([...plainFields(form).map((f) => f.name.split(".")[0]!), ...rowGroups(form).map((g) => g.name)]);
  return Object.fromEntries(Object.entries((stored ?? {}) as Record<string, unknown>).filter(([k]) => !edited.has(k)));
}

/** /requests/<code>/edit: a returned request's form, filled in as it was, with the reason; 重新提交. */
export function editRequestPages(deps: WebDeps) {
  const app = new Hono<WebEnv>();

  async function load(c: C) {
    const ctx = c.get("ctx");
    const code = c.req.param("code")!.toUpperCase();
    const id = /^YS-\d{4}-\d{5,}$/.test(code) ? await requestIdByCode(ctx.db, code) : null;
    if (id === null) throw notFound(`申请 ${code} 不存在或您无权查看`);
    const r = await getRequest({ ctx, input: { id } });
    const found = WEB_FORMS.find((f) => f.flow === r.flow);
    // The request's own profile's form (a request keeps the profile it was filed under).
    const form = found && formForProfile(found, (r as { profile?: ProfileKey }).profile ?? ctx.profile);
    return { r, form };
  }

  /** Only the applicant's own returned request opens for editing; anyone else is told why, with nothing changed. */
  function refusal(c: C, r: RequestView, form: WebForm | undefined): Response | Promise<Response> | null {
    const ctx = c.get("ctx");
    const why =
      !form ? "此类申请不在网页端填报" : r.applicant?.id !== ctx.actor!.userId ? "只有申请人本人可以修改并重新提交" : r.status !== "returned" ? `申请当前状态为「${r.statusName}」，无需修改` : null;
    if (!why) return null;
    return c.html(
      <Message title="不能修改" message={why} ctx={ctx} csrf={c.get("session").csrf}>
        <p class="weui-msg__desc">
          <a href={`/requests/${r.code}`}>查看申请</a>
        </p>
      </Message>,
      409,
    );
  }

  app.get("/:code/edit", async (c) => {
    const { r, form } = await load(c);
    const refused = refusal(c, r, form);
    if (refused) return refused;
    return renderForm(c, { form: form!, values: valuesFromInput(form!, r.form), messages: {}, action: `/requests/${r.code}/edit`, returned: returnedBy(r), uploadMaxMb: deps.settings.uploadMaxMb });
  });

  app.post("/:code/edit", async (c) => {
    const ctx = c.get("ctx");
    const { r, form: found } = await load(c);
    const refused = refusal(c, r, found);
    if (refused) return refused;
    const form = found!;
    const body = await bodyOf(c);
    return handlePost(c, { form, action: `/requests/${r.code}/edit`, returned: returnedBy(r), uploadMaxMb: deps.settings.uploadMaxMb }, body, async (data) => {
      // The schema fills in what the web form lacks (attachments: []); the stored parts win over those defaults.
      const edited = { ...(data as Record<string, unknown>), ...untouched(form, r.form) };
      await actOnRequest({ ctx, input: { requestId: r.id, action: "resubmit", form: edited } });
      deps.onQueued?.();
      return c.redirect(`/requests/${r.code}?done=resubmit`, 303);
    });
  });
  return app;
}
