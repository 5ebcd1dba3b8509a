import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { outbox, resources, units, yearlyDemands } from "../db/schema";
import { remindYearlyDemand } from "../src/resources/demand";
import { demoDirectory, demoSupervision } from "../src/directory/demo";
import { importDirectory, type DirectoryFileInput } from "../src/directory/import";
import { createToken } from "../src/directory/tokens";
import { ServiceError } from "../src/core/errors";
import { coveredByPlan, ok, rowCounts, sampleForm } from "./app-harness";
import { createWebTestApp, type WebTestApp } from "./web-harness";

// 主管单位 and 下属单位 (002 第十七条, 第二十三条, 附件1), under the 韶关 profile. The demo's 主管单位 part (demoSupervision,
// which `yunshen demo` loads) names 梅州市教育考试院 (冯雨, applicant) a 下属单位 of 梅州市教育局 (宋涛, 主管单位审核人); this
// file adds a county 下属单位, 梅县区教师发展中心 (陈鹏), of 梅县区教育局 (刘红). The dates cross 国庆 2026 (10-01 … 10-07 off, Saturday 10-10 a working day).
let t: WebTestApp;

const countySubordinate = {
  units: [{ id: "mx-jsfz", name: "梅州市梅县区教师发展中心", kind: "unit", parent: "mx-sjj", supervisor: "mx-jyj" }],
  users: [
    { id: "liuhong", name: "刘红", unit: "mx-jyj", mobile: "13807530073", roles: ["unit_supervisor"] },
    // A second 主管单位审核人 of 梅州市教育局, to hand the 初审 to.
    { id: "wuxia", name: "吴霞", unit: "mz-jyj", mobile: "13807530075", roles: ["unit_supervisor"] },
    { id: "chenpeng", name: "陈鹏", unit: "mx-jsfz", mobile: "13807530074", roles: ["applicant"] },
  ],
} satisfies DirectoryFileInput;

beforeAll(async () => {
  t = await createWebTestApp({ profile: "shaoguan", now: "2026-09-21T01:00:00Z" }); // Monday 09:00
  // The directory as `yunshen demo` loads it (the harness seeds demoDirectory alone), then the county 下属单位.
  ok(await t.call("zhoumin", "POST", "/api/admin/directory/import", { units: [...demoDirectory.units, ...demoSupervision.units], users: demoSupervision.users }));
  await importDirectory({ ctx: t.ctx(), input: countySubordinate });
  for (const u of [...demoSupervision.users, ...countySubordinate.users]) t.tokens[u.id] = (await createToken({ ctx: t.ctx(), input: { userId: u.id, expires: "3650d" } })).token;
});
afterAll(() => t?.close());

/** The directory file's refusal: its fields, each with its messages. */
async function refusedImport(input: unknown): Promise<Record<string, string[]>> {
  const before = await rowCounts(t.db);
  try {
    await importDirectory({ ctx: t.ctx(), input });
  } catch (err) {
    if (!(err instanceof ServiceError)) throw err;
    expect(err.code).toBe("invalid_input");
    // Nothing written but the audited refusal.
    expect({ ...(await rowCounts(t.db)), audit_log: 0 }).toEqual({ ...before, audit_log: 0 });
    return err.fields ?? {};
  }
  throw new Error("the import was not refused");
}

/** A 韶关 application (with its 安全责任书, 附件2) by `user`: its id. */
async function apply(user: string) {
  const form = sampleForm("shaoguan");
  form.attachments.push(await t.attachment(user, "security_pledge"));
  return ok(await t.submit(user, coveredByPlan(form)), 201).id as number;
}

const holders = (detail: { currentStage: { tasks: { userId: string }[] } }) => detail.currentStage.tasks.map((x) => x.userId).sort();
const passed = (detail: { stages: { stage: string }[] }) => detail.stages.map((s) => s.stage);

/** The request page's text as the reader sees it (tags dropped). */
async function pageText(user: string, code: string) {
  const a = await t.signedIn(user);
  const page = await a.get(`/requests/${code}`);
  expect(page.status).toBe(200);
  return page.html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
}

