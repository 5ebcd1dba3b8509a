import { and, asc, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, outbox, requests, resources } from "../db/schema";
import { coveredByPlan, createTestApp, ok, rowCounts, sampleForm, type TestApp } from "./app-harness";
import { applicationForm, formForProfile, valuesFromInput } from "../src/channels/web/forms";
import { createWebTestApp, csrfIn, type WebTestApp } from "./web-harness";

/** The page's text without tags, so labels and values read as a person sees them. */
const textOf = (html: string) => html.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ");
import { shanghaiInstant } from "../src/core/calendar";

// 002 第二十一条 (韶关): "涉及重大变更的，须按本办法第十九条规定重新申请，有关工作完成后，原申请的资源应予以注销回收".
// A 变更 that more than doubles a resource's vCPU, memory or disk is 重大 (yunshen's reading, flows/adjustment/
// definition.ts): it is refused and the unit told to file a new 云资源申请 (第十九条, 附件1), which names the
// resources it replaces (form.replaces). Once the new system is live (有关工作完成: 资源下发, 部署, 安全检测 passed,
// 上线), a revocation of the replaced resources opens by itself, the unit's, and runs 韶关's 注销 (002 第二十二条):
// the unit takes the old system offline and migrates its data, the manager reviews within 5 working days, the
// provider reclaims within 3. The dates cross 国庆 2026 (10-01 … 10-07 off, the 调休 Saturday 10-10 a working day).

type Step = [string, Record<string, unknown>];
const holders = (detail: { currentStage: { tasks: { userId: string }[] } }) => detail.currentStage.tasks.map((x) => x.userId).sort();
const passed = (detail: { stages: { stage: string }[] }) => detail.stages.map((s) => s.stage);

