import { applicationFormSchema } from "../flows/application/form";
import { computeTotals } from "../flows/application/service";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { asc, eq, sql } from "drizzle-orm";
import { rowsOf, type Db } from "../db/client";
import { expect } from "vitest";
import { planConsents, requests, resources } from "../db/schema";
import { addCalendarDays, builtinSchedules, shanghaiDate, WorkCalendar } from "../src/core/calendar";
import { loadCalendar } from "../src/calendar/store";
import type { ServiceContext } from "../src/core/context";
import { demoDirectory } from "../src/directory/demo";
import { applicantsOf, DEMO_SYSTEM, registerDemoSystems } from "../src/systems/demo";
import { importDirectory } from "../src/directory/import";
import { createToken } from "../src/directory/tokens";
import { STAGE_DECISIONS } from "../src/engine";
import { createApp, type AppDeps } from "../src/http/app";
import { channelMounts } from "../src/channels";
import type { ChannelMount } from "../src/channels/types";
import { createTestDatabase } from "./harness";
import { DEFAULT_PROFILE, type ProfileKey } from "../profiles";

/** A clock tests move by hand, so deadlines and timers are exact. */
export function manualClock(iso: string) {
  let now = new Date(iso);
  return {
    now: () => new Date(now.getTime()),
    set(next: string) {
      now = new Date(next);
    },
  };
}

/** Asserts the status (showing the body when it differs) and returns the body. */
export function ok(res: { status: number; body: any }, status = 200) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  return res.body;
}