describe("002 第二十三条: the directory says who is a 下属单位's 主管单位", () => {
  test("002 第二十三条: a unit names its 主管单位 (a file without the field keeps working and changes nothing of it); the API shows it", async () => {
    const listed = ok(await t.call("zhangwei", "GET", "/api/directory/units")).items as { id: string; supervisorId: string | null }[];
    expect(listed.find((u) => u.id === "mz-jyksy")?.supervisorId).toBe("mz-jyj");
    expect(listed.find((u) => u.id === "mx-jsfz")?.supervisorId).toBe("mx-jyj");
    expect(listed.find((u) => u.id === "mz-jyj")?.supervisorId).toBeNull();
    // An older file, without supervisor: the 主管单位 stays.
    const again = await importDirectory({ ctx: t.ctx(), input: { units: [{ id: "mz-jyksy", name: "梅州市教育考试院" }] } });
    expect(again.units).toEqual({ created: 0, updated: 0, unchanged: 1 });
    const [row] = await t.db.select().from(units).where(eq(units.id, "mz-jyksy"));
    expect(row!.supervisorId).toBe("mz-jyj");
    // A new 主管单位 named in the same file as its 下属单位, after it, is fine; and null clears it.
    const created = await importDirectory({
      ctx: t.ctx(),
      input: {
        units: [
          { id: "mz-jyksy-a", name: "梅州市教育考试院附属单位", kind: "unit", parent: "mz-sjj", supervisor: "mz-wtj" },
          { id: "mz-wtj", name: "梅州市文化广电旅游体育局", kind: "unit", parent: "mz-sjj" },
        ],
      },
    });
    expect(created.units.created).toBe(2);
    expect((await t.db.select().from(units).where(eq(units.id, "mz-jyksy-a")))[0]!.supervisorId).toBe("mz-wtj");
    const cleared = await importDirectory({ ctx: t.ctx(), input: { units: [{ id: "mz-jyksy-a", supervisor: null }] } });
    expect(cleared.units.updated).toBe(1);
    expect((await t.db.select().from(units).where(eq(units.id, "mz-jyksy-a")))[0]!.supervisorId).toBeNull();
  });

  test("002 第二十三条: a cycle, an unknown unit, a county or city 主管单位, itself, another level's unit and a second level are refused, each at its row, and nothing is written", async () => {
    const cycle = await refusedImport({
      units: [
        { id: "mz-a", name: "甲单位", kind: "unit", parent: "mz-sjj", supervisor: "mz-b" },
        { id: "mz-b", name: "乙单位", kind: "unit", parent: "mz-sjj", supervisor: "mz-a" },
      ],
    });
    expect(cycle["units[0].supervisor"]).toEqual(["主管单位关系形成循环：mz-a → mz-b → mz-a"]);
    expect(cycle["units[1].supervisor"]).toEqual(["主管单位关系形成循环：mz-b → mz-a → mz-b"]);

    const unknown = await refusedImport({ units: [{ id: "mz-jyksy", supervisor: "mz-nowhere" }] });
    expect(unknown).toEqual({ "units[0].supervisor": ["主管单位 mz-nowhere 不存在（文件和现有通讯录中都没有）"] });

    const county = await refusedImport({ units: [{ id: "mx-jsfz", supervisor: "mx-sjj" }] });
    expect(county).toEqual({ "units[0].supervisor": ["主管单位应为普通单位（unit），mx-sjj 是县级单位（county）"] });

    const self = await refusedImport({ units: [{ id: "mz-jyj", supervisor: "mz-jyj" }] });
    expect(self).toEqual({ "units[0].supervisor": ["不能以自身为主管单位"] });

    // A city-level 业务部门 is no 主管单位 of a county unit: 本级 (第二十三条).
    const level = await refusedImport({ units: [{ id: "mx-jsfz", supervisor: "mz-jyj" }] });
    expect(level["units[0].supervisor"]![0]).toContain("下属单位应与主管单位同属一个上级单位");

    const twoLevels = await refusedImport({ units: [{ id: "mz-zrzyj", supervisor: "mz-jyksy" }] });
    expect(twoLevels).toEqual({ "units[0].supervisor": ["主管单位 mz-jyksy 本身是 mz-jyj 的下属单位；主管关系只设一级"] });

    // A 主管单位 that would become a 下属单位 itself: its existing 下属单位 is told at its row.
    const upstream = await refusedImport({ units: [{ id: "mz-jyj", supervisor: "mz-rsj" }] });
    expect(upstream["units[0].id"]).toEqual(["现有下属单位 mz-jyksy 将不符合要求：主管单位 mz-jyj 本身是 mz-rsj 的下属单位；主管关系只设一级"]);

    // 主管单位审核人 sit in a 业务部门 (kind unit).
    const role = await refusedImport({ users: [{ id: "huangmin", roles: ["county_bureau", "unit_supervisor"] }] });
    expect(role["users[0].roles"]![0]).toContain("角色 unit_supervisor（主管单位审核人）只能授予普通单位（unit）的用户");
  });
});

