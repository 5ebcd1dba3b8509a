import type { z } from "zod";
import type { Db } from "../db/client";
import type { Actor, ServiceContext } from "../src/core/context";
import type { Journal } from "../src/core/mutate";
import type { LockedRequest } from "../src/core/request";
import type { Role } from "../src/core/roles";
import type { Attached } from "../src/files";
import type { ResourceMilestone, RevocationTrigger } from "../src/resources/catalog";
import type { ProfileKey } from "../profiles";

/**
 * Who acts at a stage. "applicant" is the person who submitted; "holder" the person a request is for (the user
 * of a VM account), named in its facts; "unit" every applicant of the request's unit (an order addressed to the
 * unit, which any of them answers); the others resolve through the directory.
 */
export type Party = Extract<Role, "applicant" | "county_bureau" | "manager" | "provider" | "reviewer" | "unit_supervisor"> | "holder" | "unit";

export const PARTY_NAMES: Record<Party, string> = {
  applicant: "申请人（使用单位）",
  county_bureau: "县级政务服务数据管理局",
  manager: "统筹管理单位",
  provider: "评估实施单位（云服务商）",
  reviewer: "复核单位（监理）",
  unit_supervisor: "主管单位",
  holder: "账号使用人",
  unit: "使用单位（本单位各申请人）",
};

/** A line of a request's summary on cards and pages ("资源", "3 台 / 16 核 / …"). */
export interface SummaryField {
  label: string;
  value: string;
}

export type DeadlineSpec =
  | { workdays: number; from?: Anchor }
  | { calendarDays: number; from?: Anchor }
  // That day of the month the stage (or its anchor) opened in ("by the 15th"), even when it has passed.
  | { dayOfMonth: number; from?: Anchor }
  // N months on, to the same day of the month, or its last day when it has none (民法典 第二百零一条).
  | { calendarMonths: number; from?: Anchor }
  // By the day (YYYY-MM-DD) the request's facts name under this key: a date someone set (整改期限), not a span.
  | { onDateOf: string; from?: Anchor };

/**
 * Counting starts when the stage opens, or when an earlier stage first opened (a monthly statement's day), or
 * first closed (10 wd from the first security test performed, not from the day it was asked for).
 */
export type Anchor = { firstOpenOf: string } | { firstDoneOf: string | readonly string[] };

/** Whether a run of `stage` is what the anchor counts from: its stage, or one of its alternative stages. */
export const anchoredOn = (keys: string | readonly string[], stage: string) => (typeof keys === "string" ? keys === stage : keys.includes(stage));

/**
 * A field of a stage's form as pages render it (the portal's own field kinds): `name` is its path in the form
 * ("contact.mobile"). `notFuture` dates are refused when later than today (Beijing time); `tel` fields are
 * masked in the audit entry (invariant 8), kept whole on the stage run.
 */
export interface StageFormField {
  name: string;
  label: string;
  kind: "text" | "textarea" | "date" | "tel" | "select" | "file";
  options?: readonly { value: string; label: string }[];
  /**
   * A file field: the purpose its file is uploaded as (POST /api/files) and that purpose's name. The approval keeps
   * the file with the request, as the stage's document, and the form with its name and SHA-256.
   */
  purpose?: string;
  purposeName?: string;
  /** A select whose values are whole numbers (等保级别 1–5). */
  intValues?: boolean;
  optional?: boolean;
  hint?: string;
  placeholder?: string;
  notFuture?: boolean;
}

/**
 * A form the holder fills in to approve (or confirm) a stage: 梅州's 《…迁云上云安全检测申请表》（附件6） at
 * 申请上线前安全检测. Checked by `schema` (400 naming each field under `form.<field>`), kept on the stage run and
 * in the decision's audit entry.
 */
export interface StageForm<F = any> {
  /** As the official form is called: 《…安全检测申请表》（附件6）. */
  name: string;
  schema: z.ZodType<Record<string, unknown>>;
  fields: readonly StageFormField[];
  /** What the form carries from the request itself rather than typed (系统名称 is the request's), and its labels. */
  fromRequest?: { fields: readonly { name: string; label: string }[]; values: (req: { title: string; facts: F }) => Record<string, unknown> };
}

