import { Hono, type Context } from "hono";
import type { z } from "zod";
import {
  ATTACHMENT_PURPOSES,
  MAINTAINER_NATURES,
  NETWORK_ZONES,
  PUBLIC_STORAGE_TYPES,
  ROW_REQUEST_TYPES,
  UNIT_NATURES,
} from "../../../../flows/application/form";
import { REQUEST_EVENTS } from "../../../chat/answer";
import { shanghaiDate, type WorkCalendar } from "../../../core/calendar";
import type { Actor, ServiceContext } from "../../../core/context";
import type { Role } from "../../../core/roles";
import { invalid, notFound, ServiceError } from "../../../core/errors";
import { getUsers, listUnits, usersWithRole } from "../../../directory/queries";
import { MB } from "../../../files";
import { actionInputSchema, actOnRequest, FLOWS, getRequest, RATING_NAMES, requestIdByCode, STAGE_DECISIONS, stageDef } from "../../../engine";
import { BACKUP_COPIES, BACKUP_TYPES, BANDWIDTH_ZONES, SECURITY_SERVICES, type RequestedResources } from "../../../resources/catalog";
import { field } from "../guard";
import { ActionForm, DONE, Outcome, REQUEST_CODE } from "../actions";
import type { StageForm } from "../../../../flows/types";
import { issueMessages, serviceFieldMessages, type FormMessages } from "../forms/messages";
import { readValues, toInput, type FormBody, type FormValues } from "../forms/parse";
import { FormFields as StageFormFields } from "../forms/render";
import { chosenFile, storeChosenFile } from "../forms/uploads";
import type { Field, WebForm } from "../forms/types";
import { Page } from "../layout";
import { renderHome } from "./home";
import type { WebDeps, WebEnv } from "../session";
import { Deadline, STAGE_STATUS_WORDS, TASK_STATUS_WORDS, when } from "../words";

type RequestView = Awaited<ReturnType<typeof getRequest>>;
type Stage = RequestView["stages"][number];

/** The actions a person may send from the page; 重新提交 is the form's own page. */
const PAGE_ACTIONS = new Set(["approve", "confirm", "reject", "return", "fail", "transfer", "comment", "withdraw", "nudge", "rate"]);

/** What each action's text field is called on the page, for the messages about it. */
const FIELD_LABELS: Record<string, string> = {
  note: "意见",
  reason: "理由",
  text: "评论内容",
  comment: "评价说明",
  toUserId: "转交对象",
  toStage: "退回到",
  score: "评价",
  stageRunId: "环节",
};

/** The text an action cannot go without, asked in plain words before the engine sees it. */
const REQUIRED: Record<string, [string, string]> = {
  reject: ["reason", "请填写驳回理由"],
  return: ["reason", "请填写退回理由"],
  fail: ["reason", "请填写未通过的原因"],
  transfer: ["toUserId", "请选择转交对象"],
  comment: ["text", "请填写评论内容"],
  rate: ["score", "请选择评价"],
};


/** A stage's form (StageDef.form: 梅州's 附件6) as the portal's forms render and read it. */
function stageWebForm(def: StageForm): WebForm {
  return { key: "stage", flow: null, title: def.name, source: def.name, description: "", sections: [{ title: def.name, fields: def.fields as readonly Field[] }], schema: def.schema };
}

/** What the page shows back after a refused stage form: what was typed, and each field's message. */
interface StageFormState {
  values: FormValues;
  messages: FormMessages;
}

/** A field's value as people read it: a select's option by its label. */
function shownValue(field: { options?: readonly { value: string; label: string }[] } | undefined, value: unknown): string {
  const text = typeof value === "string" || typeof value === "number" ? String(value) : "";
  return field?.options?.find((o) => o.value === text)?.label ?? text;
}

function valueAt(source: unknown, path: string): unknown {
  let at = source;
  for (const part of path.split(".")) at = at !== null && typeof at === "object" ? (at as Record<string, unknown>)[part] : undefined;
  return at;
}

/** A stage form's file as the approval kept it (heldStageFiles): a link to it by its name. */
function StageFile({ value }: { value: unknown }) {
  const file = value as { fileId?: unknown; name?: unknown } | undefined;
  if (typeof file?.fileId !== "string") return null;
  return <a href={`/files/${encodeURIComponent(file.fileId)}`}>{typeof file.name === "string" ? file.name : "查看文件"}</a>;
}