describe("002 第二十三条: a 下属单位's requests pass its 主管单位's 初审", () => {
  test("002 第二十三条, 附件1: a 下属单位's application is pre-reviewed by its 主管单位 (1 wd), then reviewed by the city's (5 wd), across 国庆; the 主管部门审核意见 is on the page", async () => {
    t.clock.set("2026-09-30T02:00:00Z"); // Wednesday, the last working day before 国庆
    const id = await apply("fengyu");
    let detail = ok(await t.show("fengyu", id));
    // 1 wd from 09-30: 10-08, after 国庆.
    expect(detail.currentStage).toMatchObject({ stage: "supervisor_review", name: "主管单位初审", deadlineAt: "2026-10-08T15:59:59.999Z" });
    expect(holders(detail)).toEqual(["songtao", "wuxia"]);
    expect(detail.unit).toMatchObject({ id: "mz-jyksy", county: null, supervisor: { id: "mz-jyj", name: "梅州市教育局" } });
    // The city does not decide before the 主管单位 has.
    expect((await t.act("zhangwei", id, { action: "approve", stage: "supervisor_review" })).status).toBeGreaterThanOrEqual(403);
    // The 主管单位审核人 sees its 下属单位's request; another unit's applicant does not.
    expect((await t.show("songtao", id)).status).toBe(200);
    expect((await t.show("yangfan", id)).status).toBe(404);

    t.clock.set("2026-10-08T02:00:00Z");
    ok(await t.act("songtao", id, { action: "approve", note: "材料齐全，同意报送" }));
    detail = ok(await t.show("fengyu", id));
    // 002 第二十条: 5 wd from Thursday 10-08: 10-09, 10-10 (Saturday, 调休), 10-12, 10-13, 10-14.
    expect(detail.currentStage).toMatchObject({ stage: "approve", deadlineAt: "2026-10-14T15:59:59.999Z" });
    expect(holders(detail)).toEqual(["chenjing", "zhangwei"]);
    t.clock.set("2026-10-12T02:00:00Z");
    ok(await t.act("zhangwei", id, { action: "approve", note: "同意" }));
    detail = ok(await t.show("fengyu", id));
    expect(passed(detail)).toEqual(["supervisor_review", "approve", "provision"]);

    // 附件1: 主管部门审核意见 with 审核人签名 and 日期, then the city's 审批意见; no county box for a city-level unit.
    const text = await pageText("fengyu", detail.code);
    expect(text).toContain("（主管单位：梅州市教育局）");
    expect(text).toContain("审核意见（附件1）");
    expect(text).toMatch(/主管部门审核意见（梅州市教育局） 同意：材料齐全，同意报送 审核人签名：宋涛\s?日期：2026-10-08/);
    expect(text).toMatch(/韶关市政务服务数据管理部门审批意见 同意：同意 审核人签名：张伟\s?日期：2026-10-12/);
    expect(text).not.toContain("县(市、区)政务服务数据管理部门审核意见");
    expect(text.indexOf("主管部门审核意见")).toBeLessThan(text.indexOf("韶关市政务服务数据管理部门审批意见"));
  });

  test("002 第二十三条: the 主管单位's 初审 may refuse; the city never sees it to decide; the refusal is the 主管部门审核意见", async () => {
    t.clock.set("2026-10-13T02:00:00Z");
    const id = await apply("fengyu");
    // Nobody else of the city or of another unit may decide for the 主管单位.
    expect((await t.act("huangmin", id, { action: "reject", reason: "越权" })).status).toBeGreaterThanOrEqual(403);
    ok(await t.act("songtao", id, { action: "reject", reason: "与已有考试系统重复建设" }));
    const detail = ok(await t.show("fengyu", id));
    expect(detail.status).toBe("rejected");
    expect(passed(detail)).toEqual(["supervisor_review"]);
    const text = await pageText("songtao", detail.code);
    expect(text).toMatch(/主管部门审核意见（梅州市教育局） 驳回：与已有考试系统重复建设 审核人签名：宋涛\s?日期：2026-10-13/);
    expect(text).not.toContain("韶关市政务服务数据管理部门审批意见");
  });

  test("002 第二十三条, 附件1: a county 下属单位 passes its 主管单位 first, then its county bureau, then the city, in the order of 附件1's boxes", async () => {
    t.clock.set("2026-10-14T02:00:00Z"); // Wednesday
    const id = await apply("chenpeng");
    let detail = ok(await t.show("chenpeng", id));
    expect(detail.currentStage).toMatchObject({ stage: "supervisor_review", deadlineAt: "2026-10-15T15:59:59.999Z" });
    expect(holders(detail)).toEqual(["liuhong"]);
    // The other 主管单位's reviewer is not this one's.
    expect((await t.act("songtao", id, { action: "approve" })).status).toBeGreaterThanOrEqual(403);
    ok(await t.act("liuhong", id, { action: "approve", note: "同意" }));
    detail = ok(await t.show("chenpeng", id));
    expect(detail.currentStage).toMatchObject({ stage: "county_review", name: "县级初审" });
    expect(holders(detail)).toEqual(["huangmin"]);
    ok(await t.act("huangmin", id, { action: "approve", note: "同意上报" }));
    ok(await t.act("zhangwei", id, { action: "approve" }));
    detail = ok(await t.show("chenpeng", id));
    expect(passed(detail)).toEqual(["supervisor_review", "county_review", "approve", "provision"]);
    const text = await pageText("chenpeng", detail.code);
    const at = ["主管部门审核意见（梅州市梅县区教育局）", "县(市、区)政务服务数据管理部门审核意见", "韶关市政务服务数据管理部门审批意见"].map((box) => text.indexOf(box));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(text).toContain("审核人签名：刘红");
  });

  test("002 第二十二、二十三条: a 下属单位's cancellation passes its 主管单位's 初审, then the city reviews and the provider reclaims", async () => {
    t.clock.set("2026-10-15T02:00:00Z"); // Thursday
    const applied = await apply("fengyu");
    await t.actInTurn(applied, [
      ["songtao", { action: "approve" }],
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve", note: "已下发" }],
      ["fengyu", { action: "confirm" }],
    ]);
    const [vm] = await t.db.select().from(resources).where(eq(resources.requestId, applied)).orderBy(asc(resources.id));
    t.clock.set("2026-10-16T02:00:00Z"); // Friday
    const form = { resources: [vm!.id], reason: "考试系统迁移至省平台", offline: true, dataMigrated: true };
    const { id } = ok(await t.call("fengyu", "POST", "/api/requests", { flow: "revocation", form }), 201);
    let detail = ok(await t.show("fengyu", id));
    // 1 wd from Friday 10-16: Monday 10-19.
    expect(detail.currentStage).toMatchObject({ stage: "supervisor_review", name: "主管单位初审", deadlineAt: "2026-10-19T15:59:59.999Z" });
    expect(holders(detail)).toEqual(["songtao", "wuxia"]);
    ok(await t.act("songtao", id, { action: "approve", note: "同意注销" }));
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
    ]);
    detail = ok(await t.show("fengyu", id));
    expect(detail.status).toBe("completed");
    expect(passed(detail)).toEqual(["supervisor_review", "approve", "revoke"]);
    expect((await t.db.select().from(resources).where(eq(resources.id, vm!.id)))[0]!.status).toBe("revoked");
    // A cancellation the provider starts for the 下属单位 is not the unit's own application: no 主管单位初审.
    const again = await apply("fengyu");
    await t.actInTurn(again, [
      ["songtao", { action: "approve" }],
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve", note: "已下发" }],
      ["fengyu", { action: "confirm" }],
    ]);
    const [other] = await t.db.select().from(resources).where(eq(resources.requestId, again)).orderBy(asc(resources.id));
    const proposed = ok(await t.call("xufeng", "POST", "/api/requests", { flow: "revocation", form: { resources: [other!.id], reason: "长期闲置" } }), 201);
    expect(ok(await t.show("fengyu", proposed.id)).currentStage.stage).toBe("prepare");
    ok(await t.act("fengyu", proposed.id, { action: "confirm" }));
    expect(ok(await t.show("fengyu", proposed.id)).currentStage.stage).toBe("approve");
  });
});