/** A stage; F is the facts type of its flow. The engine handles every flow's stages alike, hence `any`. */
export interface StageDef<F = any> {
  key: string;
  name: string;
  /** One party: 或签, any one assignee decides. Several: 会签, each party must approve. */
  parties: Party[];
  deadline?: DeadlineSpec;
  /** Deadline when the stage reopens after a failure (e.g. the retest counts from the first test). */
  redoDeadline?: DeadlineSpec;
  /** Earliest completion, e.g. a trial run of at least 30 calendar days. */
  minDuration?: { calendarDays: number };
  /** The stage runs only when this holds; otherwise it is skipped. */
  when?: (facts: F) => boolean;
  /** Label of the approving action on cards ("同意", "确认交付", …). */
  approveLabel: string;
  /** When it returns a reason, approving needs a note (e.g. the evaluation note for a large VM). */
  approveNeedsNote?: (facts: F) => string | null;
  /** When it returns a reason, the stage cannot be approved on these facts at all: only returned (or rejected). */
  approveRefusal?: (facts: F) => string | null;
  /** 驳回 ends the request. */
  canReject?: boolean;
  /** 退回 to the applicant or an earlier stage. */
  canReturn?: boolean;
  /**
   * Where a return goes when the returner names no stage: this earlier stage instead of the applicant (a check
   * after the provider has revoked or resized something goes back to the provider, not to a form that no longer
   * describes what is there).
   */
  returnTo?: string;
  /** Where the applicant's resubmission after a return from this stage continues, instead of this stage. */
  resumeAt?: string;
  /** A failed check goes to this stage (e.g. security test → fixes). */
  onFail?: string;
  /** After approval go here instead of the next stage in the sequence. */
  next?: string;
  /** Reached only through onFail / next, never by walking the sequence. */
  detour?: boolean;
  /**
   * Runs beside the stages after it: when it opens, the next stage opens too and is the request's current stage;
   * this one is decided on the side (approve only: a problem found is a 整改通知, not a return), and the request
   * cannot complete while it is still open (004 第十七条(一): the unit deploys while the 发放核查 runs).
   */
  alongside?: boolean;
  /** The manager may extend the deadline (e.g. 徽州's 15-day test "经云主管部门同意后…可以延长"). */
  extendable?: boolean;
  /** Who is told when this stage completes, besides the applicant. */
  reportTo?: Party[];
  /** Who is warned when this stage is late, besides its holders, the managers and the reviewers. */
  lateWarningTo?: Party[];
  /**
   * The card that opens this stage quotes the note of the latest approval of that earlier stage: the unit
   * prepares "按照云资源评估实施单位的要求" (004 第二十一条(一)1, 第二十六条), which the provider wrote into its plan.
   */
  quotes?: string;
  /**
   * What the quoted note is introduced with, instead of 请按「…」的要求办理 (a report the decision rests on, not
   * requirements to follow).
   */
  quoteLead?: string;
  /**
   * A period, not a decision (巴中's 3-month 过渡期): nobody approves it; it ends by itself at its deadline and
   * the next stage opens. Its parties are told when it opens and reminded before it ends.
   */
  elapses?: boolean;
  /**
   * 驳回 here comes after the resources were delivered (an emergency request's 事后审批, 004 第四十八条): the
   * rejection opens a revocation of what the request delivered, for this reason.
   */
  revokeOnReject?: RevocationTrigger;
  /**
   * The holders' work is due by the deadline, and not doing it has a consequence rather than a warning: when the
   * deadline passes with the stage still open, the stage lapses (its run closes as elapsed), a revocation of the
   * resources the facts name (`resourceIds`) opens for this trigger, owned by their unit, and the request ends
   * (已办结, with `lapsed` in its facts). 003 第二十四条(四): 拒不整改的，停止政务云资源使用并回收.
   */
  revokeOnLapse?: RevocationTrigger;
  /** Approving (or confirming) this stage needs this form filled in (StageForm). */
  form?: StageForm<F>;
  /** Completing this stage is that moment in the life of the request's resources (交付, 部署, 安全检测, 上线). */
  marks?: ResourceMilestone;
  /**
   * Approving this stage puts the request into effect: the flow's `complete` hook runs then, not when the
   * request completes, because a later stage needs what it sets up (徽州's holder logs in to the new account
   * before confirming the initial password changed, 001 附件1 注2). Approve-only: nothing after it can undo it.
   */
  takesEffect?: boolean;
}