/** A decided stage's form (附件6) under the stage: each field by its label, in the form's order. */
function StageFormView({ r, s }: { r: RequestView; s: Stage }) {
  if (!s.form) return null;
  const def = stageDef(r.flow, r.profile, s.stage).form;
  const labelled: [string, unknown][] = def
    ? [
        ...(def.fromRequest?.fields ?? []).map((f): [string, unknown] => [f.label, shownValue(undefined, valueAt(s.form!.values, f.name))]),
        ...def.fields.map((f): [string, unknown] => [f.label, f.kind === "file" ? <StageFile value={valueAt(s.form!.values, f.name)} /> : shownValue(f, valueAt(s.form!.values, f.name))]),
      ]
    : Object.entries(s.form.values).map(([k, v]): [string, string] => [k, typeof v === "string" ? v : JSON.stringify(v)]);
  return (
    <div class="ys-stage-form">
      <div class="ys-muted">{s.form.name ?? "环节表单"}</div>
      <dl class="ys-kv">
        {labelled.filter(([, v]) => v !== "" && v !== null).map(([label, value]) => (
          <Field label={label}>{value}</Field>
        ))}
      </dl>
    </div>
  );
}

/**
 * A stage form's chosen files, stored as their field's purpose: each one's id takes its place in the body (a file
 * stored by an earlier, refused post comes back as its id), a refused one is named on its field.
 */
async function storeStageFiles(ctx: ServiceContext, def: StageForm, body: FormBody, maxBytes: number): Promise<FormMessages> {
  const messages: FormMessages = {};
  for (const f of def.fields) {
    const chosen = f.kind === "file" && f.purpose ? chosenFile(body[f.name]) : undefined;
    const refused = chosen ? await storeChosenFile(ctx, body, f.name, chosen, f.purpose!, maxBytes) : null;
    if (refused) messages[f.name] = refused;
  }
  return messages;
}

/** The engine's action input from the page's form, or a refusal naming the field in plain words. */
function actionFrom(body: Record<string, unknown>): z.output<typeof actionInputSchema> {
  const action = field(body, "action") ?? "";
  if (!PAGE_ACTIONS.has(action)) throw invalid("无法识别的操作，请回到申请页面重新操作");
  const required = REQUIRED[action];
  if (required && !field(body, required[0])) throw invalid(required[1], { [FIELD_LABELS[required[0]]!]: [required[1]] });
  const input: Record<string, unknown> = { action };
  const names = { approve: ["note"], confirm: ["note"], reject: ["reason"], return: ["reason", "toStage"], fail: ["reason"], transfer: ["toUserId", "reason"], comment: ["text"], withdraw: ["reason"], nudge: ["note"], rate: ["score", "comment"] }[action] ?? [];
  for (const name of names) {
    const value = field(body, name);
    if (value !== undefined && !(name === "toStage" && value === "applicant")) input[name] = value;
  }
  if (STAGE_DECISIONS.has(action)) {
    const run = Number(field(body, "stageRunId"));
    if (!Number.isSafeInteger(run) || run <= 0) throw invalid("页面已过期，请刷新后重试");
    input.stageRunId = run;
  }
  const parsed = actionInputSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const fields: Record<string, string[]> = {};
  for (const issue of parsed.error.issues) {
    const label = FIELD_LABELS[String(issue.path[0])] ?? "内容";
    (fields[label] ??= []).push(issue.code === "too_big" ? `${label}不能超过 ${String(issue.maximum)} 字` : `${label}填写有误`);
  }
  throw invalid(Object.values(fields).flat().join("；"), fields);
}

/**
 * The open stage the person reading may decide: they hold a pending task on it (a period has no holder). The
 * current stage, or one running alongside it (StageDef.alongside) whose holder they are.
 */
function holdsCurrent(r: RequestView, userId: string): Stage | null {
  const holds = (s: Stage | null) => Boolean(s && !s.elapses && s.tasks.some((t) => t.status === "pending" && t.userId === userId));
  if (holds(r.currentStage)) return r.currentStage;
  return r.stages.find((s) => s.status === "open" && holds(s)) ?? null;
}

