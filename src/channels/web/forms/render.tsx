import { blankRow, rowGroups } from "./parse";
import { FORM_KEY, type FormMessages } from "./messages";
import type { Field, FieldOption, Rows, Section, WebForm } from "./types";
import type { FormValues } from "./parse";

// A form's fields as server-rendered HTML: every field labelled, filled with what was typed, its message right
// under it. Works without JavaScript: rows are added and removed by submit buttons (name="_row").

/** Options that come from the ledger or the directory, by field name ("resource", "holder"). */
export type DynamicOptions = Record<string, readonly FieldOption[]>;

const idOf = (name: string) => `f-${name.replace(/[^A-Za-z0-9]+/g, "-")}`;

function Control({ field, name, value, invalid, options }: { field: Field; name: string; value: string | string[]; invalid: boolean; options: readonly FieldOption[] }) {
  const id = idOf(name);
  const single = Array.isArray(value) ? (value.at(-1) ?? "") : value;
  const aria = invalid ? { "aria-invalid": "true", "aria-describedby": `${id}-error` } : {};
  switch (field.kind) {
    case "textarea":
    case "lines":
      return <textarea id={id} name={name} class="ys-input" rows={field.kind === "lines" ? 3 : 4} placeholder={field.placeholder} {...aria}>{single}</textarea>;
    case "select":
      return (
        <select id={id} name={name} class="ys-input" {...aria}>
          <option value="">{field.emptyOption ?? "请选择"}</option>
          {options.map((o) => (
            <option value={o.value} selected={o.value === single}>
              {o.label}
            </option>
          ))}
        </select>
      );
    case "file": {
      // A file already stored is kept by its id (a browser cannot fill a file input back in); its name is shown.
      if (single !== "")
        return (
          <span id={id} class="ys-file" {...aria}>
            <input type="hidden" name={name} value={single} />
            {options.find((o) => o.value === single)?.label ?? "已上传的文件"}
          </span>
        );
      return <input id={id} type="file" name={name} class="ys-input" accept=".pdf,.doc,.docx,.xls,.xlsx,.jpg,.jpeg,.png,.zip" {...aria} />;
    }
    case "checkbox":
      return <input id={id} type="checkbox" name={name} value="on" checked={single !== ""} {...aria} />;
    case "checklist": {
      const chosen = new Set(Array.isArray(value) ? value : [value]);
      return (
        <div id={id} class="ys-checklist" {...aria}>
          {options.length === 0 ? <p class="ys-muted">没有可选的项目</p> : null}
          {options.map((o) => (
            <label class="ys-check">
              <input type="checkbox" name={name} value={o.value} checked={chosen.has(o.value)} /> {o.label}
            </label>
          ))}
        </div>
      );
    }
    default: {
      const type = field.kind === "tel" ? "tel" : field.kind === "email" ? "email" : field.kind === "date" ? "date" : "text";
      const mode = field.kind === "int" ? "numeric" : field.kind === "decimal" ? "decimal" : undefined;
      return <input id={id} type={type} name={name} value={single} class="ys-input" placeholder={field.placeholder} inputmode={mode} {...aria} />;
    }
  }
}

