import { Hono, type Context } from "hono";
import { endOfShanghaiDay, shanghaiDate } from "../../../core/calendar";
import { ServiceError, type FieldErrors } from "../../../core/errors";
import {
  confirmRectification,
  INSPECTION_KINDS,
  INSPECTION_RESULTS,
  INSPECTION_SCOPES,
  listInspections,
  mayRecordInspections,
  mayReportRectification,
  recordInspection,
  reportRectification,
  returnRectification,
  type InspectionView,
} from "../../../security/inspections";
import { field } from "../guard";
import { Csrf, Page } from "../layout";
import type { WebDeps, WebEnv } from "../session";
import { deadlineWords, when } from "../words";
import { onlyFor, OversightStyle, Table } from "./oversight";

// 安全督查与检查 (004 第三十九条: 云资源评估实施单位需接受云资源统筹管理单位的安全督查和检查): the page of
// src/security/inspections.ts. The manager records an inspection and confirms or returns a reported
// rectification; the provider reports 整改完成; the reviewer (监理) reads. Every decision is the service's: the
// page only turns forms into its inputs and shows its answers, a refusal beside the field it names.

/** Who opens the page: who may see inspections (the service's assertViewer). */
export const INSPECTION_ROLES = ["manager", "reviewer", "provider"] as const;

const DONE: Record<string, string> = {
  record: "检查已记录，已通知评估实施单位。",
  report: "已报告整改完成，等待统筹管理单位确认。",
  confirm: "已确认整改，该检查关闭。",
  return: "已退回（整改不到位），评估实施单位需继续整改并重新报告。",
};

/** A form's fields as posted (parseBody with all: a repeated name is a list). */
type Body = Record<string, string | File | (string | File)[]>;
/** The values a refused form is shown again with. */
type Values = Record<string, string | string[]>;

/** Which form a refusal belongs to: the record form, or one row's report / return form. */
interface Failure {
  form: string;
  message: string;
  fields: FieldErrors;
  values: Values;
}

const RECORD_FIELDS = ["inspectedOn", "kind", "scope", "inspectors", "result", "findings", "deadlineWorkdays", "deadline"] as const;

