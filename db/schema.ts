import {
  bigint,
  customType,
  bigserial,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import type { ProfileKey } from "../profiles";
import { sql } from "drizzle-orm";

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

// Directory: city → county → unit. Vendor and reviewer organisations are units too.
export const units = pgTable("units", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  kind: text("kind").$type<"city" | "county" | "unit">().notNull(),
  parentId: text("parent_id").references((): any => units.id),
  // Whose finance pays the unit's cloud costs (004 第四十二条), when not its level's own: null pays a county
  // unit from its county's finance and any other from the city's; 省级 only ever by setting it here.
  funding: text("funding").$type<"province" | "city" | "county">(),
  // 002 第十七条、第二十三条: the unit's 主管单位 when it is a 下属单位 (a unit of kind "unit" at the same level, under
  // the same parent). Its unit_supervisor users pre-review the unit's requests and pass its yearly demand on.
  supervisorId: text("supervisor_id").references((): any => units.id),
  createdAt: ts("created_at").notNull().defaultNow(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});

export const users = pgTable(
  "users",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    unitId: text("unit_id").notNull().references(() => units.id),
    mobile: text("mobile").notNull(),
    roles: jsonb("roles").$type<string[]>().notNull(),
    active: boolean("active").notNull().default(true),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [index("users_unit_idx").on(t.unitId)],
);

// How to reach a person on each channel they have (a WeCom userid, …); a person with none is told on the
// console. One address per channel; lookups by address (a WeCom callback's sender) go by channel and lower case.
export const userChannels = pgTable(
  "user_channels",
  {
    userId: text("user_id").notNull().references(() => users.id),
    channel: text("channel").notNull(),
    address: text("address").notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.channel] }), uniqueIndex("user_channels_address_idx").on(t.channel, sql`lower(${t.address})`)],
);

// Bearer tokens: only the SHA-256 of the secret is kept.
export const apiTokens = pgTable("api_tokens", {
  id: text("id").primaryKey(),
  userId: text("user_id").notNull().references(() => users.id),
  name: text("name").notNull().default(""),
  tokenHash: text("token_hash").notNull().unique(),
  createdAt: ts("created_at").notNull(),
  revokedAt: ts("revoked_at"),
  lastUsedAt: ts("last_used_at"),
  // Null for tokens made before tokens expired; new ones always carry a lifetime.
  expiresAt: ts("expires_at"),
});

export const requests = pgTable(
  "requests",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    code: text("code").notNull().unique(),
    flow: text("flow").notNull(),
    profile: text("profile").$type<ProfileKey>().notNull(),
    unitId: text("unit_id").notNull().references(() => units.id),
    applicantId: text("applicant_id").notNull().references(() => users.id),
    title: text("title").notNull(),
    form: jsonb("form").notNull(),
    // Totals and the flags stage conditions read (flows/types.ts RequestFacts), computed at submission.
    facts: jsonb("facts").notNull(),
    status: text("status").notNull(),
    currentStage: text("current_stage"),
    // After 退回 to the applicant, the stage a resubmission goes back to.
    resumeStage: text("resume_stage"),
    overdue: boolean("overdue").notNull().default(false),
    submittedAt: ts("submitted_at").notNull(),
    closedAt: ts("closed_at"),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [index("requests_applicant_idx").on(t.applicantId), index("requests_unit_idx").on(t.unitId)],
);

// One row each time a stage opens for a request (a returned request reopens stages in a new round).
export const stageRuns = pgTable(
  "stage_runs",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    requestId: bigint("request_id", { mode: "number" }).notNull().references(() => requests.id),
    stage: text("stage").notNull(),
    mode: text("mode").$type<"any" | "all">().notNull(),
    status: text("status").notNull(),
    openedAt: ts("opened_at").notNull(),
    deadlineAt: ts("deadline_at"),
    earliestAt: ts("earliest_at"),
    overdue: boolean("overdue").notNull().default(false),
    closedAt: ts("closed_at"),
    // The stage's form as its approver filled it in (StageDef.form: 梅州's 附件6 at 申请上线前安全检测); null for
    // a stage without one.
    form: jsonb("form").$type<Record<string, unknown>>(),
  },
  (t) => [index("stage_runs_request_idx").on(t.requestId)],
);