/** Rows in every table of the schema: what a step that must write nothing leaves as it was. */
export async function rowCounts(db: Db): Promise<Record<string, number>> {
  const tables = rowsOf<{ name: string }>(
    await db.execute(sql`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1`),
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    const [row] = rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from ${sql.identifier(name)}`));
    counts[name] = row!.n;
  }
  return counts;
}

/**
 * The example application (examples/application.json, 梅州's 附件2); for 韶关 or 徽州 with the blanks their own
 * annex adds filled in (002 附件1: 申请期限, 项目名称, 维护单位性质, 服务器类型; 001 附件1: 单位性质, 负责人, the
 * ticked 申请单位承诺). Their documents (安全责任书, 系统建设批复) are uploaded by each test.
 */
export function sampleForm(profile?: ProfileKey) {
  const form = JSON.parse(readFileSync(new URL("../examples/application.json", import.meta.url), "utf8"));
  if (profile === "shaoguan") {
    form.term = { kind: "until", until: "2029-12-31" };
    form.projectName = "梅县区教育资助管理系统迁移上云项目";
    form.maintainer.nature = "outsourced";
    for (const vm of form.vms) vm.serverType = "云主机（通用型）";
  }
  if (profile === "huizhou") {
    form.unitNature = "organ";
    form.leader = { name: "王局长", mobile: "13800000009" };
    form.declaration = { agreed: true };
  }
  return form;
}

/**
 * The form with its 立项方案 totals raised to what it asks for, for tests of other rules that enlarge the
 * example: 梅州 refuses a first application over its plan (004 第十三条(二)2).
 */
export function coveredByPlan<F extends { plan: Record<string, unknown> }>(form: F): F {
  // Counted on the form as the schema completes it (a PaaS row's quantity defaults to 1); an invalid form is left
  // for its own refusal.
  const parsed = applicationFormSchema.safeParse(form);
  if (!parsed.success) return form;
  const { vcpu, memoryGb, storageGb } = computeTotals(parsed.data);
  form.plan.plannedTotals = { vcpu, memoryGb, storageGb };
  return form;
}

/**
 * A filled-in 附件6 (《…迁云上云安全检测申请表》, 004 第十七条(二)): what 梅州's 申请上线前安全检测 is approved with.
 * Its 部署完成日期 defaults to a day before the harness clock's start; pass one for a clock moved on.
 */
export const securityTestForm = (over: Record<string, unknown> = {}) => ({
  deployedOn: "2026-11-20",
  accessAddress: "https://jyzz.meixian.gov.cn",
  ports: "443,8443",
  mlpsLevel: 2,
  cryptoUse: "采用 SM2/SM3/SM4 国产商用密码算法：SSL 证书与数据库字段加密",
  contact: { name: "李华", mobile: "13800000001" },
  ...over,
});

/** A real, small PDF (the README's example plan): what tests upload as a document. */
export const samplePdf = () => new Uint8Array(readFileSync(new URL("../examples/plan.pdf", import.meta.url)));

type ExtraUser = { id: string; name: string; unit: string; roles: string[] };

/**
 * A database seeded with the demo directory (plus any extra users), a token for every user, the real Hono
 * app over it, and helpers to call the API as a given user.
 */
export async function createTestApp(
  opts: { now?: string; profile?: ProfileKey; extraUsers?: ExtraUser[]; channels?: ChannelMount[]; access?: AppDeps["access"] } = {},
) {
  const database = await createTestDatabase();
  const clock = manualClock(opts.now ?? "2026-11-23T01:00:00Z"); // Monday 09:00 in Shanghai
  let calendar = new WorkCalendar(builtinSchedules());
  const profile = opts.profile ?? DEFAULT_PROFILE;
  const ctx = (): ServiceContext => ({ db: database.db, clock, calendar, profile, actor: null, channel: "cli" });
  const extra = (opts.extraUsers ?? []).map((u, i) => ({ ...u, mobile: `1390000${String(i).padStart(4, "0")}` }));
  await importDirectory({ ctx: ctx(), input: { units: demoDirectory.units, users: [...demoDirectory.users, ...extra] } });
  // The example's system is registered for every unit with an applicant, so any of them may file the example
  // (梅州 takes applications only for registered systems, 004 第二条).
  await registerDemoSystems(ctx(), applicantsOf([...demoDirectory.users, ...extra]));
  const tokens: Record<string, string> = {};
  // Tests move the clock months ahead; the tokens outlast them (tokens expire after 90 days by default).
  for (const u of [...demoDirectory.users, ...extra])
    tokens[u.id] = (await createToken({ ctx: ctx(), input: { userId: u.id, expires: "3650d" } })).token;
  const app = createApp({
    db: database.db,
    clock,
    calendar: () => calendar,
    profile,
    log: () => {},
    channels: channelMounts(opts.channels ?? []),
    access: opts.access,
    // As the service's calendar store does (jobs/runner calendarStore): a year loaded through the API or the portal counts at once.
    refreshCalendar: async () => {
      calendar = await loadCalendar(database.db);
    },
  });

  async function call(user: string | null, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await app.request(path, {
      method,
      headers: {
        ...(user ? { authorization: `Bearer ${tokens[user]}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, body: json };
  }

  /** POST /api/files as `user`, multipart as a browser or curl -F sends it: the example PDF unless content is given. */
  async function upload(user: string | null, opts: { name?: string; purpose?: string; content?: Uint8Array; headers?: Record<string, string> } = {}) {
    const form = new FormData();
    form.set("file", new File([opts.content ?? samplePdf()], opts.name ?? "plan.pdf"));
    if (opts.purpose !== "") form.set("purpose", opts.purpose ?? "plan");
    const res = await app.request("/api/files", {
      method: "POST",
      headers: { ...(user ? { authorization: `Bearer ${tokens[user]}` } : {}), ...opts.headers },
      body: form,
    });
    const text = await res.text();
    return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : text };
  }

  /** A document for form.attachments: a PDF uploaded by `user` (the submitter, or someone of their unit). */
  async function attachment(user: string, purpose: string, name = `${purpose}.pdf`) {
    const file = ok(await upload(user, { name, purpose }), 201);
    return { purpose, fileId: file.id as string };
  }

  /** Puts a system of `user`'s unit on the register (004 第二条), as the unit does before applying for it. */
  async function registerSystem(user: string, name: string, kind: "migration" | "new" = "migration") {
    return ok(await call(user, "POST", "/api/systems", { name, kind, approvalRef: "梅市发改投审〔2025〕8 号", nonClassified: true }), 201) as { id: number };
  }

  /**
   * 004 第四十条: records a 商用密码应用安全性评估 on the example system of `user`'s unit (registered for every
   * applicant's unit above), as the unit does before applying for the security test (004 第七条(三)).
   */
  async function recordCryptoAssessment(user: string, crypto: { assessedOn?: string; result?: "pass" | "basic" | "fail" } = {}) {
    const listed = ok(await call(user, "GET", "/api/systems")).systems as { id: number; name: string; unitId: string }[];
    const mine = listed.find((s) => s.name === DEMO_SYSTEM.name);
    if (!mine) throw new Error(`${user} has no registered ${DEMO_SYSTEM.name}`);
    return ok(await call(user, "PATCH", `/api/systems/${mine.id}`, { crypto: { assessedOn: crypto.assessedOn ?? "2025-12-15", result: crypto.result ?? "pass" } }));
  }

  /**
   * The example system's 等保 测评 with its report and a 密评 符合 on the register, dated before today: what 巴中 asks
   * before its cutover or go-live (003 第三十三条 as issue 14 reads it).
   */
  async function recordSecurityAssessments(user: string) {
    const listed = ok(await call(user, "GET", "/api/systems")).systems as { id: number; name: string }[];
    const mine = listed.find((s) => s.name === DEMO_SYSTEM.name);
    if (!mine) throw new Error(`${user} has no registered ${DEMO_SYSTEM.name}`);
    const day = addCalendarDays(shanghaiDate(clock.now()), -1);
    const report = ok(await upload(user, { name: "等保测评报告.pdf", purpose: "mlps_report" }), 201);
    return ok(
      await call(user, "PATCH", `/api/systems/${mine.id}`, {
        mlps: { level: 2, filedOn: day, recordNo: "51190099001-00001", testedOn: day, fileId: report.id },
        crypto: { assessedOn: day, result: "pass" },
      }),
    );
  }

  /**
   * 巴中 003 第十四条: the city government's consent of a year's plan (this year's by default), holding every
   * applicant unit's demand at figures no test reaches, so that applications that year are 列入年度计划 and go
   * straight on from the technical review. Tests of the consent itself record it through the API.
   */
  async function planConsented(year = Number(shanghaiDate(clock.now()).slice(0, 4))) {
    const unitIds = [...new Set(applicantsOf([...demoDirectory.users, ...extra]).map((u) => u.unit))];
    await database.db.insert(planConsents).values({
      year,
      docNo: `巴府阅〔${year - 1}〕1 号`,
      consentedOn: `${year - 1}-12-20`,
      units: unitIds.map((unitId) => ({ unitId, vcpu: 100_000, memoryGb: 1_000_000, storageGb: 10_000_000 })),
      recordedBy: "zhangwei",
      recordedAt: new Date(`${year - 1}-12-20T02:00:00Z`),
    }).onConflictDoNothing();
  }

  const submit = (user: string, form: unknown, headers?: Record<string, string>) => call(user, "POST", "/api/requests", { form }, headers);

  /**
   * A decision as a client that has just read the request sends it: bound to the stage it saw (the API requires
   * `stage` or `stageRunId`). Tests of the binding itself call the API directly.
   */
  async function boundToCurrentStage(id: number | string, action: Record<string, unknown>) {
    if (!STAGE_DECISIONS.has(String(action.action)) || action.stage !== undefined || action.stageRunId !== undefined) return action;
    const [row] = await database.db
      .select({ stage: requests.currentStage })
      .from(requests)
      .where(typeof id === "number" || /^\d+$/.test(id) ? eq(requests.id, Number(id)) : eq(requests.code, id.toUpperCase()));
    return row?.stage ? { ...action, stage: row.stage } : action;
  }
  const act = async (user: string, id: number | string, action: Record<string, unknown>, headers?: Record<string, string>) =>
    call(user, "POST", `/api/requests/${id}/actions`, await boundToCurrentStage(id, action), headers);

  /** Each [user, action] in turn, every one expected to succeed. */
  async function actInTurn(id: number, steps: [string, Record<string, unknown>][]) {
    for (const [user, action] of steps) ok(await act(user, id, action));
  }

  /**
   * The example application by `applicant`, walked to delivery along the app's profile's sequence (`profile`, the
   * app's by default: a server runs one): the request's id and the resources delivered, in the form's order.
   * - 梅州: a county unit's through its county bureau first, then 需求评估, 审批 and 资源开通 (004 第十二—十五条);
   *   the request waits at 备份有效性核验.
   * - 韶关: with the 安全责任书 (附件2), a county unit's through its 县级初审, then 审核 and 资源下发, and the unit
   *   confirms the delivery (002 第十九—二十三条); the request waits at 系统部署.
   * - 徽州: with the 系统建设批复, 受理, 审核意见 and 配置测试资源 (001 第十二、十三条); it waits at 系统测试.
   * - 巴中: with the 系统迁移方案, 技术论证与资源配额 and 资源配置 (003 第十五—十八条), the year's plan consented
 *   (planConsented); it waits at 系统部署.
   * - 高创中心: 申请审核 and 资源开通 (000 7.2.1); it waits at 部署、测试与安全风险预评估.
   * Outside 梅州 the form's 立项方案 totals are raised to what it asks for (coveredByPlan), as those profiles' tests do.
   */
  async function deliverApplication(applicant: string, walked: ProfileKey = profile) {
    if (walked !== profile) throw new Error(`the app runs ${profile}; it cannot walk a ${walked} application`);
    const form = profile === "meizhou" ? sampleForm() : coveredByPlan(sampleForm(profile));
    const document = { shaoguan: "security_pledge", huizhou: "project_approval", bazhong: "plan" }[profile as string];
    if (document) form.attachments.push(await attachment(applicant, document));
    // 巴中's walk is of a planned application (003 第十四条): the year's plan is consented unless a test did it.
    if (profile === "bazhong") await planConsented();
    const submitted = ok(await submit(applicant, form), 201);
    const county = (submitted.currentStage === "county_review" ? [["huangmin", { action: "approve" }]] : []) as [string, Record<string, unknown>][];
    const steps: Record<ProfileKey, [string, Record<string, unknown>][]> = {
      meizhou: [...county, ["xufeng", { action: "approve", note: "配置合理" }], ["zhangwei", { action: "approve" }], ["linna", { action: "approve", note: "已开通" }]],
      shaoguan: [...county, ["zhangwei", { action: "approve" }], ["xufeng", { action: "approve", note: "已下发" }], [applicant, { action: "confirm" }]],
      huizhou: [["zhangwei", { action: "approve" }], ["chenjing", { action: "approve" }], ["xufeng", { action: "approve" }]],
      bazhong: [["zhangwei", { action: "approve", note: "论证通过" }], ["xufeng", { action: "approve" }]],
      gaochuang: [["zhangwei", { action: "approve" }], ["xufeng", { action: "approve", note: "已开通" }]],
    };
    await actInTurn(submitted.id, steps[profile]);
    const delivered = await database.db.select().from(resources).where(eq(resources.requestId, submitted.id)).orderBy(asc(resources.id));
    return { id: submitted.id as number, resources: delivered };
  }

  return {
    database,
    db: database.db,
    clock,
    app,
    tokens,
    ctx,
    setCalendar(next: WorkCalendar) {
      calendar = next;
    },
    call,
    upload,
    attachment,
    registerSystem,
    recordCryptoAssessment,
    recordSecurityAssessments,
    planConsented,
    submit,
    act,
    show: (user: string, id: number | string) => call(user, "GET", `/api/requests/${id}`),
    actInTurn,
    deliverApplication,
    close: () => database.close(),
  };
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/** The app on a loopback port of its own, for tests that need a real socket (fetch, curl, a PAM script). */
export async function serveOnLoopback(fetch: (request: Request) => Response | Promise<Response>): Promise<{ base: string; close(): Promise<void> }> {
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
