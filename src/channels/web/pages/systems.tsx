import { inArray } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { files } from "../../../../db/schema";
import type { ServiceContext } from "../../../core/context";
import { notFound, ServiceError } from "../../../core/errors";
import { getUser, listUnits } from "../../../directory/queries";
import { MB, uploadFile } from "../../../files";
import {
  CRYPTO_RESULTS,
  getSystem,
  listSystems,
  mayKeepSystem,
  MLPS_LEVELS,
  registerInput,
  registerSystem,
  SYSTEM_KINDS,
  updateBody,
  updateSystem,
  type SystemView,
} from "../../../systems/register";
import { assetHref } from "../assets";
import { checkForm, FORM_KEY, readValues, serviceFieldMessages, valuesFromInput, type Field, type FieldOption, type FormBody, type FormMessages, type FormValues, type WebForm } from "../forms";
import { FormFields, FormProblems, type DynamicOptions } from "../forms/render";
import { Csrf, Page } from "../layout";
import type { WebDeps, WebEnv } from "../session";
import { when } from "../words";
import { onlyFor, OversightStyle, Table } from "./oversight";

// 系统登记 (004 第二条): the register of 政务信息系统 on the portal, over the same verbs as /api/systems. Applicants
// see their unit's systems, county bureaus their county's, the city's roles all (listSystems decides). A unit's
// applicant, or the manager for a unit it chooses, registers a system with its 立项 reference and 立项方案, and
// records its 等保 (第三十八条) and 密评 (第四十条) with their documents. Works without JavaScript: each form is a
// multipart POST; a chosen file is uploaded first (as its field's purpose) and then named by the verb, so on a
// refusal the message shows under its field and what was typed, the stored file too, is kept.

type C = Context<WebEnv>;

/** Who opens the page: everyone whose unit has systems, and the city's roles. */
export const SYSTEM_PAGE_ROLES = ["applicant", "county_bureau", "manager", "provider", "reviewer"] as const;

const options = (labels: Record<string | number, string>): FieldOption[] => Object.entries(labels).map(([value, label]) => ({ value, label }));

/** The purpose each file field uploads as (ATTACHMENT_PURPOSES), which holdFile then checks. */
const FILE_PURPOSES: Record<string, string> = { approvalFileId: "project_approval", "mlps.fileId": "mlps_report", "crypto.fileId": "crypto_report" };

const unitField: Field = { name: "unitId", label: "使用单位", kind: "select" };
const registerFields: Field[] = [
  { name: "name", label: "系统名称", short: "政务信息系统名称", kind: "text", hint: "与立项方案、迁云上云实施方案中的名称逐字一致；申请云资源时按此名称填写（004 第十二条(二)1）" },
  { name: "kind", label: "系统类型", kind: "select", options: options(SYSTEM_KINDS) },
  { name: "approvalRef", label: "立项批复文号 / 立项依据", short: "立项批复文号或立项依据", kind: "text", placeholder: "如：梅市发改投审〔2025〕21 号" },
  { name: "approvalFileId", label: "立项方案 / 建设批复", kind: "file", optional: true, hint: "新建系统上云须有立项方案（004 第十二条(二)2）：在此上传后，申请时无须再附" },
  // 004 第二条: the 实施细则 covers 非涉密 systems only; the schema's words are shown when it is not ticked.
  { name: "nonClassified", label: "本系统为非涉密政务信息系统（004 第二条）", kind: "checkbox", hint: "涉密系统不得在政务云登记" },
];

/** The registration form: a manager chooses the unit, an applicant registers for their own. */
function registerForm(withUnit: boolean): WebForm {
  return {
    key: "system",
    flow: null,
    title: "登记系统",
    source: "004 第二条、第十二条(二)",
    description: "",
    sections: [{ title: "登记新系统", note: "附件不超过 {UPLOAD_MAX_MB} MB。", fields: withUnit ? [unitField, ...registerFields] : registerFields }],
    schema: registerInput,
  };
}