export interface AttachmentRule<F = any> {
  purpose: string;
  name: string;
  when: (facts: F) => boolean;
}

/** Form: the checked submission form of the flow, for rules about a row of it (a VM's data disk). */
export interface ProfileDef<F = any, Form = any> {
  name: string;
  /** Stage keys in order; conditions and detours decide which of them a request passes. */
  sequence: string[];
  overrides?: Record<string, Partial<Omit<StageDef<F>, "key">>>;
  attachments: AttachmentRule<F>[];
  /** What this profile's document forbids a submission to ask for: a message under a field, or null. */
  submissionRules?: ((facts: F, form: Form) => { field: string; message: string } | null)[];
  /** Facts this profile's document adds to a submission's (徽州's 报备 of ports and external IPs), before its rules. */
  facts?: (facts: F, form: Form) => F;
  /**
   * What this profile's document refuses a submission for that only the database knows (徽州 001 第三十条: a unit
   * with a reduction for under-use pending asks for nothing new): a message under a field, or null.
   */
  checks?: ((args: { tx: Db; unitId: string; except?: number }) => Promise<{ field: string; message: string } | null>)[];
}

export interface FlowDef<F = any, K extends string = string> {
  key: K;
  name: string;
  stages: Record<string, StageDef<F>>;
  /**
   * The stage sequence per policy profile; a flow the documents describe once for everyone has only "default".
   * Kept with the flow, not in profiles/, because a sequence names this flow's own stages and its attachment
   * rules read this flow's facts; the keys are checked against the profile registry.
   */
  profiles: Partial<Record<ProfileKey | "default", ProfileDef<F>>>;
  /** The request's key facts as cards and pages show them, after 编号 and 单位. */
  summary: (facts: F, title: string) => SummaryField[];
  /** A word lists show beside the request's code, when its facts call for one (紧急: 004 第四十八条). */
  badge?: (facts: F) => string | null;
  /**
   * 服务评价: once completed, the applicant may rate the provider's service (Oversight: response, satisfaction
   * and quality). Not for the provider's own requests, such as its monthly statement.
   */
  ratedService?: boolean;
  /**
   * The party a proposal yunshen opens itself (a job's, with no submitter) stands in for: the 需求发起方 that a
   * rejection is fed back to (004 第二十条(一), 第二十五条(一)).
   */
  proposer?: Party;
}

export const wd = (workdays: number, from?: Anchor): DeadlineSpec => ({ workdays, from });

/** The manager's 审批 (adjustment, revocation, backup, VM account, port opening): 2 working days, may reject or return. */
export const MANAGER_APPROVAL: StageDef = {
  key: "approve",
  name: "审批",
  parties: ["manager"],
  deadline: wd(2),
  approveLabel: "同意",
  canReject: true,
  canReturn: true,
};
/**
 * 002 第二十三条: a county unit's own change, cancellation or 用途变更 is pre-reviewed by its county bureau
 * ("报本级政务服务数据管理部门或主管单位初审"; a 下属单位's 主管单位 has SUPERVISOR_PRE_REVIEW), then reviewed by the city's. 002 sets
 * no time for it: 1 wd, as the application's county review. Its 初审 is a review in its own right: it may refuse.
 * Runs when the facts say a county unit asked itself (`countyApplicant`).
 */
export const COUNTY_PRE_REVIEW: StageDef<{ countyApplicant?: boolean }> = {
  key: "county_review",
  name: "县级初审",
  parties: ["county_bureau"],
  deadline: wd(1),
  when: (f) => f.countyApplicant === true,
  approveLabel: "同意并提交",
  canReject: true,
  canReturn: true,
};
/**
 * 002 第二十三条: a 下属单位's application, change (adjustment), cancellation (revocation) or 用途变更 is pre-reviewed
 * by its 主管单位 ("报本级政务服务数据管理部门或主管单位初审后，提交市政务服务数据管理部门审核"); its opinion is the 主管部门
 * 审核意见 of 附件1. Like the county's: 1 wd (002 sets none), and it may refuse or return. A county 下属单位 passes its
 * 主管单位 first and then its county bureau, in the order of 附件1's boxes (主管部门, 县(市、区), 市).
 * Runs when the facts say a 下属单位 asked itself (`supervisedApplicant`).
 */