// Who may act on a stage run. 或签: one party, any of its tasks decides; 会签: every party must approve.
export const tasks = pgTable(
  "tasks",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    stageRunId: bigint("stage_run_id", { mode: "number" }).notNull().references(() => stageRuns.id),
    requestId: bigint("request_id", { mode: "number" }).notNull().references(() => requests.id),
    party: text("party").notNull(),
    userId: text("user_id").notNull().references(() => users.id),
    status: text("status").notNull(),
    note: text("note"),
    decidedAt: ts("decided_at"),
    // The token a card button carries (invariant 4): it names this task, so one request, stage run and
    // assignee; it is spent once the task leaves "pending".
    cardToken: text("card_token").unique(),
  },
  (t) => [
    // A person's pending tasks, newest request first: one page of the 待办 list.
    index("tasks_user_status_idx").on(t.userId, t.status, t.requestId),
    index("tasks_stage_run_idx").on(t.stageRunId),
    // A request's tasks (its details, who may see it, a decision's "already decided by whom"): without it each
    // of those reads every task of the person, or of the table.
    index("tasks_request_user_idx").on(t.requestId, t.userId),
  ],
);

// 整改通知 (rectification notice) and 工作警示 (work warning), by the reviewer or by an overdue timer.
export const findings = pgTable(
  "findings",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    requestId: bigint("request_id", { mode: "number" }).notNull().references(() => requests.id),
    stage: text("stage"),
    kind: text("kind").$type<"rectification" | "warning">().notNull(),
    text: text("text").notNull(),
    byUserId: text("by_user_id").references(() => users.id),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [index("findings_request_idx").on(t.requestId)],
);

/**
 * 服务评价: the applicant's rating of the provider's service on a completed request, once per request
 * (Oversight: the provider is evaluated on response, satisfaction and quality).
 */
export const serviceRatings = pgTable(
  "service_ratings",
  {
    requestId: bigint("request_id", { mode: "number" })
      .primaryKey()
      .references(() => requests.id),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    score: text("score").$type<"satisfied" | "basic" | "dissatisfied">().notNull(),
    comment: text("comment"),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [index("service_ratings_created_idx").on(t.createdAt)],
);

export const timers = pgTable(
  "timers",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    // "elapse" ends a period stage (StageDef.elapses) where "overdue" would warn of a missed deadline.
    kind: text("kind").$type<"remind" | "overdue" | "elapse">().notNull(),
    requestId: bigint("request_id", { mode: "number" }).notNull().references(() => requests.id),
    stageRunId: bigint("stage_run_id", { mode: "number" }).notNull().references(() => stageRuns.id),
    runAt: ts("run_at").notNull(),
    status: text("status").$type<"pending" | "done" | "cancelled">().notNull().default("pending"),
    firedAt: ts("fired_at"),
  },
  // Closing a stage cancels its pending timers: without the second index that scans every pending timer.
  (t) => [index("timers_due_idx").on(t.status, t.runAt), index("timers_stage_run_idx").on(t.stageRunId)],
);