describe("002 第二十一条: 韶关", () => {
  let t: WebTestApp;
  beforeAll(async () => {
    t = await createWebTestApp({ profile: "shaoguan", now: "2026-09-21T01:00:00Z" }); // Monday 09:00
  });
  afterAll(() => t?.close());

  const adjust = (user: string, resource: number, direction: "up" | "down", to: Record<string, number>) =>
    t.call(user, "POST", "/api/requests", { flow: "adjustment", form: { direction, resource, to, reason: "业务扩展" } });

  /** The 韶关 application form (with its 安全责任书, 附件2) by `user`, naming the resources it replaces. */
  async function reapplication(user: string, replaces: number[]) {
    const form = coveredByPlan(sampleForm("shaoguan"));
    form.systemName = "韶关市人社业务系统（重建）";
    form.attachments.push(await t.attachment(user, "security_pledge"));
    return t.submit(user, { ...form, replaces });
  }

  /** The new application walked from the review to 上线, the last step at `liveAt` (韶关's sequence, 002 第十九、二十条, 第三十五条). */
  async function walkToLive(id: number, user: string, liveAt: string) {
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve", note: "已下发" }],
      [user, { action: "confirm" }], // 使用单位确认资源
      [user, { action: "confirm", note: "系统已部署" }],
      [user, { action: "confirm" }], // 申请上线前安全检测
      ["zhangwei", { action: "approve", note: "安全检测通过" }],
    ] as Step[]);
    expect(ok(await t.show(user, id)).currentStage.stage).toBe("go_live");
    t.clock.set(liveAt);
    ok(await t.act(user, id, { action: "confirm", note: "新系统已上线" }));
  }

  const revocationsOf = async (ids: number[]) =>
    (await t.db.select().from(requests).where(eq(requests.flow, "revocation")).orderBy(asc(requests.id))).filter((r) =>
      (r.facts as { resourceIds: number[] }).resourceIds.some((id) => ids.includes(id)),
    );

  test("002 第二十一条: a scale-up to more than twice the VM's vCPU, memory or disk is a 重大变更, refused with 第十九条's way and nothing written", async () => {
    const [vm] = (await t.deliverApplication("yangfan")).resources; // 4 核 8G, 100G 数据盘
    const before = await rowCounts(t.db);
    const cores = await adjust("yangfan", vm!.id, "up", { vcpu: 9 });
    expect(cores.status).toBe(422);
    expect(cores.body.error.code).toBe("not_allowed");
    const said =
      "vCPU由 4核 调整为 9核，超过原配置的 2 倍，属重大变更，不能通过变更申请办理：请按第十九条重新填报《韶关市“数字政府”政务云资源申请表》（附件1）提出云资源申请，" +
      "并在申请表“重大变更重新申请”栏勾选被替换的原资源（接口字段 replaces），新系统上线后原申请的资源注销回收（002 第二十一条）";
    expect(cores.body.error.message).toBe(said);
    expect(cores.body.error.fields).toEqual({ "form.to.vcpu": [said] });
    // Several parts at once are each named; the provider starting it is refused alike.
    const both = await adjust("xufeng", vm!.id, "up", { memoryGb: 32, diskGb: 500 });
    expect(both.status).toBe(422);
    expect(both.body.error.message).toMatch(/^内存由 8G 调整为 32G、磁盘由 100G 调整为 500G，超过原配置的 2 倍，属重大变更/);
    expect(Object.keys(both.body.error.fields)).toEqual(["form.to.memoryGb"]);
    // Only the refusals are audited.
    expect({ ...(await rowCounts(t.db)), audit_log: 0 }).toEqual({ ...before, audit_log: 0 });

    // Exactly twice is no 重大变更: it is an ordinary 变更, decided on 004 第十九条(二)'s utilisation as 韶关 takes it
    // (this VM has no cloud id, so that is what refuses it).
    const doubled = await adjust("yangfan", vm!.id, "up", { vcpu: 8 });
    expect(doubled.status).toBe(422);
    expect(doubled.body.error.message).not.toContain("重大变更");
    // Shrinking is never 重大.
    const down = ok(await adjust("yangfan", vm!.id, "down", { vcpu: 1, memoryGb: 2 }), 201);
    expect(ok(await t.show("yangfan", down.id)).currentStage.stage).toBe("approve");
  });

  test("002 第二十一条: the portal's 变更 form tells under 调整后 vCPU that a 重大变更 is applied for anew, and writes nothing", async () => {
    const [vm] = (await t.deliverApplication("yangfan")).resources;
    const a = await t.signedIn("yangfan");
    const page = await a.get(`/new/adjustment?resource=${vm!.id}`);
    expect(page.html).toContain("超过原配置 2 倍的属重大变更，须按第十九条重新提出云资源申请（002 第二十一条）");
    const before = await rowCounts(t.db);
    const refused = await a.post("/new/adjustment", { direction: "up", resource: String(vm!.id), "to.vcpu": "12", reason: "业务扩展", _step: "preview" });
    expect(refused.status).toBe(422);
    const under = /id="f-to-vcpu-error"[^>]*>([^<]*)</.exec(refused.html)?.[1];
    expect(under).toMatch(/^vCPU由 4核 调整为 12核，超过原配置的 2 倍，属重大变更.*请按第十九条重新填报《韶关市“数字政府”政务云资源申请表》（附件1）提出云资源申请/);
    expect({ ...(await rowCounts(t.db)), audit_log: 0 }).toEqual({ ...before, audit_log: 0 });
  });

  test("002 第二十一条 on the portal: 韶关's application form offers the unit's own resources in use under 重大变更重新申请; those ticked are what the application replaces", async () => {
    // A backup policy goes with its VM (as on the 撤销 form), so it is not offered on its own.
    const mine = (await t.deliverApplication("yangfan")).resources.filter((r) => r.kind !== "backup");
    const theirs = (await t.deliverApplication("lihua")).resources;
    const a = await t.signedIn("yangfan");
    const page = await a.get("/new/application");
    expect(page.html).toContain("因调整超过原配置 2 倍（重大变更）而重新申请的，勾选被替换的本单位原资源");
    const offered = [...page.html.matchAll(/name="replaces" value="(\d+)"/g)].map((m) => Number(m[1]));
    for (const r of mine) expect(offered).toContain(r.id);
    for (const r of theirs) expect(offered).not.toContain(r.id);
    const offeredRows = await t.db.select({ unitId: resources.unitId, status: resources.status }).from(resources).where(inArray(resources.id, offered));
    expect(offeredRows.every((r) => r.unitId === "mz-rsj" && r.status === "delivered")).toBe(true);

    const form = coveredByPlan(sampleForm("shaoguan"));
    form.systemName = "韶关市人社业务系统（网页重建）";
    const { attachments: _, ...rest } = form;
    const values = valuesFromInput(formForProfile(applicationForm, "shaoguan"), rest);
    const body = new URLSearchParams({ _csrf: csrfIn(page.html)!, _step: "submit" });
    for (const [k, v] of Object.entries(values.fields)) if (typeof v === "string" && v !== "") body.append(k, v);
    for (const [group, rows] of Object.entries(values.rows)) rows.forEach((row, i) => {
      for (const [k, v] of Object.entries(row)) if (v !== "") body.append(`${group}[${i}].${k}`, v);
    });
    const pledge = await t.attachment("yangfan", "security_pledge");
    body.append("attachments[0].purpose", "security_pledge");
    body.append("attachments[0].fileId", pledge.fileId);
    // Another unit's resource, or what is not a resource number, is named under the field; nothing is written.
    const before = await rowCounts(t.db);
    for (const [value, said] of [
      [String(theirs[0]!.id), `只能替换本单位的资源：${theirs[0]!.name}（002 第二十一条）`],
      ["1 or 1=1", "替换的原资源应为整数"],
    ]) {
      const forged = new URLSearchParams(body);
      forged.set("_step", "preview");
      forged.append("replaces", value!);
      const refused = await a.raw("POST", "/new/application", { form: forged.toString() });
      expect(refused.status).toBeGreaterThanOrEqual(400);
      expect(refused.status).toBeLessThan(500);
      expect(/id="f-replaces-error"[^>]*>([^<]*)</.exec(refused.html)?.[1]).toContain(said);
    }
    expect({ ...(await rowCounts(t.db)), audit_log: 0 }).toEqual({ ...before, audit_log: 0 });
    body.append("replaces", String(mine[0]!.id));
    body.append("replaces", String(mine[2]!.id));
    const done = await a.raw("POST", "/new/application", { form: body.toString() });
    expect(done.status, done.html.slice(0, 800)).toBe(303);
    const [row] = await t.db.select().from(requests).where(eq(requests.code, done.location!.split("/")[2]!.split("?")[0]!));
    expect(row!.facts).toMatchObject({ replaces: { resourceIds: [mine[0]!.id, mine[2]!.id], article: "002 第二十一条" } });
    expect(textOf((await a.get(`/requests/${row!.code}`)).html)).toContain(`替换原资源（002 第二十一条） ${mine[0]!.name}`);
  });

  test("002 第二十一条: the new 云资源申请 names what it replaces: resources in the ledger, in use, of the unit's own; otherwise refused in Chinese and nothing written", async () => {
    const mine = (await t.deliverApplication("yangfan")).resources;
    const theirs = (await t.deliverApplication("lihua")).resources;
    const before = await rowCounts(t.db);
    const unknown = await reapplication("yangfan", [mine[0]!.id, 999999]);
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toMatchObject({ code: "unknown_resource", message: "替换的原资源不存在或已撤销：999999" });
    expect(unknown.body.error.fields).toEqual({ "form.replaces": ["替换的原资源不存在或已撤销：999999"] });
    const other = await reapplication("yangfan", [theirs[0]!.id]);
    expect(other.status).toBe(422);
    expect(other.body.error).toMatchObject({ code: "not_yours", message: `只能替换本单位的资源：${theirs[0]!.name}（002 第二十一条）` });
    for (const replaces of [[], [mine[0]!.id, mine[0]!.id], ["1 or 1=1"], [0]]) {
      const bad = await reapplication("yangfan", replaces as number[]);
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(/[\u4e00-\u9fff]/);
      expect(Object.keys(bad.body.error.fields).some((f) => f.startsWith("form.replaces"))).toBe(true);
    }
    expect({ ...(await rowCounts(t.db)), audit_log: 0, files: 0, file_blobs: 0 }).toEqual({ ...before, audit_log: 0, files: 0, file_blobs: 0 });
  });

  test("002 第二十一条: once the new system is live a revocation of the replaced resources opens by itself, the unit's; walked to the reclaim across 国庆", async () => {
    const old = (await t.deliverApplication("yangfan")).resources;
    const oldIds = old.map((r) => r.id);
    const { id, code } = ok(await reapplication("yangfan", oldIds), 201);
    let app = ok(await t.show("yangfan", id));
    expect(app.summary).toContainEqual({ label: "替换原资源（002 第二十一条）", value: expect.stringContaining(`${old[0]!.name} 应用服务器 4 核 8G`) });
    expect((await t.db.select().from(requests).where(eq(requests.id, id)))[0]!.facts).toMatchObject({ replaces: { resourceIds: oldIds, article: "002 第二十一条" } });

    // Delivered, deployed and tested, the new system is not live yet: the old one keeps running, nothing is revoked.
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve", note: "已下发" }],
      ["yangfan", { action: "confirm" }],
      ["yangfan", { action: "confirm" }],
      ["yangfan", { action: "confirm" }],
      ["zhangwei", { action: "approve" }],
    ] as Step[]);
    expect(await revocationsOf(oldIds)).toEqual([]);

    // 上线 on Wednesday 09-30, the last working day before 国庆.
    t.clock.set("2026-09-30T02:00:00Z");
    ok(await t.act("yangfan", id, { action: "confirm", note: "新系统已上线" }));
    app = ok(await t.show("yangfan", id));
    expect(app.status).toBe("completed");
    const newIds = (await t.db.select().from(resources).where(eq(resources.requestId, id))).map((r) => r.id);
    expect((await t.db.select().from(resources).where(inArray(resources.id, newIds))).every((r) => r.liveAt?.toISOString() === "2026-09-30T02:00:00.000Z")).toBe(true);

    const [revocation] = await revocationsOf(oldIds);
    expect(revocation).toMatchObject({ applicantId: "yangfan", unitId: "mz-rsj", status: "in_progress", submittedAt: new Date("2026-09-30T02:00:00Z") });
    expect(revocation!.facts).toMatchObject({
      trigger: "major_change",
      resourceIds: oldIds,
      evidence: { application: code, live: "2026-09-30" },
      reason: `重大变更已重新申请，原申请的资源注销回收：重新申请的 ${code}「韶关市人社业务系统（重建）」已完成（002 第二十一条）`,
    });
    // Opened in the same transaction as the 上线, audited with where it came from.
    const [submitted] = await t.db.select().from(auditLog).where(and(eq(auditLog.requestId, revocation!.id), eq(auditLog.action, "request.submit")));
    const [live] = await t.db.select().from(auditLog).where(and(eq(auditLog.requestId, id), eq(auditLog.action, "resource.live")));
    expect(submitted).toMatchObject({ actorId: "yangfan", details: { trigger: "major_change", origin: code, article: "002 第二十一条" } });
    expect(submitted!.at).toEqual(live!.at);

    // 002 第二十二条: the unit first takes the old system offline and migrates its data (no deadline).
    let detail = ok(await t.show("yangfan", revocation!.id));
    expect(detail.summary).toContainEqual({ label: "理由", value: "重大变更已重新申请，原申请的资源注销回收" });
    expect(detail.currentStage).toMatchObject({ stage: "prepare", name: "系统下线与数据迁移备份", deadlineAt: null });
    expect(holders(detail)).toEqual(["yangfan"]);
    ok(await t.act("yangfan", revocation!.id, { action: "confirm", note: "原系统已下线，数据已迁移至新系统" }));
    detail = ok(await t.show("yangfan", revocation!.id));
    // 5 wd from Wednesday 09-30: (国庆 10-01 … 10-07), 10-08, 10-09, 10-10 (调休 Saturday), 10-12, 10-13.
    expect(detail.currentStage).toMatchObject({ stage: "approve", deadlineAt: "2026-10-13T15:59:59.999Z" });
    expect(holders(detail)).toEqual(["chenjing", "zhangwei"]);
    t.clock.set("2026-10-08T02:00:00Z");
    ok(await t.act("zhangwei", revocation!.id, { action: "approve" }));
    detail = ok(await t.show("yangfan", revocation!.id));
    // 3 wd from Thursday 10-08: 10-09, 10-10 (调休), 10-12.
    expect(detail.currentStage).toMatchObject({ stage: "revoke", name: "回收资源", deadlineAt: "2026-10-12T15:59:59.999Z" });
    t.clock.set("2026-10-10T03:00:00Z"); // the 调休 Saturday
    ok(await t.act("xufeng", revocation!.id, { action: "approve" }));
    detail = ok(await t.show("yangfan", revocation!.id));
    expect(detail.status).toBe("completed");
    expect(passed(detail)).toEqual(["prepare", "approve", "revoke"]);
    // The ledger: the old resources (the backup policy with its VM) revoked on 10-10, the new ones in use.
    const ledger = await t.db.select().from(resources).where(inArray(resources.id, [...oldIds, ...newIds])).orderBy(asc(resources.id));
    expect(ledger.map((r) => `${r.requestId === id ? "new" : "old"}:${r.kind}:${r.status}:${r.revokedAt?.toISOString() ?? "-"}`)).toEqual([
      "old:vm:revoked:2026-10-10T03:00:00.000Z",
      "old:vm:revoked:2026-10-10T03:00:00.000Z",
      "old:vm:revoked:2026-10-10T03:00:00.000Z",
      "old:backup:revoked:2026-10-10T03:00:00.000Z",
      "new:vm:delivered:-",
      "new:vm:delivered:-",
      "new:vm:delivered:-",
      "new:backup:delivered:-",
    ]);
  });

  test("002 第二十一条: a replaced resource already being changed at 上线 is left out of the revocation, and the managers are told to see to it", async () => {
    t.clock.set("2026-10-12T02:00:00Z");
    const old = (await t.deliverApplication("lihua")).resources.filter((r) => r.kind === "vm");
    const { id, code } = ok(await reapplication("lihua", [old[0]!.id, old[1]!.id]), 201);
    // lihua's is a county unit's: its 县级初审 first (002 第二十三条).
    ok(await t.act("huangmin", id, { action: "approve" }));
    // Meanwhile a scale-down of the second VM is under way.
    ok(await adjust("lihua", old[1]!.id, "down", { vcpu: 2 }), 201);
    await walkToLive(id, "lihua", "2026-10-13T02:00:00Z");
    const [revocation] = await revocationsOf([old[0]!.id]);
    expect(revocation!.facts).toMatchObject({ trigger: "major_change", resourceIds: [old[0]!.id] });
    // Opened for the unit, not asked by it: no county 初审, the unit's 下线 and migration first.
    expect(ok(await t.show("lihua", revocation!.id)).currentStage.stage).toBe("prepare");
    const told = (await t.db.select().from(outbox).where(eq(outbox.kind, "report"))).filter((o) => JSON.stringify(o.payload).includes("部分原资源未能自动注销"));
    expect(told.map((o) => o.userId).sort()).toEqual(["chenjing", "zhangwei"]);
    expect(JSON.stringify(told[0]!.payload)).toContain(`${old[1]!.name} 应用服务器 4 核 8G 已撤销、不属本单位或已在其他流程中，未纳入撤销申请 ${revocation!.code}`);
    expect(JSON.stringify(told[0]!.payload)).toContain(code);
  });

  test("002 第二十一条: exactly twice, justified by the last 5 working days' figures (across 国庆 and the 调休 Saturday), is an ordinary 变更: reviewed within 5 working days, made within 3, the ledger resized", async () => {
    t.clock.set("2026-10-13T01:00:00Z"); // Tuesday
    const [vm] = (await t.deliverApplication("yangfan")).resources; // 4 核
    ok(await t.call("xufeng", "PUT", `/api/resources/${vm!.id}/instance`, { instanceId: "ins-sg-major" }));
    // The 5 working days before Tuesday 10-13: 09-30, (国庆), 10-08, 10-09, 10-10 (调休 Saturday) and 10-12, at an 80% vCPU peak.
    const samples = ["2026-09-30", "2026-10-08", "2026-10-09", "2026-10-10", "2026-10-12"].flatMap((d) =>
      Array.from({ length: 12 }, (_, h) => ({ vm: "ins-sg-major", time: Math.floor(shanghaiInstant(d, `${String(8 + h).padStart(2, "0")}:00`).getTime() / 1000), cpu: 80, mem: 50 })),
    );
    ok(await t.call("xufeng", "POST", "/api/metrics", { samples }, { "Idempotency-Key": "sg-major" }), 201);
    t.clock.set("2026-10-13T02:00:00Z");
    const { id } = ok(await adjust("yangfan", vm!.id, "up", { vcpu: 8 }), 201);
    let detail = ok(await t.show("yangfan", id));
    // 5 wd from Tuesday 10-13: 10-14, 10-15, 10-16, 10-19, 10-20.
    expect(detail.currentStage).toMatchObject({ stage: "approve", deadlineAt: "2026-10-20T15:59:59.999Z" });
    t.clock.set("2026-10-16T02:00:00Z"); // Friday
    ok(await t.act("zhangwei", id, { action: "approve" }));
    // 3 wd from Friday 10-16: 10-19, 10-20, 10-21.
    detail = ok(await t.show("yangfan", id));
    expect(detail.currentStage).toMatchObject({ stage: "adjust", name: "实施变更", deadlineAt: "2026-10-21T15:59:59.999Z" });
    t.clock.set("2026-10-19T02:00:00Z");
    ok(await t.act("xufeng", id, { action: "approve" }));
    detail = ok(await t.show("yangfan", id));
    expect(detail.status).toBe("completed");
    expect(passed(detail)).toEqual(["approve", "adjust"]);
    expect((await t.db.select().from(resources).where(eq(resources.id, vm!.id)))[0]).toMatchObject({ spec: { vcpu: 8 }, changedAt: new Date("2026-10-19T02:00:00Z") });
  });
});

describe("002 第二十一条 is 韶关's: 梅州 (004) has neither rule", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ now: "2026-09-21T01:00:00Z" });
  });
  afterAll(() => t?.close());

  test("002 第二十一条: under 梅州 an application naming resources it replaces is refused, and a large scale-up is not refused as 重大", async () => {
    const [vm] = (await t.deliverApplication("yangfan")).resources;
    const before = await rowCounts(t.db);
    const res = await t.submit("yangfan", { ...sampleForm(), replaces: [vm!.id] });
    expect(res.status).toBe(422);
    expect(res.body.error.fields).toEqual({ "form.replaces": ["本地区管理办法未规定以新申请替换原有资源，请另行申请撤销原资源"] });
    const up = await t.call("yangfan", "POST", "/api/requests", { flow: "adjustment", form: { direction: "up", resource: vm!.id, to: { vcpu: 16 }, reason: "扩容" } });
    expect(up.status).toBe(422);
    expect(up.body.error.message).not.toContain("重大变更");
    expect({ ...(await rowCounts(t.db)), audit_log: 0 }).toEqual({ ...before, audit_log: 0 });
  });
});