export const SUPERVISOR_PRE_REVIEW: StageDef<{ supervisedApplicant?: boolean }> = {
  key: "supervisor_review",
  name: "主管单位初审",
  parties: ["unit_supervisor"],
  deadline: wd(1),
  when: (f) => f.supervisedApplicant === true,
  approveLabel: "同意并提交",
  canReject: true,
  canReturn: true,
};
export const days = (calendarDays: number, from?: Anchor): DeadlineSpec => ({ calendarDays, from });
export const byDay = (dayOfMonth: number, from?: Anchor): DeadlineSpec => ({ dayOfMonth, from });
export const months = (calendarMonths: number, from?: Anchor): DeadlineSpec => ({ calendarMonths, from });

/** The stages of one profile with its overrides applied, in order. */
export function profileStages(flow: FlowDef, profile: ProfileKey): StageDef[] {
  const def = flow.profiles[profile] ?? flow.profiles.default;
  if (!def) throw new Error(`flow ${flow.key} has no profile ${profile}`);
  return def.sequence.map((key) => {
    const base = flow.stages[key];
    if (!base) throw new Error(`flow ${flow.key} profile ${profile} names unknown stage ${key}`);
    return { ...base, ...def.overrides?.[key], key };
  });
}

/** What moving a locked request on works with: a person's action, or a timer's (no actor). */
export interface FlowStep {
  ctx: ServiceContext;
  tx: Db;
  j: Journal;
  req: LockedRequest;
}

/** A submission (or a resubmission) as the flow checks it. */
export interface PrepareArgs {
  ctx: ServiceContext;
  tx: Db;
  actor: Actor;
  form: unknown;
  profile: ProfileKey;
  countyUnit: boolean;
  /** 002 第二十三条: the submitter's unit is a 下属单位 (it has a 主管单位 in the directory). */
  supervisedUnit: boolean;
  /** On a resubmission: the request itself, whose own claims and origin stay its own. */
  resubmitting?: { id: number; facts: unknown };
}

/** A checked form, and the request's title and facts. */
export interface Prepared<F = object> {
  form: unknown;
  title: string;
  facts: F;
  /** Whose request it is when not the submitter's own (a revocation of a unit's resources). */
  owner?: { unitId: string; unitName: string; applicantId: string };
  /** Uploaded files the form names: bound to the request, and their digests audited, in the same transaction. */
  files?: Attached[];  /** A sentence the submitter is told with the submission's answer (the 服务目录 match, 000 5.5). */
  notice?: string;
}

/** What differs between flows at submission and completion. */
export interface FlowService<F = any> {
  /**
   * Why this actor may not submit, or null. `profile`: the jurisdiction the submission is under, where who may start
   * it depends on its document (the manager's orders and reductions); without it, only what every profile allows.
   */
  refusal(actor: Actor, profile?: ProfileKey): string | null;
  /** Checks the form (against the directory and the ledger too) and gives the request's title and facts. */
  prepare(args: PrepareArgs): Promise<Prepared<F>>;
  /** What a completed request sets in motion, in the completing transaction. */
  complete?(step: FlowStep): Promise<void>;
  /**
   * What a stage's approval needs that only the database knows (the register, the ledger), checked after its
   * form's schema passed and before anything is written: a refusal (422) in words for people, with the fields it
   * is about, or null. Asked of every stage approved; `form` is the stage form's values, null for a stage without one.
   */
  checkStage?(args: StageCheck<F>): Promise<{ message: string; fields?: Record<string, string[]> } | null>;
}

/** What a flow's stage check sees. */
export interface StageCheck<F = any> {
  tx: Db;
  req: LockedRequest;
  stage: StageDef<F>;
  form: Record<string, unknown> | null;
  profile: ProfileKey;
}

/** One flow: its stages as data, the form a submission carries, and its hooks. */
export interface FlowModule<F = any, K extends string = string> {
  definition: FlowDef<F, K>;
  /** Checked when a request is submitted, before the flow's service sees the form. */
  form: z.ZodType;
  service: FlowService<F>;
}