/** 004 第三十八条: 定级、备案 and 等级测评, recorded whole; `note` says the document already kept is kept. */
function mlpsForm(note?: string): WebForm {
  return {
    key: "mlps",
    flow: null,
    title: "等级保护",
    source: "004 第三十八条",
    description: "",
    sections: [
      {
        title: "录入等级保护（004 第三十八条）",
        ...(note ? { note } : {}),
        fields: [
          { name: "mlps.level", label: "等保级别", kind: "select", intValues: true, options: options(MLPS_LEVELS) },
          { name: "mlps.filedOn", label: "备案日期", kind: "date" },
          { name: "mlps.recordNo", label: "备案证明编号", kind: "text" },
          { name: "mlps.testedOn", label: "等级测评日期", kind: "date", optional: true },
          { name: "mlps.fileId", label: "备案证明 / 测评报告", kind: "file", optional: true },
        ],
      },
    ],
    schema: updateBody,
  };
}

/** 004 第四十条: 商用密码应用安全性评估, recorded whole. */
function cryptoForm(note?: string): WebForm {
  return {
    key: "crypto",
    flow: null,
    title: "商用密码应用安全性评估",
    source: "004 第四十条",
    description: "",
    sections: [
      {
        title: "录入商用密码应用安全性评估（004 第四十条）",
        ...(note ? { note } : {}),
        fields: [
          { name: "crypto.assessedOn", label: "密评日期", kind: "date" },
          { name: "crypto.result", label: "密评结论", kind: "select", options: options(CRYPTO_RESULTS) },
          { name: "crypto.fileId", label: "密评报告", kind: "file", optional: true },
        ],
      },
    ],
    schema: updateBody,
  };
}

const DONE: Record<string, string> = {
  register: "系统已登记。申请云资源时，系统名称请按登记的名称填写。",
  mlps: "等级保护记录已保存。",
  crypto: "商用密码应用安全性评估记录已保存。",
};

const fileFieldsOf = (form: WebForm) => form.sections.flatMap((s) => s.fields ?? []).filter((f) => f.kind === "file");

/**
 * The files chosen in this post, stored at once as their field's purpose (a browser cannot send a chosen file
 * again): each one's id takes its place in the body. A refused file is named on its field instead.
 */
async function storeUploads(ctx: ServiceContext, form: WebForm, body: FormBody, maxBytes: number): Promise<FormMessages> {
  const messages: FormMessages = {};
  for (const f of fileFieldsOf(form)) {
    const value = body[f.name];
    const list = Array.isArray(value) ? value : [value];
    const chosen = list.find((v): v is File => v !== undefined && typeof v !== "string" && v.size > 0);
    if (!chosen) {
      // An empty file input sends an empty file: what is left is the id of a file stored by an earlier post.
      body[f.name] = list.filter((v): v is string => typeof v === "string");
      continue;
    }
    try {
      const stored = await uploadFile({ ctx, input: { name: chosen.name, content: new Uint8Array(await chosen.arrayBuffer()), purpose: FILE_PURPOSES[f.name]! }, maxBytes });
      body[f.name] = stored.id;
    } catch (err) {
      if (!(err instanceof ServiceError)) throw err;
      messages[f.name] = err.message;
      body[f.name] = "";
    }
  }
  return messages;
}

/** The names of stored files by id (links in the table, and a form's file already uploaded). */
async function fileNames(ctx: ServiceContext, ids: readonly (string | null | undefined)[]): Promise<Map<string, { name: string; size: number; unitId: string }>> {
  const wanted = [...new Set(ids.filter((id): id is string => typeof id === "string" && id !== ""))];
  if (wanted.length === 0) return new Map();
  const rows = await ctx.db.select({ id: files.id, name: files.name, size: files.size, unitId: files.unitId }).from(files).where(inArray(files.id, wanted));
  return new Map(rows.map((r) => [r.id, { name: r.name, size: r.size, unitId: r.unitId }]));
}

/** A form's file fields' options: the file already stored for it, by its name and size. */
async function fileOptions(ctx: ServiceContext, form: WebForm, values: FormValues): Promise<DynamicOptions> {
  const fields = fileFieldsOf(form);
  const names = await fileNames(ctx, fields.map((f) => values.fields[f.name] as string | undefined));
  // Only files of the person's own unit: an id typed into the body names nothing else on the page.
  const named = [...names].filter(([, f]) => f.unitId === ctx.actor!.unitId).map(([id, f]) => ({ value: id, label: `${f.name}（${Math.max(1, Math.round(f.size / 1024))} KB）` }));
  return Object.fromEntries(fields.map((f) => [f.name, named]));
}