export const outbox = pgTable(
  "outbox",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    dedupeKey: text("dedupe_key").notNull(),
    userId: text("user_id").notNull().references(() => users.id),
    // The channel this copy goes out on: a message to a person is queued once per channel they have.
    channel: text("channel").notNull(),
    kind: text("kind").notNull(),
    payload: jsonb("payload").notNull(),
    // The task a card asks its recipient to decide, so a channel can put the task's token on its buttons.
    taskId: bigint("task_id", { mode: "number" }).references(() => tasks.id),
    // "sending": claimed and handed to the channel; a crash leaves it so, and it is retried with the
    // channel's own duplicate check rather than blindly. "skipped": nothing left to say (task already decided).
    status: text("status").$type<"pending" | "sending" | "sent" | "failed" | "skipped">().notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: ts("next_attempt_at").notNull(),
    createdAt: ts("created_at").notNull(),
    sentAt: ts("sent_at"),
    lastError: text("last_error"),
  },
  // The per-person send limit reads each recipient's messages of the last hour: by person, not the whole history.
  (t) => [
    unique("outbox_dedupe_key_channel_unique").on(t.dedupeKey, t.channel),
    index("outbox_due_idx").on(t.status, t.nextAttemptAt),
    index("outbox_user_sent_idx").on(t.userId, t.status, t.sentAt),
  ],
);

// Cards delivered to WeCom (or 粤政易): the platform's task_id and the latest response_code, which is what
// update_template_card needs to change that recipient's copy after a decision. Codes are single-use and
// expire (plan for 24 h), so each click's fresh code replaces the stored one.
export const wecomCards = pgTable(
  "wecom_cards",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    wecomTaskId: text("wecom_task_id").notNull().unique(),
    outboxId: bigint("outbox_id", { mode: "number" }).notNull().references(() => outbox.id),
    userId: text("user_id").notNull().references(() => users.id),
    taskId: bigint("task_id", { mode: "number" }).references(() => tasks.id),
    responseCode: text("response_code"),
    codeIssuedAt: ts("code_issued_at"),
    sentAt: ts("sent_at").notNull(),
    settledAt: ts("settled_at"),
  },
  // Re-issuing stale cards looks at the unsettled ones only; settled cards pile up with every decision.
  (t) => [
    index("wecom_cards_task_idx").on(t.taskId),
    index("wecom_cards_unsettled_idx").on(t.sentAt).where(sql`${t.settledAt} is null`),
  ],
);

// A question the bot asked in chat and is waiting on: the reason for a 驳回 or 退回 tapped on a card, or the
// note a 同意 needs (an evaluation note for a large VM).
export const chatPrompts = pgTable("chat_prompts", {
  userId: text("user_id").primaryKey().references(() => users.id),
  taskId: bigint("task_id", { mode: "number" }).notNull().references(() => tasks.id),
  action: text("action").$type<"approve" | "reject" | "return" | "fail">().notNull(),
  askedAt: ts("asked_at").notNull(),
  expiresAt: ts("expires_at").notNull(),
});

// Hosts (bastions, VMs) that ask for login codes: each holds a credential of its own, stored as its SHA-256.
export const hosts = pgTable("hosts", {
  id: text("id").primaryKey(),
  credentialHash: text("credential_hash").notNull().unique(),
  createdAt: ts("created_at").notNull(),
  revokedAt: ts("revoked_at"),
});

// 虚拟机账号: a login account on one host, bound to one person and their phone (004 第三十七条).
export const vmAccounts = pgTable(
  "vm_accounts",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    hostId: text("host_id").notNull().references(() => hosts.id),
    account: text("account").notNull(),
    userId: text("user_id").notNull().references(() => users.id),
    // The phone the account was bound to when it was approved; a new phone means a new approval.
    mobile: text("mobile").notNull(),
    requestId: bigint("request_id", { mode: "number" }).references(() => requests.id),
    status: text("status").$type<"active" | "revoked" | "expired">().notNull(),
    validUntil: ts("valid_until").notNull(),
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    lockedAt: ts("locked_at"),
    // The first login it let in: until then it has its initial password, which 徽州 has changed at that
    // login (001 附件1 注2). Backfilled from the audit log's allowed verifications.
    firstLoginAt: ts("first_login_at"),
    createdAt: ts("created_at").notNull(),
    endedAt: ts("ended_at"),
  },
  (t) => [
    // One person per account name on a host, while it is in use.
    uniqueIndex("vm_accounts_host_account_active_idx").on(t.hostId, t.account).where(sql`status = 'active'`),
    index("vm_accounts_user_idx").on(t.userId),
  ],
);

