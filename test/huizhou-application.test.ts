import { asc, eq } from "drizzle-orm";
import { afterEach, expect, test } from "vitest";
import { outbox, requests, stageRuns } from "../db/schema";
import { createTestApp, ok, sampleForm, type TestApp } from "./app-harness";

// 徽州 (001 第十一—十四条, 附件1 注2): an application walked end to end through the API, around 国庆 2026
// (10-01 … 10-07 off, Saturday 10-10 a working day).

let t: TestApp;
afterEach(() => t?.close());

/** The example (VM rows opening 80,443 and 5432) with 2 public IPs and internet bandwidth. */
function networked(profile?: "huizhou") {
  const f = sampleForm(profile);
  f.publicIps = 2;
  f.bandwidth = [{ zone: "internet", mbps: 10 }];
  return f;
}

const REPORTED = "开放端口：应用服务器 ×2 80,443；数据库服务器 5432；公网 IP 2 个，向区数据资源局报备（不属审批事项）";
const factsOf = async (app: TestApp, id: number) =>
  ((await app.db.select({ facts: requests.facts }).from(requests).where(eq(requests.id, id)))[0]!.facts as { reported?: unknown });
const current = async (id: number) => ok(await t.show("yangfan", id)).currentStage as { stage: string; deadlineAt: string | null };

test("001 附件1 注2: the open ports and external IPs an application lists are reported (报备) to the manager, apart from the resources the stages approve", async () => {
  t = await createTestApp({ profile: "huizhou", now: "2026-09-25T02:00:00Z" });
  const form = networked("huizhou");
  form.attachments.push(await t.attachment("yangfan", "project_approval"));
  const { id } = ok(await t.submit("yangfan", form), 201);
  const detail = ok(await t.show("zhangwei", id));
  expect((await factsOf(t, id)).reported).toEqual({
    ports: [
      { purpose: "应用服务器", ports: "80,443", quantity: 2 },
      { purpose: "数据库服务器", ports: "5432", quantity: 1 },
    ],
    publicIps: 2,
  });
  // The manager deciding 受理 sees the 报备 on its own line; the public IPs are not among what is approved.
  expect(detail.summary).toContainEqual({ label: "报备事项（001 附件1 注2）", value: REPORTED });
  expect(detail.summary).toContainEqual({ label: "托管、网络与安全", value: "带宽 互联网 10 Mbps" });
  const cards = await t.db.select().from(outbox).where(eq(outbox.userId, "zhangwei"));
  expect(cards.some((c) => JSON.stringify(c.payload).includes(REPORTED))).toBe(true);

  // 梅州 (004 第三十七条: ports opened on request, with approval): the same form has no 报备; its IPs are asked for.
  const mz = await createTestApp({ now: "2026-09-25T02:00:00Z" });
  try {
    const { id: mzId } = ok(await mz.submit("yangfan", networked()), 201);
    const mzDetail = ok(await mz.show("zhangwei", mzId));
    expect((await factsOf(mz, mzId)).reported).toBeUndefined();
    expect(mzDetail.summary).toContainEqual({ label: "托管、网络与安全", value: "带宽 互联网 10 Mbps；公网 IP 2 个" });
    expect(mzDetail.summary.map((s: { label: string }) => s.label)).not.toContain("报备事项（001 附件1 注2）");
  } finally {
    await mz.close();
  }
});

test("001 第十二—十四条, 附件1 注2: accepted in 3 wd, reviewed in 2 wd, test resources (and the reported public IPs) in 2 wd across 国庆, 15-day test, ≥ 30-day trial", async () => {
  t = await createTestApp({ profile: "huizhou", now: "2026-09-25T02:00:00Z" }); // Friday 10:00
  const form = networked("huizhou");
  form.attachments.push(await t.attachment("yangfan", "project_approval"));
  const { id } = ok(await t.submit("yangfan", form), 201);
  // 第十二条: 受理 within 3 wd: 09-28, 09-29, 09-30.
  expect(await current(id)).toMatchObject({ stage: "accept", deadlineAt: "2026-09-30T15:59:59.999Z" });
  t.clock.set("2026-09-30T02:00:00Z");
  ok(await t.act("zhangwei", id, { action: "approve" }));
  // 第十二条: the review opinion within 2 wd: 国庆 skipped, 10-08, 10-09.
  expect(await current(id)).toMatchObject({ stage: "review", deadlineAt: "2026-10-09T15:59:59.999Z" });
  t.clock.set("2026-10-09T02:00:00Z");
  ok(await t.act("chenjing", id, { action: "approve", note: "资源需求合理" }));
  // 第十三条: test resources within 2 wd: the 调休 Saturday 10-10, Monday 10-12.
  expect(await current(id)).toMatchObject({ stage: "test_resources", deadlineAt: "2026-10-12T15:59:59.999Z" });
  t.clock.set("2026-10-10T02:00:00Z");
  ok(await t.act("xufeng", id, { action: "approve", note: "测试资源已配置" }));
  // The public IPs are allocated and held like any resource: reported, not refused.
  const held = ok(await t.call("zhangwei", "GET", `/api/resources?request=${id}`)).items as { kind: string; spec: Record<string, unknown> }[];
  expect(held.find((r) => r.kind === "public_ip")).toMatchObject({ spec: { ips: 2 } });
  // 第十三条: 15 calendar days of test from 10-10: 10-25.
  expect(await current(id)).toMatchObject({ stage: "test", deadlineAt: "2026-10-25T15:59:59.999Z" });
  t.clock.set("2026-10-20T02:00:00Z");
  ok(await t.act("yangfan", id, { action: "confirm", note: "测试通过" }));
  ok(await t.act("zhangwei", id, { action: "approve" }));
  // 第十四条: the trial runs at least 30 calendar days, from 10-20 to 11-19.
  const early = await t.act("yangfan", id, { action: "confirm" });
  expect(early.status).toBe(422);
  expect(early.body.error.code).toBe("too_early");
  t.clock.set("2026-11-19T02:00:00Z");
  expect(ok(await t.act("yangfan", id, { action: "confirm", note: "转为正式运行" })).status).toBe("completed");
  // No stage approves the ports or IPs: the stages are 001's own, and the 报备 stays on the request.
  const runs = await t.db.select().from(stageRuns).where(eq(stageRuns.requestId, id)).orderBy(asc(stageRuns.id));
  expect(runs.map((r) => r.stage)).toEqual(["accept", "review", "test_resources", "test", "trial_approval", "trial"]);
  expect(ok(await t.show("yangfan", id)).summary).toContainEqual({ label: "报备事项（001 附件1 注2）", value: REPORTED });
});