function Field({ label, children }: { label: string; children: unknown }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

/** The form's key fields in the official words of 附件2 (004) / 附件1 (002); codes never reach the page. */
function FormFields({ r }: { r: RequestView }) {
  const form = r.form as Record<string, any>;
  const person = (p: any) => (p?.name ? `${p.name}${p.mobile ? ` ${p.mobile}` : ""}${p.company ? `（${p.company}）` : ""}` : null);
  // The flow's summary calls the system 系统 (short, for cards); the page uses the form's own word.
  const rows: [string, unknown][] = [
    ...(form.systemName ? [["系统名称", form.systemName] as [string, unknown]] : []),
    ...r.summary.filter((s) => s.value !== form.systemName).map((s): [string, unknown] => [s.label, s.value]),
    ["建设单位", r.unit.name],
    ["申请人", r.applicant?.name],
    ["提交时间", when(r.submittedAt)],
  ];
  const label = (labels: Record<string, string>, v: unknown) => (typeof v === "string" ? (labels[v] ?? v) : null);
  if (r.flow === "application") {
    // 002 附件1 (项目名称, 申请期限, 维护单位性质) and 001 附件1 (单位性质, 负责人): only on forms that have them.
    rows.push(
      ["项目名称", form.projectName],
      ["申请期限", form.term ? (form.term.kind === "long_term" ? "长期" : `至 ${form.term.until}`) : null],
      ["单位性质", label(UNIT_NATURES, form.unitNature)],
      ["负责人", person(form.leader)],
      ["联系人", person(form.contact)],
      ["运维人员", person(form.maintainer)],
      ["维护单位性质", label(MAINTAINER_NATURES, form.maintainer?.nature)],
      ["网络区域", `${NETWORK_ZONES[form.networkZone as keyof typeof NETWORK_ZONES] ?? "—"}${form.networkZoneNote ? `（${form.networkZoneNote}）` : ""}`],
    );
    if (form.plan) {
      rows.push(["方案类型", form.plan.kind === "migration" ? "迁移上云" : "新建上云"]);
      for (const [key, label] of [["currentState", "系统现状描述"], ["resourceNeeds", "云资源需求"], ["steps", "实施步骤及时间"], ["impact", "影响面评估"], ["rollback", "回退方案"], ["emergency", "应急保障措施"]] as const)
        if (form.plan[key]) rows.push([label, form.plan[key]]);
    }
    // 004 第十四条(二)2 and 第四十八条: what the manager weighs (the summary above names the pool and the category).
    if (form.dedicatedPool) rows.push(["专属资源池必要性说明", form.dedicatedPool.necessity], ["专属资源池可行性说明", form.dedicatedPool.feasibility]);
    if (form.emergency) rows.push(["紧急情况说明", form.emergency.reason]);
    if (form.publicStorage)
      rows.push([
        "公共存储",
        `${form.publicStorage.sizeTb} T，${label(PUBLIC_STORAGE_TYPES, form.publicStorage.type)}${form.publicStorage.typeNote ? `（${form.publicStorage.typeNote}）` : ""}`,
      ]);
    // 001 附件1 申请单位承诺: who ticked it and when (the submission's).
    if (form.declaration)
      rows.push(["申请单位承诺", form.declaration.agreed ? `已承诺${form.declaration.by ? `（${form.declaration.by}，${when(form.declaration.at)}）` : ""}` : "未承诺"]);
    rows.push(["备注", form.remarks]);
  }
  return (
    <dl class="ys-kv">
      {rows.filter(([, v]) => v !== null && v !== undefined && v !== "").map(([label, value]) => (
        <Field label={label}>{String(value)}</Field>
      ))}
    </dl>
  );
}

function VmRows({ r }: { r: RequestView }) {
  const vms = (r.form as { vms?: any[] }).vms ?? [];
  if (vms.length === 0 && !r.totals) return null;
  // 002 附件1 服务器类型, 备注; 001 附表 申请类型, 外网 IP: columns shown when any row has them.
  const has = (k: string) => vms.some((vm) => vm[k] !== undefined && vm[k] !== "");
  const extra = {
    serverType: has("serverType"),
    requestType: has("requestType"),
    publicIps: has("publicIps"),
    remarks: has("remarks"),
  };
  const requestType = (vm: any) =>
    `${ROW_REQUEST_TYPES[vm.requestType as keyof typeof ROW_REQUEST_TYPES] ?? ROW_REQUEST_TYPES.apply}${vm.requestTypeNote ? `（${vm.requestTypeNote}）` : ""}`;
  return (
    <>
      <h2 class="ys-section-title">云资源</h2>
      {vms.length > 0 ? (
        <div class="ys-table-wrap">
          <table class="ys-table">
            <thead>
              <tr>
                <th>用途</th>
                {extra.serverType ? <th>服务器类型</th> : null}
                <th>vCPU</th>
                <th>内存(GB)</th>
                <th>数据盘(GB)</th>
                <th>存储类型</th>
                <th>操作系统</th>
                <th>数量</th>
                {extra.publicIps ? <th>外网 IP</th> : null}
                {extra.requestType ? <th>申请类型</th> : null}
                <th>备份</th>
                {extra.remarks ? <th>备注</th> : null}
              </tr>
            </thead>
            <tbody>
              {vms.map((vm) => (
                <tr>
                  <td>{vm.purpose}</td>
                  {extra.serverType ? <td>{vm.serverType ?? "—"}</td> : null}
                  <td>{vm.vcpu}</td>
                  <td>{vm.memoryGb}</td>
                  <td>{vm.diskGb}</td>
                  <td>{vm.storageType ?? "—"}</td>
                  <td>{vm.os}</td>
                  <td>{vm.quantity ?? 1}</td>
                  {extra.publicIps ? <td>{vm.publicIps ? `${vm.publicIps} 个/台` : "—"}</td> : null}
                  {extra.requestType ? <td>{requestType(vm)}</td> : null}
                  <td>
                    {vm.backup
                      ? `${BACKUP_TYPES[vm.backup.type as keyof typeof BACKUP_TYPES] ?? ""}，${vm.backup.strategy}，保留 ${vm.backup.retentionMonths} 个月，${BACKUP_COPIES[vm.backup.copies as keyof typeof BACKUP_COPIES] ?? ""}`
                      : "无"}
                  </td>
                  {extra.remarks ? <td>{vm.remarks ?? ""}</td> : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {r.totals ? (
        <p class="ys-panel">
          合计：{r.totals.hosts} 台，vCPU {r.totals.vcpu} 核，内存 {r.totals.memoryGb} GB，存储 {r.totals.storageGb} GB
        </p>
      ) : null}
    </>
  );
}

/**
 * 004 第十二条(三)2, 第四十八条: the hosted devices, bandwidth, public IPs and security services asked for. A form
 * from before devices were listed says only 硬件托管 yes.
 */
function HostingAndNetworkRows({ r }: { r: RequestView }) {
  if (r.flow !== "application") return null;
  const form = r.form as Partial<RequestedResources>;
  const devices = Array.isArray(form.hosting) ? form.hosting : [];
  const bandwidth = form.bandwidth ?? [];
  const security = form.security ?? [];
  const items: [string, string][] = [
    ...(form.hosting === true ? [["硬件托管", "是（申请表未列明托管设备）"] as [string, string]] : []),
    ...devices.map((d): [string, string] => ["托管设备", `${d.device}，${d.rackUnits}U × ${d.quantity ?? 1} 台${d.powerW ? `，电源功率 ${d.powerW}W` : ""}`]),
    ...bandwidth.map((b): [string, string] => ["带宽", `${BANDWIDTH_ZONES[b.zone] ?? b.zone} ${b.mbps} Mbps`]),
    ...(form.publicIps ? [["公网 IP 数量", `${form.publicIps} 个`] as [string, string]] : []),
    ...security.map((s): [string, string] => ["安全服务", `${SECURITY_SERVICES[s.service] ?? s.service} × ${s.quantity ?? 1} 套`]),
  ];
  if (items.length === 0) return null;
  return (
    <>
      <h2 class="ys-section-title">硬件托管、网络与安全服务</h2>
      <dl class="ys-kv">
        {items.map(([label, value]) => (
          <Field label={label}>{value}</Field>
        ))}
      </dl>
    </>
  );
}

function Attachments({ r }: { r: RequestView }) {
  const list = (r.form as { attachments?: { name: string; sha256: string; purpose?: string; fileId?: string | number }[] }).attachments ?? [];
  if (list.length === 0) return null;
  return (
    <>
      <h2 class="ys-section-title">附件</h2>
      <div class="weui-cells">
        {list.map((a) => (
          <div class="weui-cell">
            <div class="weui-cell__bd">
              {a.fileId !== undefined ? <a href={`/files/${encodeURIComponent(String(a.fileId))}`}>{a.name}</a> : <span>{a.name}</span>}
              <p class="ys-muted">
                {ATTACHMENT_PURPOSES[a.purpose as keyof typeof ATTACHMENT_PURPOSES] ?? "附件"}
                {a.fileId === undefined ? ` · SHA-256 ${a.sha256}` : ""}
              </p>
            </div>
          </div>
        ))}
      </div>
    </>
  );
}

function Stages({ r, now, calendar }: { r: RequestView; now: Date; calendar: WorkCalendar }) {
  return (
    <>
      <h2 class="ys-section-title">办理环节</h2>
      <div class="ys-table-wrap">
        <table class="ys-table">
          <thead>
            <tr>
              <th>环节</th>
              <th>状态</th>
              <th>处理人</th>
              <th>开始 / 结束</th>
              <th>期限</th>
            </tr>
          </thead>
          <tbody>
            {r.stages.map((s) => (
              <tr>
                <td>{s.name}</td>
                <td>
                  {STAGE_STATUS_WORDS[s.status] ?? s.status}
                  {s.overdue ? <span class="ys-late">（逾期）</span> : null}
                </td>
                <td>
                  {s.elapses ? <span class="ys-muted">期满自动进入下一环节</span> : null}
                  {s.tasks
                    .filter((t) => t.status !== "cancelled")
                    .map((t) => (
                      <div>
                        {t.userName}：{TASK_STATUS_WORDS[t.status] ?? t.status}
                        {t.decidedAt ? <span class="ys-muted"> {when(t.decidedAt)}</span> : null}
                        {t.note ? <div class="ys-muted">“{t.note}”</div> : null}
                      </div>
                    ))}
                  <StageFormView r={r} s={s} />
                </td>
                <td>
                  {when(s.openedAt)}
                  {s.closedAt ? <div>{when(s.closedAt)}</div> : null}
                </td>
                <td>
                  {s.status === "open" ? (
                    <Deadline calendar={calendar} deadlineAt={s.deadlineAt} now={now} />
                  ) : s.deadlineAt ? (
                    <span class="ys-muted">{when(s.deadlineAt)} 前</span>
                  ) : (
                    <span class="ys-muted">—</span>
                  )}
                  {s.deadlinePending ? <div class="ys-muted">期限待下一年工作日历加载后计算</div> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/**
 * 002 附件1's 审核意见 boxes, in its order: 主管部门 (a 下属单位's 主管单位初审, 第二十三条), 县(市、区) 政务服务数据管理部门
 * (a county unit's 县级初审), 韶关市政务服务数据管理部门 (审批). Each as its reviewer decided it: the opinion, 审核人
 * and 日期. Only 韶关's requests, and only the boxes that concern this unit (注: 一式三份, 申请单位、主管部门或县(市、区)
 * 政务服务数据管理部门、市…各存一份).
 */
function ReviewOpinions({ r }: { r: RequestView }) {
  if (r.profile !== "shaoguan") return null;
  const boxes: { stage: string; title: string; applies: boolean }[] = [
    { stage: "supervisor_review", title: "主管部门审核意见", applies: r.unit.supervisor !== null },
    { stage: "county_review", title: "县(市、区)政务服务数据管理部门审核意见", applies: r.unit.county !== null },
    { stage: "approve", title: "韶关市政务服务数据管理部门审批意见", applies: true },
  ];
  const shown = boxes.filter((b) => b.applies && (b.stage !== "approve" || r.stages.some((s) => s.stage === "approve")));
  if (!shown.some((b) => r.stages.some((s) => s.stage === b.stage))) return null;
  return (
    <>
      <h2 class="ys-section-title">审核意见{r.flow === "application" ? "（附件1）" : ""}</h2>
      <dl class="ys-kv ys-opinions">
        {shown.map((b) => {
          const run = r.stages.findLast((s) => s.stage === b.stage);
          const decided = run?.tasks.findLast((t) => t.decidedAt !== null && ["approved", "rejected", "returned"].includes(t.status));
          return (
            <Field label={b.stage === "supervisor_review" && r.unit.supervisor ? `${b.title}（${r.unit.supervisor.name}）` : b.title}>
              {decided ? (
                <>
                  <div>
                    {TASK_STATUS_WORDS[decided.status] ?? decided.status}
                    {decided.note ? `：${decided.note}` : ""}
                  </div>
                  <div class="ys-muted">
                    审核人签名：{decided.userName}　日期：{shanghaiDate(new Date(decided.decidedAt!))}
                  </div>
                </>
              ) : (
                <span class="ys-muted">{run ? "待审核" : "—"}</span>
              )}
            </Field>
          );
        })}
      </dl>
    </>
  );
}

function History({ r, names }: { r: RequestView; names: Map<string, string> }) {
  const entries = r.history.filter((h) => h.outcome === "ok" && h.action.startsWith("request."));
  return (
    <>
      <h2 class="ys-section-title">办理记录与评论</h2>
      <div class="ys-panel">
        <ul class="ys-history">
          {entries.map((h) => {
            const verb = h.action.slice("request.".length);
            const stage = h.stage ? r.stages.find((s) => s.stage === h.stage) : undefined;
            const word = verb === "approve" && h.stage ? stageDef(r.flow, r.profile, h.stage).approveLabel : (REQUEST_EVENTS[verb] ?? "办理");
            const d = h.details as { reason?: string; note?: string; text?: string; comment?: string; score?: keyof typeof RATING_NAMES };
            const said = d.text ?? d.reason ?? d.note ?? d.comment;
            return (
              <li>
                <span class="ys-muted">{when(h.at)}</span> {h.actorId ? (names.get(h.actorId) ?? h.actorId) : "系统"}
                {stage ? `「${stage.name}」` : " "}
                {word}
                {d.score ? `：${RATING_NAMES[d.score] ?? ""}` : ""}
                {said ? <div>“{said}”</div> : null}
              </li>
            );
          })}
        </ul>
      </div>
    </>
  );
}

/** Who the holder may hand the stage to: others of the same role (for a county bureau, of the same county). */
async function transferCandidates(db: WebDeps["db"], r: RequestView, held: Stage | null, userId: string): Promise<Candidate[]> {
  const party = held?.tasks.find((t) => t.status === "pending" && t.userId === userId)?.party;
  if (!party || party === "holder") return [];
  const ownSide = party === "applicant" || party === "unit";
  const people =
    ownSide
      ? await usersWithRole(db, "applicant", { unitId: r.unit.id })
      : await usersWithRole(
          db,
          party as Role,
          party === "county_bureau"
            ? { unitId: r.unit.county?.id ?? r.unit.id }
            : party === "unit_supervisor"
              ? { unitId: r.unit.supervisor?.id ?? r.unit.id }
              : {},
        );
  const unitNames = new Map((await listUnits(db)).map((u) => [u.id, u.name]));
  return people
    .filter((u) => u.id !== userId && (ownSide || u.id !== r.applicant?.id))
    .map((u) => ({ id: u.id, name: u.name, unitName: unitNames.get(u.unitId) ?? u.unitId }));
}

interface Candidate {
  id: string;
  name: string;
  unitName: string;
}

/** The buttons of what this person may do now; the engine still decides, and its refusal is shown. */
function Actions({ r, actor, csrf, candidates, stageForm, uploadMaxMb }: { r: RequestView; actor: Actor; csrf: string; candidates: Candidate[]; stageForm?: StageFormState; uploadMaxMb: number }) {
  const { userId, roles } = actor;
  const held = holdsCurrent(r, userId);
  // The engine says what the stage offers and what each decision asks for on this request.
  const offered = (action: string) => held?.decisions?.find((d) => d.action === action);
  const approve = offered("approve");
  const isApplicant = r.applicant?.id === userId;
  const open = r.status === "in_progress";
  const involved = isApplicant || r.stages.some((s) => s.tasks.some((t) => t.userId === userId)) || roles.includes("manager") || roles.includes("reviewer");
  const mayNudge = open && !held && (isApplicant || (roles.includes("applicant") && r.unit.id === actor.unitId) || roles.includes("manager") || roles.includes("reviewer"));
  const rated = FLOWS[r.flow as keyof typeof FLOWS]?.ratedService === true;
  const earlier = r.stages.filter((s) => s.status !== "open" && s.stage !== held?.stage && !s.elapses);
  const forms = [];
  // After 退回 the applicant's turn is the form itself, opened filled in on its own page.
  if (offered("resubmit"))
    forms.push(
      <a class="weui-btn weui-btn_mini weui-btn_primary" href={`/requests/${r.code}/edit`}>
        修改后重新提交
      </a>,
    );
  else if (held && approve) {
    // A stage with a form (附件6) is approved with its fields filled in here; its note is asked only when the
    // stage itself wants one on these facts.
    const def = stageDef(r.flow, r.profile, held.stage);
    // The decision asks for the form and, on some facts, a note ("《…》；须填写评估说明"): the note's part.
    const needsNote = def.form && approve.asks?.startsWith(def.form.name) ? approve.asks.slice(def.form.name.length).replace(/^；/, "") || null : approve.asks;
    forms.push(
      <ActionForm action="approve" csrf={csrf} code={r.code} runId={held.runId} label={approve.label} primary multipart={def.form?.fields.some((f) => f.kind === "file")}>
        {def.form ? (
          <div class="ys-stage-form">
            {def.form.fromRequest?.fields.map((f) => (
              <p class="ys-muted">
                {f.label}：{shownValue(undefined, valueAt(def.form!.fromRequest!.values({ title: r.title, facts: {} }), f.name))}
              </p>
            ))}
            <StageFormFields form={stageWebForm(def.form)} values={stageForm?.values ?? { fields: {}, rows: {} }} messages={stageForm?.messages ?? {}} uploadMaxMb={uploadMaxMb} />
          </div>
        ) : null}
        <label>
          {needsNote ? `意见（必填：${needsNote}）` : "意见（可选）"}
          <textarea name="note" rows={2} maxlength={2000}></textarea>
        </label>
      </ActionForm>,
    );
    if (offered("reject"))
      forms.push(
        <ActionForm action="reject" csrf={csrf} code={r.code} runId={held.runId} label="驳回">
          <label>
            驳回理由（必填）
            <textarea name="reason" rows={2} maxlength={2000}></textarea>
          </label>
        </ActionForm>,
      );
    if (offered("return"))
      forms.push(
        <ActionForm action="return" csrf={csrf} code={r.code} runId={held.runId} label="退回">
          <label>
            退回到
            <select name="toStage">
              <option value="applicant">申请人（修改后重新提交）</option>
              {[...new Map(earlier.map((s) => [s.stage, s.name])).entries()].map(([key, name]) => (
                <option value={key}>{name}</option>
              ))}
            </select>
          </label>
          <label>
            退回理由（必填）
            <textarea name="reason" rows={2} maxlength={2000}></textarea>
          </label>
        </ActionForm>,
      );
    if (offered("fail"))
      forms.push(
        <ActionForm action="fail" csrf={csrf} code={r.code} runId={held.runId} label="未通过">
          <label>
            未通过的原因（必填）
            <textarea name="reason" rows={2} maxlength={2000}></textarea>
          </label>
        </ActionForm>,
      );
    // Only to someone who may take the stage: with nobody else of the role there is nothing to offer.
    if (candidates.length > 0)
      forms.push(
        <ActionForm action="transfer" csrf={csrf} code={r.code} runId={held.runId} label="转交">
          <label>
            转交给
            <select name="toUserId">
              {candidates.map((u) => (
                <option value={u.id}>
                  {u.name}（{u.unitName}）
                </option>
              ))}
            </select>
          </label>
          <label>
            说明（可选）
            <input type="text" name="reason" maxlength={2000} />
          </label>
        </ActionForm>,
      );
  }
  if (mayNudge && r.currentStage && !r.currentStage.elapses) forms.push(<ActionForm action="nudge" csrf={csrf} code={r.code} label="催办" />);
  if (isApplicant && (open || r.status === "returned"))
    forms.push(
      <ActionForm action="withdraw" csrf={csrf} code={r.code} label="撤回申请">
        <label>
          撤回原因（可选）
          <input type="text" name="reason" maxlength={2000} />
        </label>
      </ActionForm>,
    );
  if (isApplicant && rated && r.status === "completed" && !r.rating)
    forms.push(
      <ActionForm action="rate" csrf={csrf} code={r.code} label="提交评价" primary>
        <fieldset>
          <legend>服务评价</legend>
          {Object.entries(RATING_NAMES).map(([score, name]) => (
            <label>
              <input type="radio" name="score" value={score} /> {name}{" "}
            </label>
          ))}
        </fieldset>
        <label>
          意见（不满意请写明原因）
          <input type="text" name="comment" maxlength={500} />
        </label>
      </ActionForm>,
    );
  if (involved)
    forms.push(
      <ActionForm action="comment" csrf={csrf} code={r.code} label="发表评论">
        <label>
          评论
          <textarea name="text" rows={2} maxlength={2000}></textarea>
        </label>
      </ActionForm>,
    );
  if (forms.length === 0) return null;
  return (
    <>
      <h2 class="ys-section-title" id="actions">
        {held ? `办理：${held.name}` : "操作"}
      </h2>
      <div class="ys-panel ys-actions">{forms}</div>
    </>
  );
}

/** /requests/<code>: one request as its reader may see it, with what they may do; not found for anyone else. */
export function requestPages(deps: WebDeps) {
  const app = new Hono<WebEnv>();

  async function load(c: Context<WebEnv>) {
    const code = c.req.param("code")!.toUpperCase();
    const id = REQUEST_CODE.test(code) ? await requestIdByCode(deps.db, code) : null;
    // The engine's view decides who may see it; an unknown code reads the same as one not theirs.
    if (id === null) throw notFound(`申请 ${code} 不存在或您无权查看`);
    return getRequest({ ctx: c.get("ctx"), input: { id } });
  }

  async function render(c: Context<WebEnv>, r: RequestView, message?: { error?: string; notice?: string }, status = 200, stageForm?: StageFormState) {
    const ctx = c.get("ctx");
    const actor = ctx.actor!;
    const ids = [...new Set(r.history.flatMap((h) => (h.actorId ? [h.actorId] : [])))];
    const names = new Map((await getUsers(ctx.db, ids)).map((u) => [u.id, u.name]));
    const csrf = c.get("session").csrf;
    return c.html(
      <Page title={`${r.code} ${r.title}`} ctx={ctx} csrf={csrf}>
        <h1>{r.title}</h1>
        <p class="ys-panel">
          {r.code} · {r.unit.name}
          {r.unit.supervisor ? `（主管单位：${r.unit.supervisor.name}）` : ""} · <b>{r.statusName}</b>
          {r.overdue ? <span class="ys-late"> · 有逾期环节</span> : null}
          {r.currentStage ? ` · 当前环节：${r.currentStage.name}` : ""}
        </p>
        <Outcome message={message} />
        <div class="ys-columns">
          <div>
            <FormFields r={r} />
            <VmRows r={r} />
            <HostingAndNetworkRows r={r} />
            <Attachments r={r} />
            <Stages r={r} now={ctx.clock.now()} calendar={ctx.calendar} />
            <ReviewOpinions r={r} />
            <History r={r} names={names} />
          </div>
          <div>
            <Actions
              r={r}
              actor={actor}
              csrf={csrf}
              stageForm={stageForm}
              uploadMaxMb={deps.settings.uploadMaxMb}
              candidates={await transferCandidates(ctx.db, r, holdsCurrent(r, actor.userId), actor.userId)}
            />
          </div>
        </div>
      </Page>,
      status as 200,
    );
  }

  app.get("/:code", async (c) => {
    const r = await load(c);
    return render(c, r, { notice: DONE[c.req.query("done") ?? ""] });
  });

  app.post("/:code/actions", async (c) => {
    const r = await load(c);
    const body = (await c.req.parseBody({ all: true })) as Record<string, unknown>;
    // Sent from the 待办 list: the person goes back to the list, where they were working through it.
    const fromTodo = field(body, "back") === "todo";
    // A stage with a form (附件6): its fields are read as the portal's forms read theirs, and checked here first so
    // that each message is worded for its field; the engine checks them again, and against the register.
    const decided = r.stages.find((s) => s.runId === Number(field(body, "stageRunId")) && s.status === "open");
    const formDef = decided && (field(body, "action") === "approve" || field(body, "action") === "confirm") ? stageDef(r.flow, r.profile, decided.stage).form : undefined;
    const web = formDef ? stageWebForm(formDef) : null;
    const refusedFiles = formDef ? await storeStageFiles(c.get("ctx"), formDef, body as FormBody, deps.settings.uploadMaxMb * MB) : {};
    const values = web ? readValues(web, body as FormBody) : null;
    try {
      const action = actionFrom(body);
      let input = action;
      if (web && values && (action.action === "approve" || action.action === "confirm")) {
        const form = toInput(web, values);
        const checked = web.schema.safeParse(form);
        if (!checked.success || Object.keys(refusedFiles).length > 0) {
          const messages = { ...(checked.success ? {} : issueMessages(web, checked.error.issues, form)), ...refusedFiles };
          return render(c, r, { error: `${formDef!.name}有 ${Object.keys(messages).length} 处需要修改，见各栏下方的红字` }, 400, { values, messages });
        }
        input = { ...action, form };
      }
      await actOnRequest({ ctx: c.get("ctx"), input: { ...input, requestId: r.id } });
      deps.onQueued?.();
      return c.redirect(fromTodo ? `/?done=${input.action}&code=${r.code}#todo` : `/requests/${r.code}?done=${input.action}`, 303);
    } catch (err) {
      // The engine's own words, on the page the person acted from; the refused change wrote nothing.
      if (err instanceof ServiceError && err.status !== 503)
        return fromTodo
          ? renderHome(c, { error: `${r.code}：${err.message}` }, err.status)
          : render(c, await load(c), { error: err.message }, err.status, web && values ? { values, messages: serviceFieldMessages(web, err.fields) } : undefined);
      throw err;
    }
  });
  return app;
}