describe("002 第二十三条: changes of a 下属单位 (变更, 用途变更) pass its 主管单位 too", () => {
  /** A 韶关 application by 冯雨 walked to delivery through 宋涛's 初审 (as 吴霞 may too): its first VM's id. */
  async function deliveredVm() {
    const applied = await apply("fengyu");
    await t.actInTurn(applied, [
      ["songtao", { action: "approve" }],
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve", note: "已下发" }],
      ["fengyu", { action: "confirm" }],
    ]);
    const [vm] = await t.db.select().from(resources).where(eq(resources.requestId, applied)).orderBy(asc(resources.id));
    return vm!.id;
  }

  test("002 第二十一、二十三条: a 下属单位's change returned by its 主管单位 comes back to the 主管单位 when resubmitted, then goes to the city's review", async () => {
    t.clock.set("2026-10-19T02:00:00Z"); // Monday
    const vm = await deliveredVm();
    const { id } = ok(await t.call("fengyu", "POST", "/api/requests", { flow: "adjustment", form: { direction: "down", resource: vm, to: { vcpu: 2 }, reason: "考试季后负载下降" } }), 201);
    expect(ok(await t.show("fengyu", id)).currentStage).toMatchObject({ stage: "supervisor_review", deadlineAt: "2026-10-20T15:59:59.999Z" });
    ok(await t.act("songtao", id, { action: "return", reason: "请写明缩容后的峰值测算" }));
    ok(await t.act("fengyu", id, { action: "resubmit", note: "已补充测算" }));
    let detail = ok(await t.show("fengyu", id));
    expect(detail.currentStage.stage).toBe("supervisor_review");
    expect(holders(detail)).toEqual(["songtao", "wuxia"]);
    // 吴霞, another 主管单位审核人 of 梅州市教育局, decides this time.
    ok(await t.act("wuxia", id, { action: "approve", note: "同意变更" }));
    detail = ok(await t.show("fengyu", id));
    expect(detail.currentStage.stage).toBe("approve");
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
    ]);
    detail = ok(await t.show("fengyu", id));
    expect(detail.status).toBe("completed");
    expect(passed(detail)).toEqual(["supervisor_review", "revise", "supervisor_review", "approve", "adjust"]);
  });

  test("002 第二十三条: a county unit's change returned at 县级初审 comes back to the county bureau when resubmitted (the unit's place is read from the directory)", async () => {
    t.clock.set("2026-10-19T02:00:00Z");
    const applied = await apply("lihua");
    await t.actInTurn(applied, [
      ["huangmin", { action: "approve" }],
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve", note: "已下发" }],
      ["lihua", { action: "confirm" }],
    ]);
    const [vm] = await t.db.select().from(resources).where(eq(resources.requestId, applied)).orderBy(asc(resources.id));
    const { id } = ok(await t.call("lihua", "POST", "/api/requests", { flow: "adjustment", form: { direction: "down", resource: vm!.id, to: { vcpu: 2 }, reason: "负载下降" } }), 201);
    ok(await t.act("huangmin", id, { action: "return", reason: "请附利用率截图" }));
    ok(await t.act("lihua", id, { action: "resubmit" }));
    expect(ok(await t.show("lihua", id)).currentStage.stage).toBe("county_review");
  });

  test("002 第十五、二十三条: a 下属单位's 用途变更 passes its 主管单位's 初审; the 初审 is handed only within the 主管单位", async () => {
    t.clock.set("2026-10-20T02:00:00Z");
    const vm = await deliveredVm();
    const { id } = ok(await t.call("fengyu", "POST", "/api/requests", { flow: "purpose_change", form: { resources: [vm], purpose: "成绩查询服务器", reason: "报名系统下线后改作成绩查询" } }), 201);
    expect(ok(await t.show("fengyu", id)).currentStage).toMatchObject({ stage: "supervisor_review", name: "主管单位初审" });
    // 转交: to another 主管单位审核人 of the same 主管单位, not to another 主管单位's.
    const elsewhere = await t.act("songtao", id, { action: "transfer", toUserId: "liuhong" });
    expect(elsewhere.status).toBe(422);
    expect(elsewhere.body.error.message).toBe("只能转交给本主管单位的审核人");
    ok(await t.act("songtao", id, { action: "transfer", toUserId: "wuxia" }));
    const handed = ok(await t.show("fengyu", id)).currentStage.tasks as { userId: string; status: string }[];
    expect(handed.filter((x) => x.status === "pending").map((x) => x.userId)).toEqual(["wuxia"]);
    ok(await t.act("wuxia", id, { action: "approve" }));
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
    ]);
    const detail = ok(await t.show("fengyu", id));
    expect(detail.status).toBe("completed");
    expect(passed(detail)).toEqual(["supervisor_review", "approve", "change"]);
  });

  test("002 第二十三条: the preview names the 主管单位's reviewers for its 下属单位's 初审, and no such stage for other units", async () => {
    const form = sampleForm("shaoguan");
    form.attachments.push(await t.attachment("fengyu", "security_pledge"));
    const preview = ok(await t.call("fengyu", "POST", "/api/requests/preview", { flow: "application", form: coveredByPlan(form) }));
    expect(preview.stages[0]).toMatchObject({ stage: "supervisor_review", name: "主管单位初审", span: "1 个工作日" });
    expect(preview.stages[0].parties).toEqual([
      {
        party: "unit_supervisor",
        partyName: "主管单位",
        people: [
          { id: "songtao", name: "宋涛", unitName: "梅州市教育局" },
          { id: "wuxia", name: "吴霞", unitName: "梅州市教育局" },
        ],
      },
    ]);
    const other = sampleForm("shaoguan");
    other.attachments.push(await t.attachment("yangfan", "security_pledge"));
    const own = ok(await t.call("yangfan", "POST", "/api/requests/preview", { flow: "application", form: coveredByPlan(other) }));
    expect(own.stages.map((s: { stage: string }) => s.stage)).not.toContain("supervisor_review");
  });
});