function FieldRow({ field, name, value, message, options }: { field: Field; name: string; value: string | string[]; message?: string; options: readonly FieldOption[] }) {
  const id = idOf(name);
  return (
    <div class={`ys-field${message ? " ys-field-invalid" : ""}`} data-field={field.name}>
      <label for={id} class="ys-label">
        {field.label}
        {field.optional ? <span class="ys-muted">（选填）</span> : null}
      </label>
      <Control field={field} name={name} value={value} invalid={Boolean(message)} options={field.options ?? options} />
      {message ? (
        <div id={`${id}-error`} class="ys-field-error" role="alert">
          {message}
        </div>
      ) : null}
      {field.hint || field.link ? (
        <div class="ys-hint">
          {field.hint}
          {field.link ? (
            <>
              {" "}
              <a href={field.link.href}>{field.link.text}</a>
            </>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

function RowsBlock({ rows, values, messages, dynamic }: { rows: Rows; values: FormValues; messages: FormMessages; dynamic: DynamicOptions }) {
  const list = values.rows[rows.name] ?? [];
  const shown = list.length > 0 ? list : [blankRow(rows)];
  return (
    <div class="ys-rows" data-rows={rows.name} data-max={rows.max}>
      {messages[rows.name] ? (
        <div class="ys-field-error" role="alert">
          {messages[rows.name]}
        </div>
      ) : null}
      {shown.map((row, i) => (
        <fieldset class="ys-row" data-row={i}>
          <legend>
            {rows.label} {i + 1}
          </legend>
          {rows.fields.map((f) => {
            const name = `${rows.name}[${i}].${f.name}`;
            return <FieldRow field={f} name={name} value={row[f.name] ?? ""} message={messages[name]} options={dynamic[f.name] ?? []} />;
          })}
          <button type="submit" name="_row" value={`remove:${rows.name}:${i}`} class="weui-btn weui-btn_mini weui-btn_default ys-row-remove" formnovalidate>
            删除这一行
          </button>
        </fieldset>
      ))}
      {shown.length < rows.max ? (
        <button type="submit" name="_row" value={`add:${rows.name}`} class="weui-btn weui-btn_mini weui-btn_default ys-row-add" formnovalidate>
          添加一行
        </button>
      ) : null}
    </div>
  );
}

/** A section's note may name the upload limit as {UPLOAD_MAX_MB}: the service's setting, not a number in the data. */
function SectionBlock({ section, values, messages, dynamic, uploadMaxMb }: { section: Section; values: FormValues; messages: FormMessages; dynamic: DynamicOptions; uploadMaxMb: number }) {
  return (
    <section class="ys-form-section">
      <h2 class="ys-section-title">{section.title}</h2>
      {section.note || section.link ? (
        <p class="ys-hint ys-section-note">
          {section.note?.replace("{UPLOAD_MAX_MB}", String(uploadMaxMb))}
          {section.link ? (
            <>
              {" "}
              <a href={section.link.href}>{section.link.text}</a>
            </>
          ) : null}
        </p>
      ) : null}
      <div class="ys-panel">
        {section.rows ? <RowsBlock rows={section.rows} values={values} messages={messages} dynamic={dynamic} /> : null}
        {(section.fields ?? []).map((f) => (
          <FieldRow field={f} name={f.name} value={values.fields[f.name] ?? ""} message={messages[f.name]} options={dynamic[f.name] ?? []} />
        ))}
      </div>
    </section>
  );
}

/** The message of the whole form (a refusal not about one field), and how many fields need fixing. */
export function FormProblems({ messages }: { messages: FormMessages }) {
  const count = Object.keys(messages).filter((k) => k !== FORM_KEY).length;
  if (!messages[FORM_KEY] && count === 0) return null;
  return (
    <div class="ys-error" role="alert">
      {messages[FORM_KEY] ? <p>{messages[FORM_KEY]}</p> : null}
      {count > 0 ? <p>有 {count} 处需要修改，见各栏下方的红字。</p> : null}
    </div>
  );
}

/** Every section of the form. */
export function FormFields({ form, values, messages, dynamic = {}, uploadMaxMb }: { form: WebForm; values: FormValues; messages: FormMessages; dynamic?: DynamicOptions; uploadMaxMb: number }) {
  return (
    <>
      {form.sections.map((s) => (
        <SectionBlock section={s} values={values} messages={messages} dynamic={dynamic} uploadMaxMb={uploadMaxMb} />
      ))}
    </>
  );
}

/** The values as hidden fields: the preview step carries the form on to 提交 (or back to 修改) unchanged. */
export function HiddenValues({ form, values }: { form: WebForm; values: FormValues }) {
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(values.fields)) for (const v of Array.isArray(value) ? value : [value]) if (v !== "") pairs.push([name, v]);
  for (const group of rowGroups(form))
    (values.rows[group.name] ?? []).forEach((row, i) => {
      for (const [name, v] of Object.entries(row)) if (v !== "") pairs.push([`${group.name}[${i}].${name}`, v]);
    });
  return (
    <>
      {pairs.map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
    </>
  );
}