function FileLink({ id, names, label }: { id: string | null; names: Map<string, { name: string }>; label: string }) {
  if (!id) return null;
  return (
    <>
      <br />
      <a href={`/files/${id}`}>
        {label}：{names.get(id)?.name ?? "下载"}
      </a>
    </>
  );
}

function Mlps({ s, names }: { s: SystemView; names: Map<string, { name: string }> }) {
  if (!s.mlps) return <span class="ys-muted">未录入</span>;
  return (
    <>
      {s.mlps.levelText}
      <br />
      备案日期 {s.mlps.filedOn}
      <br />
      备案证明编号 {s.mlps.recordNo}
      {s.mlps.testedOn ? (
        <>
          <br />
          测评日期 {s.mlps.testedOn}
        </>
      ) : null}
      <FileLink id={s.mlps.fileId} names={names} label="文件" />
    </>
  );
}

function Crypto({ s, names }: { s: SystemView; names: Map<string, { name: string }> }) {
  if (!s.crypto) return <span class="ys-muted">未录入</span>;
  return (
    <>
      {s.crypto.assessedOn} {s.crypto.resultText}
      <FileLink id={s.crypto.fileId} names={names} label="报告" />
    </>
  );
}

const systemFileIds = (list: readonly SystemView[]) => list.flatMap((s) => [s.approvalFileId, s.mlps?.fileId, s.crypto?.fileId]);

/** One of the page's forms: multipart (it may carry a file), with its fields, messages and button. */
function SystemForm(props: { c: C; form: WebForm; action: string; values: FormValues; messages: FormMessages; dynamic: DynamicOptions; uploadMaxMb: number; button: string }) {
  const { c, form, values, messages, dynamic } = props;
  return (
    <form method="post" action={props.action} enctype="multipart/form-data" novalidate id={`form-${form.key}`}>
      <Csrf csrf={c.get("session").csrf} />
      <FormProblems messages={messages} />
      <FormFields form={form} values={values} messages={messages} dynamic={dynamic} uploadMaxMb={props.uploadMaxMb} />
      <div class="ys-form-buttons">
        <button type="submit" class="weui-btn weui-btn_primary">
          {props.button}
        </button>
      </div>
    </form>
  );
}

/** What was done, or a refusal of someone the page shows no form to (the verb's own words). */
function Notice({ message }: { message: { notice?: string; refused?: string } }) {
  if (message.refused)
    return (
      <p class="ys-error" role="alert">
        {message.refused}
      </p>
    );
  return message.notice ? (
    <p class="ys-notice" role="status">
      {message.notice}
    </p>
  ) : null;
}

const mayRegister = (ctx: ServiceContext) => ctx.actor!.roles.includes("manager") || ctx.actor!.roles.includes("applicant");
const choosesUnit = (ctx: ServiceContext) => ctx.actor!.roles.includes("manager");

/** A service's refusal on the form: its fields on theirs, the rest at the top; a second registration on the name. */
function refusalMessages(form: WebForm, err: ServiceError): FormMessages {
  if (err.code === "system_exists") return { name: err.message };
  const fields = serviceFieldMessages(form, err.fields);
  return Object.keys(fields).length > 0 ? { ...fields, [FORM_KEY]: err.message } : { [FORM_KEY]: err.message };
}