describe("002 第十七条(一): 下属单位需求由主管单位统一汇总报送", () => {
  const put = (user: string, figures: Record<string, unknown>) => t.call(user, "PUT", "/api/demands/2027", figures);
  const overview = async (user: string) => ok(await t.call(user, "GET", "/api/demands/2027"));

  test("002 第十七条(一): a 下属单位's figures reach the city once its 主管单位 passes them on, with who passed them and when; a revision goes back", async () => {
    // After the application tests' dates: late (after 9 月 30 日) but taken, as the unit's figures are.
    t.clock.set("2026-10-20T02:00:00Z");
    ok(await put("fengyu", { vcpu: 16, memoryGb: 64, storageGb: 500, note: "考试报名系统" }));
    ok(await put("yangfan", { vcpu: 8, memoryGb: 16, storageGb: 200 }));
    // Not yet passed on: the city sees the city-level unit's figures only.
    expect((await overview("zhangwei")).units.map((u: { unitId: string }) => u.unitId)).toEqual(["mz-rsj"]);
    // The 主管单位审核人 sees its 下属单位's, waiting for it.
    const mine = await overview("songtao");
    expect(mine.units).toEqual([expect.objectContaining({ unitId: "mz-jyksy", vcpu: 16, supervisorId: "mz-jyj", supervisedAt: null })]);
    // Only a 主管单位审核人 passes 下属单位' figures on.
    const refused = await t.call("huangmin", "POST", "/api/demands/2027/aggregate");
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe("下属单位的年度资源需求由主管单位统一汇总报送（002 第十七条）");

    t.clock.set("2026-10-21T02:00:00Z");
    expect(ok(await t.call("songtao", "POST", "/api/demands/2027/aggregate"))).toEqual({ year: 2027, passed: 1, missing: [] });
    const city = await overview("zhangwei");
    const row = city.units.find((u: { unitId: string }) => u.unitId === "mz-jyksy");
    expect(row).toMatchObject({ supervisorId: "mz-jyj", supervisedBy: "宋涛", supervisedAt: "2026-10-21T02:00:00.000Z", passedAt: null });
    expect(city.supervisors).toEqual([{ supervisorId: "mz-jyj", units: 1, vcpu: 16, memoryGb: 64, storageGb: 500 }]);
    expect(city.total).toEqual({ vcpu: 24, memoryGb: 80, storageGb: 700 });

    // A revision by the 下属单位 has to be passed on again.
    ok(await put("fengyu", { vcpu: 20, memoryGb: 64, storageGb: 500 }));
    expect((await overview("zhangwei")).units.map((u: { unitId: string }) => u.unitId)).toEqual(["mz-rsj"]);
  });

  test("002 第十七条: a county 下属单位's figures pass its 主管单位, then its county bureau; the bureau's pass waits for the 主管单位's", async () => {
    t.clock.set("2026-10-22T02:00:00Z");
    ok(await put("chenpeng", { vcpu: 4, memoryGb: 8, storageGb: 100 }));
    ok(await put("lihua", { vcpu: 32, memoryGb: 96, storageGb: 800 }));
    // The county bureau does not see (nor pass) the 下属单位's figures before its 主管单位 has passed them on.
    expect((await overview("huangmin")).units.map((u: { unitId: string }) => u.unitId)).toEqual(["mx-jyj"]);
    expect(ok(await t.call("huangmin", "POST", "/api/demands/2027/pass")).passed).toBe(1);
    const [waiting] = await t.db.select().from(yearlyDemands).where(eq(yearlyDemands.unitId, "mx-jsfz"));
    expect(waiting!.passedAt).toBeNull();

    // The 主管单位 (梅县区教育局) passes them on, from the web page's button.
    const a = await t.signedIn("liuhong");
    const page = await a.get("/demands/2027");
    expect(page.status).toBe(200);
    expect(page.html).toContain("汇总报送下属单位需求");
    const posted = await a.post("/demands/2027/aggregate");
    expect(posted.status).toBe(303);
    expect(decodeURIComponent(posted.location!)).toContain("已汇总报送 1 个下属单位的需求");
    expect((await overview("huangmin")).units.map((u: { unitId: string }) => u.unitId).sort()).toEqual(["mx-jsfz", "mx-jyj"]);
    ok(await t.call("huangmin", "POST", "/api/demands/2027/pass"));
    const city = (await overview("zhangwei")).units.find((u: { unitId: string }) => u.unitId === "mx-jsfz");
    expect(city).toMatchObject({ supervisedBy: "刘红", passedBy: "黄敏" });
    // The manager's page says who passed each on.
    const manager = await (await t.signedIn("zhangwei")).get("/demands/2027");
    expect(manager.html).toContain("梅州市梅县区教育局 刘红");
    // The revised figures of 梅州市教育考试院 wait for its 主管单位 again, unseen by the city.
    expect(manager.html).not.toContain("梅州市教育考试院");
  });

  test("002 第十七条(一): from 20 September a 主管单位's 审核人 are told which 下属单位' figures wait to be passed on, once, and again after a revision", async () => {
    const told = async () =>
      (await t.db.select().from(outbox).where(eq(outbox.kind, "demand")))
        .filter((c) => c.dedupeKey.startsWith("demand:2028:aggregate:"))
        .map((c) => ({ user: c.userId, text: JSON.stringify(c.payload) }));
    t.clock.set("2027-09-01T02:00:00Z");
    ok(await t.call("fengyu", "PUT", "/api/demands/2028", { vcpu: 16, memoryGb: 64, storageGb: 500 }));
    // August's and early September's reminders are the units' own.
    await remindYearlyDemand(t.ctx());
    expect(await told()).toEqual([]);
    t.clock.set("2027-09-20T02:00:00Z");
    await remindYearlyDemand(t.ctx());
    await remindYearlyDemand(t.ctx());
    let cards = await told();
    expect(cards.map((c) => c.user).sort()).toEqual(["songtao", "wuxia"]);
    expect(cards[0]!.text).toContain("梅州市教育考试院已填报 2028 年的云资源需求，请于 2027 年 9 月 30 日前汇总报送（002 第十七条(一)）");
    // Passed on: nothing more to tell.
    ok(await t.call("songtao", "POST", "/api/demands/2028/aggregate"));
    t.clock.set("2027-09-22T02:00:00Z");
    await remindYearlyDemand(t.ctx());
    expect(await told()).toHaveLength(2);
    // Revised figures wait for the 主管单位 again, and it is told again.
    ok(await t.call("fengyu", "PUT", "/api/demands/2028", { vcpu: 20, memoryGb: 64, storageGb: 500 }));
    await remindYearlyDemand(t.ctx());
    cards = await told();
    expect(cards.map((c) => c.user).sort()).toEqual(["songtao", "songtao", "wuxia", "wuxia"]);
    // After 30 September the reminders stop.
    ok(await t.call("fengyu", "PUT", "/api/demands/2028", { vcpu: 24, memoryGb: 64, storageGb: 500 }));
    t.clock.set("2027-10-01T02:00:00Z");
    await remindYearlyDemand(t.ctx());
    expect(await told()).toHaveLength(4);
  });
});