// 端口与访问地址: opened only on request, with approval (004 第三十七条, least privilege), each with its own expiry.
export const portGrants = pgTable(
  "port_grants",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    hostId: text("host_id").notNull().references(() => hosts.id),
    port: integer("port").notNull(),
    protocol: text("protocol").$type<"tcp" | "udp">().notNull(),
    // Source addresses (IPv4 / IPv6, with or without a prefix length) allowed to reach the port.
    sources: jsonb("sources").$type<string[]>().notNull(),
    reason: text("reason").notNull(),
    requestId: bigint("request_id", { mode: "number" }).notNull().references(() => requests.id),
    status: text("status").$type<"active" | "revoked" | "expired">().notNull(),
    validUntil: ts("valid_until").notNull(),
    createdAt: ts("created_at").notNull(),
    endedAt: ts("ended_at"),
  },
  (t) => [index("port_grants_host_idx").on(t.hostId, t.status)],
);

// TOTP as a second way to get in where SMS does not arrive: one authenticator per person, its secret
// encrypted under a key derived from ACCESS_CODE_KEY. Used time steps are remembered so a code works once.
export const totpEnrolments = pgTable("totp_enrolments", {
  userId: text("user_id").primaryKey().references(() => users.id),
  secretEnc: text("secret_enc").notNull(),
  createdAt: ts("created_at").notNull(),
  confirmedAt: ts("confirmed_at"),
  lastTimeStep: bigint("last_time_step", { mode: "number" }),
  // Enrolment needs the bound phone too: a code texted there, kept as a keyed hash until confirmed.
  smsCodeHash: text("sms_code_hash"),
  smsCodeExpiresAt: ts("sms_code_expires_at"),
  // Wrong codes across all of the person's accounts and hosts; at the limit the authenticator is switched off.
  failures: integer("failures").notNull().default(0),
});

// 004 第三十七条: where every login needs the SMS code (vmLoginAuthenticator "additional"), an authenticator app is
// an extra factor a security officer turns on for a person; only then may that person enrol one.
export const totpPermissions = pgTable("totp_permissions", {
  userId: text("user_id").primaryKey().references(() => users.id),
  grantedBy: text("granted_by").notNull(),
  grantedAt: ts("granted_at").notNull(),
});

// One-time login codes: only a keyed hash is kept; a new code replaces the account's previous one.
export const accessCodes = pgTable(
  "access_codes",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    vmAccountId: bigint("vm_account_id", { mode: "number" }).notNull().references(() => vmAccounts.id),
    hostId: text("host_id").notNull().references(() => hosts.id),
    codeHash: text("code_hash").notNull(),
    createdAt: ts("created_at").notNull(),
    expiresAt: ts("expires_at").notNull(),
    // Set when the code is used, replaced, spent by wrong tries, or never delivered.
    closedAt: ts("closed_at"),
    closedReason: text("closed_reason").$type<"used" | "replaced" | "tries" | "undelivered" | "revoked">(),
    wrongTries: integer("wrong_tries").notNull().default(0),
  },
  (t) => [index("access_codes_account_idx").on(t.vmAccountId, t.createdAt)],
);