/** /systems: the register, with the registration form; /systems/<id>: one system, with its 等保 and 密评 forms. */
export function systemPages(deps: WebDeps) {
  const app = new Hono<WebEnv>();
  app.use("*", onlyFor(SYSTEM_PAGE_ROLES));
  const uploadMaxMb = deps.settings.uploadMaxMb;

  async function renderList(c: C, view: { values?: FormValues; messages?: FormMessages; notice?: string } = {}, status = 200) {
    const ctx = c.get("ctx");
    const list = await listSystems({ ctx });
    const names = await fileNames(ctx, systemFileIds(list));
    const form = registerForm(choosesUnit(ctx));
    const values = view.values ?? readValues(form, {});
    const dynamic: DynamicOptions = {
      ...(choosesUnit(ctx) ? { unitId: (await listUnits(ctx.db)).map((u) => ({ value: u.id, label: u.name })) } : {}),
      ...(await fileOptions(ctx, form, values)),
    };
    return c.html(
      <Page title="系统登记" ctx={ctx} csrf={c.get("session").csrf} current="/systems">
        <OversightStyle />
        <link rel="stylesheet" href={assetHref("forms.css")} />
        <h1>系统登记</h1>
        <p class="ys-panel">
          已纳入梅州节点云平台资源需求的非涉密政务信息系统（004 第二条）。申请云资源时，系统名称须与此处登记的名称完全一致（第十二条(二)1）；系统的等级保护（第三十八条）与商用密码应用安全性评估（第四十条）记录也保存在这里。
        </p>
        <Notice message={{ notice: view.notice, refused: mayRegister(ctx) ? undefined : view.messages?.[FORM_KEY] }} />
        {list.length === 0 ? (
          <p class="ys-panel ys-muted">暂无登记的系统。</p>
        ) : (
          <Table head={["系统名称", "单位", "类型", "立项依据", "等保", "密评"]}>
            {list.map((s) => (
              <tr id={`system-${s.id}`}>
                <td>
                  <a href={`/systems/${s.id}`}>{s.name}</a>
                </td>
                <td>{s.unitName ?? s.unitId}</td>
                <td>{s.kindText}</td>
                <td>
                  {s.approvalRef}
                  <FileLink id={s.approvalFileId} names={names} label="立项方案" />
                </td>
                <td>
                  <Mlps s={s} names={names} />
                </td>
                <td>
                  <Crypto s={s} names={names} />
                </td>
              </tr>
            ))}
          </Table>
        )}
        {mayRegister(ctx) ? (
          <SystemForm c={c} form={form} action="/systems" values={values} messages={view.messages ?? {}} dynamic={dynamic} uploadMaxMb={uploadMaxMb} button="登记" />
        ) : null}
      </Page>,
      status as 200,
    );
  }

  /** The file a form's block keeps unless another is chosen: shown in the section's note. */
  const keptNote = (id: string | null | undefined, names: Map<string, { name: string }>) =>
    id ? `已保存的文件「${names.get(id)?.name ?? id}」：不选择新文件则保留；选择新文件则替换。附件不超过 {UPLOAD_MAX_MB} MB。` : "附件不超过 {UPLOAD_MAX_MB} MB。";

  type Edit = { form: "mlps" | "crypto"; values: FormValues; messages: FormMessages };

  async function renderOne(c: C, s: SystemView, view: { edit?: Edit; notice?: string } = {}, status = 200) {
    const ctx = c.get("ctx");
    const names = await fileNames(ctx, systemFileIds([s]));
    const keeper = mayKeepSystem(ctx.actor!, s.unitId);
    const declarer = await getUser(ctx.db, s.nonClassified.by);
    const mlps = mlpsForm(keptNote(s.mlps?.fileId, names));
    const crypto = cryptoForm(keptNote(s.crypto?.fileId, names));
    // The forms start from the record as it is, without its file (kept unless another is chosen).
    const current = {
      mlps: valuesFromInput(mlps, { mlps: s.mlps ? { ...s.mlps, fileId: undefined } : {} }),
      crypto: valuesFromInput(crypto, { crypto: s.crypto ? { ...s.crypto, fileId: undefined } : {} }),
    };
    const values = { ...current, ...(view.edit ? { [view.edit.form]: view.edit.values } : {}) };
    const messages = (key: Edit["form"]) => (view.edit?.form === key ? view.edit.messages : {});
    return c.html(
      <Page title={s.name} ctx={ctx} csrf={c.get("session").csrf} current="/systems">
        <OversightStyle />
        <link rel="stylesheet" href={assetHref("forms.css")} />
        <h1>{s.name}</h1>
        <p class="ys-panel">
          <a href="/systems">返回系统登记</a>
        </p>
        <Notice message={{ notice: view.notice, refused: keeper ? undefined : view.edit?.messages[FORM_KEY] }} />
        <dl class="ys-kv">
          <dt>单位</dt>
          <dd>{s.unitName ?? s.unitId}</dd>
          <dt>类型</dt>
          <dd>{s.kindText}</dd>
          <dt>立项依据</dt>
          <dd>
            {s.approvalRef}
            <FileLink id={s.approvalFileId} names={names} label="立项方案" />
          </dd>
          <dt>非涉密声明</dt>
          <dd>
            {declarer?.name ?? s.nonClassified.by} 于 {when(s.nonClassified.at)} 声明本系统为非涉密政务信息系统（004 第二条）
          </dd>
          <dt>等保</dt>
          <dd>
            <Mlps s={s} names={names} />
          </dd>
          <dt>密评</dt>
          <dd>
            <Crypto s={s} names={names} />
          </dd>
        </dl>
        {keeper ? (
          <>
            <SystemForm c={c} form={mlps} action={`/systems/${s.id}/mlps`} values={values.mlps} messages={messages("mlps")} dynamic={await fileOptions(ctx, mlps, values.mlps)} uploadMaxMb={uploadMaxMb} button="保存等保记录" />
            <SystemForm c={c} form={crypto} action={`/systems/${s.id}/crypto`} values={values.crypto} messages={messages("crypto")} dynamic={await fileOptions(ctx, crypto, values.crypto)} uploadMaxMb={uploadMaxMb} button="保存密评记录" />
          </>
        ) : null}
      </Page>,
      status as 200,
    );
  }

  const systemOf = async (c: C) => {
    const raw = c.req.param("id") ?? "";
    if (!/^\d{1,12}$/.test(raw)) throw notFound("没有这个系统");
    return getSystem({ ctx: c.get("ctx"), input: { id: Number(raw) } });
  };

  app.get("/", (c) => renderList(c, { notice: DONE[c.req.query("done") ?? ""] }));

  app.post("/", async (c) => {
    const ctx = c.get("ctx");
    const form = registerForm(choosesUnit(ctx));
    const body = (await c.req.parseBody({ all: true })) as FormBody;
    const refusedFiles = await storeUploads(ctx, form, body, uploadMaxMb * MB);
    const values = readValues(form, body);
    if (Object.keys(refusedFiles).length > 0) return renderList(c, { values, messages: refusedFiles }, 400);
    const checked = checkForm(form, values);
    const messages: FormMessages = checked.ok ? {} : { ...checked.messages };
    // The manager registers for the unit it chooses; left empty, the verb would take the manager's own.
    if (choosesUnit(ctx) && !values.fields.unitId) messages.unitId ??= "请选择使用单位";
    if (!checked.ok || Object.keys(messages).length > 0) return renderList(c, { values, messages }, 400);
    try {
      const done = await registerSystem({ ctx, input: checked.data });
      return c.redirect(`/systems?done=register#system-${done.id}`, 303);
    } catch (err) {
      if (err instanceof ServiceError && err.status !== 503) return renderList(c, { values, messages: refusalMessages(form, err) }, err.status);
      throw err;
    }
  });

  app.get("/:id", async (c) => renderOne(c, await systemOf(c), { notice: DONE[c.req.query("done") ?? ""] }));

  for (const key of ["mlps", "crypto"] as const)
    app.post(`/:id/${key}`, async (c) => {
      const ctx = c.get("ctx");
      const s = await systemOf(c);
      const kept = key === "mlps" ? s.mlps?.fileId : s.crypto?.fileId;
      const form = key === "mlps" ? mlpsForm() : cryptoForm();
      const body = (await c.req.parseBody({ all: true })) as FormBody;
      const refusedFiles = await storeUploads(ctx, form, body, uploadMaxMb * MB);
      const values = readValues(form, body);
      if (Object.keys(refusedFiles).length > 0) return renderOne(c, s, { edit: { form: key, values, messages: refusedFiles } }, 400);
      // Each block is recorded whole: the document already kept stays unless another is chosen.
      const fileField = `${key}.fileId`;
      const withKept = values.fields[fileField] === "" && kept ? { ...values, fields: { ...values.fields, [fileField]: kept } } : values;
      const checked = checkForm(form, withKept);
      if (!checked.ok) return renderOne(c, s, { edit: { form: key, values, messages: checked.messages } }, 400);
      try {
        await updateSystem({ ctx, input: { ...(checked.data as object), id: s.id } });
        return c.redirect(`/systems/${s.id}?done=${key}`, 303);
      } catch (err) {
        if (err instanceof ServiceError && err.status !== 503) return renderOne(c, s, { edit: { form: key, values, messages: refusalMessages(form, err) } }, err.status);
        throw err;
      }
    });
  return app;
}