/** The form field a service error's key names: `findings[1].text` is the findings box, its 2nd line. */
function fieldOfKey(key: string): { name: string; prefix: string } {
  const name = key.split(/[.[]/)[0]!;
  const line = /^findings\[(\d+)\]/.exec(key);
  return { name, prefix: line ? `第 ${Number(line[1]) + 1} 项：` : "" };
}

/** A service error's fields grouped by the form's fields; what names none of them is listed with the message. */
function byField(fields: FieldErrors | undefined, names: readonly string[]): { at: Record<string, string[]>; rest: string[] } {
  const at: Record<string, string[]> = {};
  const rest: string[] = [];
  for (const [key, messages] of Object.entries(fields ?? {})) {
    const { name, prefix } = fieldOfKey(key);
    if (names.includes(name)) (at[name] ??= []).push(...messages.map((m) => prefix + m));
    else rest.push(...messages);
  }
  return { at, rest };
}

function FieldError({ messages, id }: { messages?: string[]; id: string }) {
  return messages && messages.length > 0 ? (
    <div id={id} class="ys-field-error" role="alert">
      {messages.join("；")}
    </div>
  ) : null;
}

const text = (v: Values[string] | undefined) => (Array.isArray(v) ? (v[0] ?? "") : (v ?? ""));
const list = (v: Values[string] | undefined) => (Array.isArray(v) ? v : v ? [v] : []);

/** The manager's form: one inspection, its findings one per line, the deadline in working days or as a date. */
function RecordForm({ csrf, failure, today }: { csrf: string; failure: Failure | null; today: string }) {
  const mine = failure?.form === "record" ? failure : null;
  const v = mine?.values ?? {};
  const { at, rest } = byField(mine?.fields, RECORD_FIELDS);
  const err = (name: string) => ({ "aria-invalid": at[name] ? "true" : undefined, "aria-describedby": at[name] ? `err-${name}` : undefined });
  const scope = list(v.scope);
  const kind = text(v.kind) || "check";
  const result = text(v.result) || "passed";
  return (
    <form method="post" action="/inspections" class="ys-panel ys-record" id="record">
      <Csrf csrf={csrf} />
      <h2 class="ys-section-title">记录安全督查或检查</h2>
      {mine ? (
        <div class="ys-error" role="alert">
          <p>{mine.message}</p>
          {rest.length > 0 ? (
            <ul>
              {rest.map((m) => (
                <li>{m}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      <div class={`ys-field${at.inspectedOn ? " ys-field-invalid" : ""}`}>
        <label for="inspectedOn">检查日期</label>
        <input type="date" id="inspectedOn" name="inspectedOn" value={text(v.inspectedOn) || today} max={today} required {...err("inspectedOn")} />
        <FieldError id="err-inspectedOn" messages={at.inspectedOn} />
      </div>
      <fieldset class={`ys-field${at.kind ? " ys-field-invalid" : ""}`}>
        <legend>类别</legend>
        {Object.entries(INSPECTION_KINDS).map(([key, words]) => (
          <label class="ys-choice">
            <input type="radio" name="kind" value={key} checked={kind === key} /> {words}
          </label>
        ))}
        <FieldError id="err-kind" messages={at.kind} />
      </fieldset>
      <fieldset class={`ys-field${at.scope ? " ys-field-invalid" : ""}`}>
        <legend>检查内容（可多选）</legend>
        {INSPECTION_SCOPES.map((s) => (
          <label class="ys-choice">
            <input type="checkbox" name="scope" value={s} checked={scope.includes(s)} /> {s}
          </label>
        ))}
        <FieldError id="err-scope" messages={at.scope} />
      </fieldset>
      <div class={`ys-field${at.inspectors ? " ys-field-invalid" : ""}`}>
        <label for="inspectors">检查人员</label>
        <input type="text" id="inspectors" name="inspectors" value={text(v.inspectors)} maxlength={200} placeholder="如：张伟、陈静" {...err("inspectors")} />
        <FieldError id="err-inspectors" messages={at.inspectors} />
      </div>
      <fieldset class={`ys-field${at.result ? " ys-field-invalid" : ""}`}>
        <legend>检查结论</legend>
        {Object.entries(INSPECTION_RESULTS).map(([key, words]) => (
          <label class="ys-choice">
            <input type="radio" name="result" value={key} checked={result === key} /> {words}
          </label>
        ))}
        <FieldError id="err-result" messages={at.result} />
      </fieldset>
      <div class={`ys-field${at.findings ? " ys-field-invalid" : ""}`}>
        <label for="findings">问题清单（每行一项；限期整改时必填）</label>
        <textarea id="findings" name="findings" rows={4} {...err("findings")}>
          {text(v.findings)}
        </textarea>
        <FieldError id="err-findings" messages={at.findings} />
      </div>
      <div class="ys-field">
        <p class="ys-muted">整改期限（限期整改时填写，二选一）：自今天起的工作日数，或截止日期。</p>
        <div class={`ys-field${at.deadlineWorkdays ? " ys-field-invalid" : ""}`}>
          <label for="deadlineWorkdays">整改期限（工作日）</label>
          <input type="number" id="deadlineWorkdays" name="deadlineWorkdays" min={1} max={250} step={1} value={text(v.deadlineWorkdays)} {...err("deadlineWorkdays")} />
          <FieldError id="err-deadlineWorkdays" messages={at.deadlineWorkdays} />
        </div>
        <div class={`ys-field${at.deadline ? " ys-field-invalid" : ""}`}>
          <label for="deadline">或截止日期</label>
          <input type="date" id="deadline" name="deadline" value={text(v.deadline)} {...err("deadline")} />
          <FieldError id="err-deadline" messages={at.deadline} />
        </div>
      </div>
      <button type="submit" class="weui-btn weui-btn_mini weui-btn_primary">
        记录检查
      </button>
    </form>
  );
}

/** One row's form with one text box (整改情况说明, 退回原因) and its refusal beside it. */
function NoteForm(props: { action: string; form: string; name: string; label: string; button: string; csrf: string; failure: Failure | null; warn?: boolean }) {
  const mine = props.failure?.form === props.form ? props.failure : null;
  const { at, rest } = byField(mine?.fields, [props.name]);
  const messages = mine ? [...(at[props.name] ?? []), ...(at[props.name] || rest.length > 0 ? rest : [mine.message])] : undefined;
  const id = `${props.form}-${props.name}`;
  return (
    <form method="post" action={props.action} class={mine ? "ys-field-invalid" : undefined}>
      <Csrf csrf={props.csrf} />
      <label for={id}>{props.label}</label>
      <textarea id={id} name={props.name} rows={2} maxlength={2000} aria-invalid={mine ? "true" : undefined} aria-describedby={mine ? `${id}-error` : undefined}>
        {text(mine?.values[props.name])}
      </textarea>
      <FieldError id={`${id}-error`} messages={messages} />
      <button type="submit" class={`weui-btn weui-btn_mini ${props.warn ? "weui-btn_warn" : "weui-btn_primary"}`}>
        {props.button}
      </button>
    </form>
  );
}

/** The rectification deadline as it stands: 剩余 / 当天到期 / 已超期 N 个工作日 while the provider owes it. */
function DeadlineCell({ i, c }: { i: InspectionView; c: Context<WebEnv> }) {
  if (!i.deadline) return <span class="ys-muted">—</span>;
  if (i.status !== "rectifying") return <span>{i.deadline}</span>;
  const ctx = c.get("ctx");
  const words = deadlineWords(ctx.calendar, endOfShanghaiDay(i.deadline), ctx.clock.now());
  return <span class={i.overdue || words?.tone === "late" ? "ys-late" : words?.tone === "today" ? "ys-today" : undefined}>{words?.text ?? i.deadline}</span>;
}

/** /inspections: the list (newest first), the manager's record form, each row's actions; POSTs come back here. */
export function inspectionPages(deps: WebDeps) {
  const app = new Hono<WebEnv>();
  app.use("*", onlyFor(INSPECTION_ROLES));

  async function render(c: Context<WebEnv>, outcome: { notice?: string; error?: string; failure?: Failure } = {}, status = 200) {
    const ctx = c.get("ctx");
    const csrf = c.get("session").csrf;
    const actor = ctx.actor!;
    const items = await listInspections({ ctx });
    const manager = mayRecordInspections(actor);
    const provider = mayReportRectification(actor);
    const today = shanghaiDate(ctx.clock.now());
    // The forms on the page: a refusal of one that is not (its row moved on meanwhile) is said above the list.
    const forms = new Set([
      ...(manager ? ["record"] : []),
      ...items.flatMap((i) => [
        ...(provider && i.status === "rectifying" ? [`report-${i.id}`] : []),
        ...(manager && i.status === "reported" ? [`confirm-${i.id}`, `return-${i.id}`] : []),
      ]),
    ]);
    const failure = outcome.failure && forms.has(outcome.failure.form) ? outcome.failure : null;
    const error = outcome.error ?? (outcome.failure && !failure ? outcome.failure.message : undefined);
    const open = items.filter((i) => i.open).length;
    return c.html(
      <Page title="安全督查与检查" ctx={ctx} csrf={csrf} current="/inspections">
        <OversightStyle />
        <h1>安全督查与检查</h1>
        <p class="ys-panel ys-muted">
          云资源评估实施单位需接受云资源统筹管理单位的安全督查和检查（004 第三十九条）。
          {manager ? "统筹管理单位记录检查结论；限期整改的，评估实施单位报告整改完成后，由统筹管理单位确认或退回。" : null}
          {provider ? "限期整改的，请在整改期限内完成整改并报告整改完成。" : null}
          {!manager && !provider ? "复核单位可查看全部记录。" : null}
          {open > 0 ? ` 尚未关闭 ${open} 项。` : null}
        </p>
        {outcome.notice ? (
          <p class="ys-notice" role="status">
            {outcome.notice}
          </p>
        ) : null}
        {error ? (
          <p class="ys-error" role="alert">
            {error}
          </p>
        ) : null}
        {failure?.form === "record" ? (
          <p class="ys-error">
            检查未记录：<a href="#record">请按表单中标出的内容修改</a>
          </p>
        ) : null}
        {items.length === 0 ? (
          <p class="ys-panel ys-muted">暂无安全督查与检查记录。</p>
        ) : (
          <Table head={["检查日期", "类别", "检查内容", "检查人员", "结论", "问题", "整改期限", "状态", "整改情况", "操作"]}>
            {items.map((i) => (
              <tr id={`inspection-${i.id}`} class={i.overdue ? "ys-row-late" : i.open ? undefined : "ys-row-muted"}>
                <td>{i.inspectedOn}</td>
                <td>{i.kindText}</td>
                <td>{i.scope.join("、")}</td>
                <td>{i.inspectors}</td>
                <td>{i.resultText}</td>
                <td>
                  {i.findings.length === 0 ? (
                    "—"
                  ) : (
                    <ol class="ys-findings">
                      {i.findings.map((f) => (
                        <li>{f.text}</li>
                      ))}
                    </ol>
                  )}
                </td>
                <td>
                  <DeadlineCell i={i} c={c} />
                </td>
                <td class={i.overdue ? "ys-late" : undefined}>
                  {i.statusText}
                  {i.overdue ? "（已超期）" : null}
                </td>
                <td>
                  {i.rectificationNote ? (
                    <p>
                      整改完成报告：{i.rectificationNote}
                      {i.reportedAt ? <span class="ys-muted">（{when(i.reportedAt)}）</span> : null}
                    </p>
                  ) : null}
                  {i.returnReason ? <p class="ys-late">退回原因：{i.returnReason}</p> : null}
                  {!i.rectificationNote && !i.returnReason ? "—" : null}
                </td>
                <td class="ys-actions">
                  {provider && i.status === "rectifying" ? (
                    <NoteForm action={`/inspections/${i.id}/report`} form={`report-${i.id}`} name="note" label="整改情况说明" button="整改完成" csrf={csrf} failure={failure} />
                  ) : null}
                  {manager && i.status === "reported" ? (
                    <>
                      <form method="post" action={`/inspections/${i.id}/confirm`}>
                        <Csrf csrf={csrf} />
                        <button type="submit" class="weui-btn weui-btn_mini weui-btn_primary">
                          确认
                        </button>
                      </form>
                      {failure?.form === `confirm-${i.id}` ? <FieldError id={`confirm-${i.id}-error`} messages={[failure.message]} /> : null}
                      <NoteForm action={`/inspections/${i.id}/return`} form={`return-${i.id}`} name="reason" label="退回原因" button="整改不到位" csrf={csrf} failure={failure} warn />
                    </>
                  ) : null}
                </td>
              </tr>
            ))}
          </Table>
        )}
        {manager ? <RecordForm csrf={csrf} failure={failure} today={today} /> : null}
      </Page>,
      status as 200,
    );
  }

  app.get("/", (c) => render(c, { notice: DONE[c.req.query("done") ?? ""] }));

  /** Runs a verb; its refusal is the page again, the message beside the form it came from (nothing was written but its audit entry). */
  async function run(c: Context<WebEnv>, form: string, values: Values, verb: () => Promise<{ id: number }>, done: string) {
    let id: number;
    try {
      id = (await verb()).id;
    } catch (err) {
      if (!(err instanceof ServiceError) || err.status === 503) throw err;
      // A refusal of who may act (403), of a record that is not there (404) or of one that has moved on (409) is
      // said above the list; a refusal of what was typed beside the form, with what was typed kept.
      if (err.status === 403 || err.status === 404 || (err.status === 409 && form !== "record")) return render(c, { error: err.message }, err.status);
      return render(c, { failure: { form, message: err.message, fields: err.fields ?? {}, values } }, err.status);
    }
    deps.onQueued?.();
    return c.redirect(`/inspections?done=${done}#inspection-${id}`, 303);
  }

  const bodyOf = async (c: Context<WebEnv>) => (await c.req.parseBody({ all: true })) as Body;
  const strings = (v: Body[string] | undefined): string[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === "string");

  // The record form: a form's text turned into the service's input, nothing decided here.
  app.post("/", async (c) => {
    const body = await bodyOf(c);
    const values: Values = Object.fromEntries(RECORD_FIELDS.map((k) => [k, k === "scope" ? strings(body[k]) : (strings(body[k])[0] ?? "")]));
    const workdays = field(body, "deadlineWorkdays");
    const input = {
      inspectedOn: field(body, "inspectedOn") ?? "",
      kind: field(body, "kind"),
      scope: strings(body.scope),
      inspectors: field(body, "inspectors") ?? "",
      result: field(body, "result"),
      findings: (field(body, "findings") ?? "")
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean)
        .map((l) => ({ text: l })),
      // A whole number goes as one; anything else as typed, for the service to name what is wrong with it.
      deadlineWorkdays: workdays === undefined ? undefined : /^\d{1,6}$/.test(workdays) ? Number(workdays) : workdays,
      deadline: field(body, "deadline"),
    };
    return run(c, "record", values, () => recordInspection({ ctx: c.get("ctx"), input }), "record");
  });

  const idOf = (c: Context<WebEnv>) => (/^\d{1,15}$/.test(c.req.param("id") ?? "") ? Number(c.req.param("id")) : c.req.param("id"));

  app.post("/:id/report", async (c) => {
    const body = await bodyOf(c);
    const note = field(body, "note");
    return run(c, `report-${c.req.param("id")}`, { note: note ?? "" }, () => reportRectification({ ctx: c.get("ctx"), input: { id: idOf(c), note: note ?? "" } }), "report");
  });
  app.post("/:id/confirm", async (c) =>
    run(c, `confirm-${c.req.param("id")}`, {}, () => confirmRectification({ ctx: c.get("ctx"), input: { id: idOf(c) } }), "confirm"),
  );
  app.post("/:id/return", async (c) => {
    const body = await bodyOf(c);
    const reason = field(body, "reason");
    return run(c, `return-${c.req.param("id")}`, { reason: reason ?? "" }, () => returnRectification({ ctx: c.get("ctx"), input: { id: idOf(c), reason: reason ?? "" } }), "return");
  });
  return app;
}