// Delivered resources (VMs, PaaS, backup policies) and the moments of their life, set by the flows'
// stages, never typed: 交付 (provision), 部署, 安全检测, 上线; later 变更 and 撤销.
export const resources = pgTable(
  "resources",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    requestId: bigint("request_id", { mode: "number" }).notNull().references(() => requests.id),
    unitId: text("unit_id").notNull().references(() => units.id),
    system: text("system").notNull(),
    // "vm", "paas_database", "paas_middleware", "paas_container", "paas_bigdata", "backup", "hosting", "bandwidth",
    // "public_ip", "security_<service>" (src/resources/catalog.ts SECURITY_SERVICES)
    kind: text("kind").notNull(),
    name: text("name").notNull().unique(),
    spec: jsonb("spec").$type<Record<string, unknown>>().notNull(),
    // The cloud's own id for the resource: what the monitoring reports utilisation under.
    instanceId: text("instance_id").unique(),
    status: text("status").$type<"delivered" | "revoked">().notNull(),
    deliveredAt: ts("delivered_at").notNull(),
    // When billing starts: the delivery, or in a profile that bills from deployment (巴中, 003 第四十三条) the
    // deployment; null while a resource waits for it (not billed yet).
    billedFrom: ts("billed_from"),
    deployedAt: ts("deployed_at"),
    securityTestedAt: ts("security_tested_at"),
    liveAt: ts("live_at"),
    changedAt: ts("changed_at"),
    revokedAt: ts("revoked_at"),
  },
  (t) => [index("resources_request_idx").on(t.requestId), index("resources_unit_idx").on(t.unitId)],
);

// The size of each resource from a given Shanghai day on: set at delivery and at each adjustment, so a bill
// can count every day at the size it had then.
export const resourceSizes = pgTable(
  "resource_sizes",
  {
    resourceId: bigint("resource_id", { mode: "number" }).notNull().references(() => resources.id),
    fromDate: text("from_date").notNull(),
    spec: jsonb("spec").$type<Record<string, unknown>>().notNull(),
    requestId: bigint("request_id", { mode: "number" }).notNull().references(() => requests.id),
  },
  (t) => [primaryKey({ columns: [t.resourceId, t.fromDate] })],
);

// Unit prices (单价) per resource kind and size, as the operator loads them from a price table file; a bill
// counts each day at the table in force that day (004 第四十三条: 按天统计和结算).
export const priceTables = pgTable("price_tables", {
  version: text("version").primaryKey(),
  effectiveFrom: text("effective_from").notNull(),
  table: jsonb("table").notNull(),
  loadedAt: ts("loaded_at").notNull(),
});

// 年度资源需求 (flow 7): each unit's expected resources for a year, submitted by 30 September of the year
// before, passed up by its county bureau (county units), seen in total by the city.
export const yearlyDemands = pgTable(
  "yearly_demands",
  {
    year: integer("year").notNull(),
    unitId: text("unit_id").notNull().references(() => units.id),
    vcpu: integer("vcpu").notNull(),
    memoryGb: integer("memory_gb").notNull(),
    storageGb: integer("storage_gb").notNull(),
    note: text("note").notNull().default(""),
    submittedBy: text("submitted_by").notNull().references(() => users.id),
    submittedAt: ts("submitted_at").notNull(),
    // County units' figures reach the city when their county bureau passes them on.
    passedBy: text("passed_by").references(() => users.id),
    passedAt: ts("passed_at"),
    // 002 第十七条(一): a 下属单位's figures are passed on (汇总报送) by its 主管单位 first.
    supervisedBy: text("supervised_by").references(() => users.id),
    supervisedAt: ts("supervised_at"),
  },
  (t) => [primaryKey({ columns: [t.year, t.unitId] })],
);

// 巴中 003 第十四条: the city government's 审定同意 of a year's 政务云资源采购计划 (the units' yearly demands as
// the city saw them then: its own units', and county units' their bureau had passed on), recorded by a manager
// with its 文号, date and, optionally, the document. `units` keeps the plan as consented, whatever the units
// revise afterwards; an application beyond it is 未列入年度计划.
export const planConsents = pgTable("plan_consents", {
  year: integer("year").primaryKey(),
  docNo: text("doc_no").notNull(),
  consentedOn: text("consented_on").notNull(),
  fileId: text("file_id").references(() => files.id),
  units: jsonb("units").$type<{ unitId: string; vcpu: number; memoryGb: number; storageGb: number }[]>().notNull(),
  recordedBy: text("recorded_by").notNull().references(() => users.id),
  recordedAt: ts("recorded_at").notNull(),
});

// Utilisation (004 第四十八条), reduced to one row per VM and Shanghai day as samples stream in: sums and counts
// for the 08:00–20:00 averages, whole-day peaks, and the day's latest disk reading. Per-minute samples are
// never stored one row each.
export const vmDailyMetrics = pgTable(
  "vm_daily_metrics",
  {
    vm: text("vm").notNull(),
    date: text("date").notNull(),
    cpuSumDay: doublePrecision("cpu_sum_day").notNull(),
    cpuCountDay: integer("cpu_count_day").notNull(),
    memSumDay: doublePrecision("mem_sum_day").notNull(),
    memCountDay: integer("mem_count_day").notNull(),
    cpuPeak: doublePrecision("cpu_peak").notNull(),
    memPeak: doublePrecision("mem_peak").notNull(),
    samples: integer("samples").notNull(),
    diskUsedGb: doublePrecision("disk_used_gb"),
    diskAllocGb: doublePrecision("disk_alloc_gb"),
    diskAt: ts("disk_at"),
  },
  (t) => [primaryKey({ columns: [t.vm, t.date] })],
);

// Append-only, hash-chained. Triggers in the migrations refuse UPDATE, DELETE and TRUNCATE.
export const auditLog = pgTable(
  "audit_log",
  {
    seq: bigint("seq", { mode: "number" }).primaryKey(),
    at: ts("at").notNull(),
    actorId: text("actor_id"),
    actorRole: text("actor_role"),
    action: text("action").notNull(),
    requestId: bigint("request_id", { mode: "number" }),
    stage: text("stage"),
    outcome: text("outcome").$type<"ok" | "refused">().notNull(),
    channel: text("channel").notNull(),
    sourceIp: text("source_ip"),
    details: jsonb("details").$type<Record<string, unknown>>().notNull(),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
    // Ed25519 signature of the hash by a key the database does not hold; null on entries written before
    // the service signed (each signed entry also vouches for every entry before it through prev_hash).
    sig: text("sig"),
  },
  (t) => [index("audit_log_request_idx").on(t.requestId)],
);

// De-duplication of inbound events (Idempotency-Key, later card clicks and chat messages).
export const inboundEvents = pgTable(
  "inbound_events",
  {
    scope: text("scope").notNull(),
    key: text("key").notNull(),
    fingerprint: text("fingerprint").notNull(),
    result: jsonb("result"),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] })],
);

// Working-day schedules loaded after release (`yunshen calendar load`); built-in years live in src/calendar.
export const calendarYears = pgTable("calendar_years", {
  year: integer("year").primaryKey(),
  schedule: jsonb("schedule").notNull(),
  loadedAt: ts("loaded_at").notNull(),
});


// Raw bytes (drizzle has no bytea column of its own); Buffer in both PGlite and postgres.js.
const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => "bytea",
  fromDriver: (value) => (Buffer.isBuffer(value) ? value : Buffer.from(value)),
});

// Uploaded attachments (issue 12). Kept in the database, so every replica and a restart see the same files
// on PGlite and PostgreSQL alike; never changed once stored. A file belongs to its uploader until a request
// names it, then to that request: who may see the request may download it. One no request names a day after
// its upload is deleted (src/files purgeUnboundFiles).
export const files = pgTable(
  "files",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    contentType: text("content_type").notNull(),
    size: integer("size").notNull(),
    sha256: text("sha256").notNull(),
    // What it was uploaded as (ATTACHMENT_PURPOSES): a form may name it under that purpose only. Null for files
    // kept before purposes were (migration 0018 fills in what the request or the upload's audit entry says).
    purpose: text("purpose"),
    content: bytea("content").notNull(),
    uploadedBy: text("uploaded_by").notNull().references(() => users.id),
    unitId: text("unit_id").notNull().references(() => units.id),
    uploadedAt: ts("uploaded_at").notNull(),
    requestId: bigint("request_id", { mode: "number" }).references(() => requests.id),
    // A file kept by a record other than a request ("system:3", "inspection:5"): never purged as unsubmitted, and
    // readable by whoever may read that record.
    heldBy: text("held_by"),
  },
  (t) => [
    index("files_request_idx").on(t.requestId),
    index("files_uploader_idx").on(t.uploadedBy),
    index("files_unbound_idx").on(t.uploadedAt).where(sql`${t.requestId} is null and ${t.heldBy} is null`),
  ],
);

// One-time sign-in links for the web portal (`yunshen login-link`): only the SHA-256 of the secret is kept.
export const loginLinks = pgTable("login_links", {
  tokenHash: text("token_hash").primaryKey(),
  userId: text("user_id").notNull().references(() => users.id),
  createdBy: text("created_by"),
  createdAt: ts("created_at").notNull(),
  expiresAt: ts("expires_at").notNull(),
  usedAt: ts("used_at"),
});

// Web portal sessions: the cookie holds a secret whose SHA-256 is the id; ended at sign-out or after idling.
export const webSessions = pgTable(
  "web_sessions",
  {
    idHash: text("id_hash").primaryKey(),
    userId: text("user_id").notNull().references(() => users.id),
    csrfToken: text("csrf_token").notNull(),
    // How the person signed in: a one-time link, WeCom's in-app OAuth, WeCom's QR-code web login.
    via: text("via").$type<"link" | "wecom_oauth" | "wecom_qr">().notNull(),
    createdAt: ts("created_at").notNull(),
    lastSeenAt: ts("last_seen_at").notNull(),
    endedAt: ts("ended_at"),
  },
  (t) => [index("web_sessions_user_idx").on(t.userId)],
);

// 004 第三十九条: the manager's 安全督查 / 安全检查 of the provider, with its 问题清单 and, for 限期整改, the
// rectification the provider reports and the manager confirms. status: passed (合格, closed at once) |
// rectifying (限期整改, awaiting the provider) | reported (整改完成, awaiting the manager) | closed (确认整改).
export const securityInspections = pgTable(
  "security_inspections",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    inspectedOn: text("inspected_on").notNull(),
    kind: text("kind").notNull(),
    scope: jsonb("scope").$type<string[]>().notNull(),
    inspectors: text("inspectors").notNull(),
    result: text("result").notNull(),
    findings: jsonb("findings").$type<{ text: string }[]>().notNull(),
    deadline: text("deadline"),
    documentFileId: text("document_file_id").references(() => files.id),
    status: text("status").notNull(),
    rectificationNote: text("rectification_note"),
    rectificationFileId: text("rectification_file_id").references(() => files.id),
    returnReason: text("return_reason"),
    // 004 第三十九条: when the provider last reported 整改完成; the confirmed report's date against the deadline
    // is what the monthly report counts as 按期整改.
    reportedAt: ts("reported_at"),
    recordedBy: text("recorded_by").notNull().references(() => users.id),
    recordedAt: ts("recorded_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [index("security_inspections_status_idx").on(t.status)],
);

// 004 第二条: the register of 自建非涉密政务信息系统 (政务大数据中心梅州分节点相关系统资料). An application names one of
// its unit's systems by exactly the registered name (第十二条(二)1); the 等保 and 商用密码 records (第三十八条, 第四十条)
// are kept on the system, not on any one request.
export const systems = pgTable(
  "systems",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    unitId: text("unit_id").notNull().references(() => units.id),
    name: text("name").notNull(),
    // migration: 已建系统迁云; new: 新建系统上云 (第十二条(二)2 asks a different basis of each).
    kind: text("kind").$type<"migration" | "new">().notNull(),
    approvalRef: text("approval_ref").notNull(),
    approvalFileId: text("approval_file_id").references(() => files.id),
    nonClassifiedBy: text("non_classified_by").notNull().references(() => users.id),
    nonClassifiedAt: ts("non_classified_at").notNull(),
    mlpsLevel: integer("mlps_level"),
    mlpsFiledOn: text("mlps_filed_on"),
    mlpsRecordNo: text("mlps_record_no"),
    mlpsTestedOn: text("mlps_tested_on"),
    mlpsFileId: text("mlps_file_id").references(() => files.id),
    cryptoAssessedOn: text("crypto_assessed_on"),
    cryptoResult: text("crypto_result"),
    cryptoFileId: text("crypto_file_id").references(() => files.id),
    registeredBy: text("registered_by").notNull().references(() => users.id),
    registeredAt: ts("registered_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [uniqueIndex("systems_unit_name_idx").on(t.unitId, t.name)],
);

// 故障与突发事件通报 (000 8.2; 001 第十九、二十九条; 002 第二十五、三十条; 003 第三十、三十九条): a fault or incident
// reported by the provider, a manager or a unit, told at once to the units affected, the managers, the reviewer
// and the provider; the provider's 续报 and 处置结果 follow as incident_reports. status: open | resolved.
export const incidents = pgTable(
  "incidents",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    // fault (故障) | emergency (突发事件) | security (安全事件)
    kind: text("kind").notNull(),
    // general (一般) | serious (较大) | major (重大) | critical (特别重大)
    severity: text("severity").notNull(),
    title: text("title").notNull(),
    startedAt: ts("started_at").notNull(),
    affectedUnits: jsonb("affected_units").$type<string[]>().notNull(),
    affectedResources: jsonb("affected_resources").$type<number[]>().notNull(),
    // 003 第三十条: 初判故障处理责任单位, where the profile asks for it.
    responsibleParty: text("responsible_party"),
    status: text("status").notNull(),
    reportedBy: text("reported_by").notNull().references(() => users.id),
    reporterUnitId: text("reporter_unit_id").notNull().references(() => units.id),
    reportedAt: ts("reported_at").notNull(),
    resolvedAt: ts("resolved_at"),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [index("incidents_status_idx").on(t.status)],
);

// Each report on an incident, in order: initial (首报), progress (续报), result (处置结果, closes it).
export const incidentReports = pgTable(
  "incident_reports",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    incidentId: bigint("incident_id", { mode: "number" }).notNull().references(() => incidents.id),
    kind: text("kind").notNull(),
    text: text("text").notNull(),
    reportedBy: text("reported_by").notNull().references(() => users.id),
    reportedAt: ts("reported_at").notNull(),
  },
  (t) => [index("incident_reports_incident_idx").on(t.incidentId)],
);

// 平台变更 / 检修公告 (000 8.4; 002 第三十条): a planned upgrade, change or maintenance window announced by the
// provider beforehand. status: announced | cancelled | completed.
export const maintenanceNotices = pgTable(
  "maintenance_notices",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    // upgrade (升级) | change (优化调整) | maintenance (检修)
    kind: text("kind").notNull(),
    title: text("title").notNull(),
    windowStart: ts("window_start").notNull(),
    windowEnd: ts("window_end").notNull(),
    impact: text("impact").notNull(),
    verification: text("verification"),
    rollback: text("rollback"),
    affectedUnits: jsonb("affected_units").$type<string[]>().notNull(),
    affectedResources: jsonb("affected_resources").$type<number[]>().notNull(),
    status: text("status").notNull(),
    result: text("result"),
    cancelReason: text("cancel_reason"),
    announcedBy: text("announced_by").notNull().references(() => users.id),
    announcedAt: ts("announced_at").notNull(),
    closedBy: text("closed_by").references(() => users.id),
    closedAt: ts("closed_at"),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [index("maintenance_notices_window_idx").on(t.windowStart)],
);
