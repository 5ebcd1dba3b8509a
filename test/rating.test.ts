import { randomBytes } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, outbox, serviceRatings } from "../db/schema";
import { addHost } from "../src/access/hosts";
import { shanghaiDate } from "../src/core/calendar";
import { answerChat } from "../src/chat/answer";
import { parseChatCommand } from "../src/chat/commands";
import { FLOWS } from "../src/engine/flow";
import { sendMonthlyReport } from "../src/reports/monthly";
import { consoleGateway } from "../src/sms/gateways";
import { createTestApp, ok, type TestApp } from "./app-harness";

// 服务评价 (Oversight: the provider is evaluated on response, satisfaction and quality): once a request is
// completed its applicant rates the provider's service, once, by API or in chat; the monthly report counts it.
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ access: { sms: consoleGateway({ log: () => {} }), codeKey: randomBytes(32), totpKey: null } });
  await addHost({ ctx: t.ctx(), input: { name: "vm-web-01" } });
});
afterAll(() => t?.close());

/** A 端口开放申请 by 杨帆, approved by the manager and opened by the provider: the shortest flow the provider serves. */
async function completedRequest(port: number) {
  const form = { hosts: ["vm-web-01"], ports: [{ port }], sources: ["10.20.0.0/16"], validity: { workdays: 5 }, reason: "对接省平台接口" };
  const { id, code } = ok(await t.call("yangfan", "POST", "/api/requests", { flow: "port_grant", form }), 201);
  await t.actInTurn(id, [
    ["zhangwei", { action: "approve" }],
    ["xufeng", { action: "approve", note: "防火墙已放行" }],
  ]);
  return { id: id as number, code: code as string };
}

const yangfan = { userId: "yangfan", name: "杨帆", unitId: "mz-rsj", roles: ["applicant" as const] };
const chat = (text: string, messageKey: string) => answerChat({ ctx: { ...t.ctx(), actor: yangfan, channel: "wecom" }, input: { text, messageKey } });

describe("服务评价", () => {
  test("the services the provider renders are rated; its own monthly statement is not", () => {
    const rated = Object.values(FLOWS)
      .filter((f) => f.ratedService)
      .map((f) => f.key)
      .sort();
    expect(rated).toEqual(["adjustment", "application", "backup", "port_grant", "purpose_change", "revocation", "vm_account"]);
    expect(FLOWS.billing.ratedService).toBeFalsy();
  });

  test("the applicant rates a completed request once; the rating is on the request and in the audit log", async () => {
    const form = { hosts: ["vm-web-01"], ports: [{ port: 9000 }], sources: ["10.20.0.0/16"], validity: { workdays: 5 }, reason: "测试" };
    const open = ok(await t.call("yangfan", "POST", "/api/requests", { flow: "port_grant", form }), 201);
    const early = await t.act("yangfan", open.id, { action: "rate", score: "satisfied" });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe("not_completed");

    const { id, code } = await completedRequest(9001);
    const invitation = await t.db.select().from(outbox).where(and(eq(outbox.userId, "yangfan"), eq(outbox.kind, "result")));
    expect(JSON.stringify(invitation.at(-1)!.payload)).toContain(`评价 ${code} 满意`);

    expect((await t.act("zhangwei", id, { action: "rate", score: "satisfied" })).status).toBe(403);
    const junk = await t.act("yangfan", id, { action: "rate", score: "excellent" });
    expect(junk.status).toBe(400);
    expect(Object.keys(junk.body.error.fields)).toEqual(["score"]);
    const silent = await t.act("yangfan", id, { action: "rate", score: "dissatisfied" });
    expect(silent.status).toBe(422);
    expect(silent.body.error.fields.comment).toEqual(["不满意请写明原因"]);
    expect(await t.db.select().from(serviceRatings).where(eq(serviceRatings.requestId, id))).toEqual([]);

    expect(ok(await t.act("yangfan", id, { action: "rate", score: "satisfied", comment: "开通很快" })).message).toBe("感谢您的评价：满意");
    const again = await t.act("yangfan", id, { action: "rate", score: "basic" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("already_rated");

    const detail = ok(await t.show("yangfan", id));
    expect(detail.rating).toMatchObject({ score: "satisfied", scoreName: "满意", comment: "开通很快" });
    const entries = await t.db.select().from(auditLog).where(and(eq(auditLog.requestId, id), eq(auditLog.action, "request.rate"))).orderBy(auditLog.seq);
    expect(entries.map((e) => e.outcome)).toEqual(["refused", "refused", "ok", "refused"]);
    expect(entries[2]!.details).toEqual({ score: "satisfied", comment: "开通很快" });
  });

  test("in chat: 评价 编号 不满意 with a reason reaches the providers and managers; a retried message changes nothing", async () => {
    const { id, code } = await completedRequest(9002);
    expect(await chat(`评价 ${code}`, "r0")).toContain("请写明“满意”“基本满意”或“不满意”");
    expect(await chat(`评价 ${code} 不满意`, "r1")).toBe("不满意请写明原因，便于实施单位整改\n· comment：不满意请写明原因");
    expect(await chat(`评价 ${code} 不满意，端口开放拖了两天`, "r2")).toBe("感谢您的评价：不满意");
    expect(await chat(`评价 ${code} 不满意，端口开放拖了两天`, "r2")).toBe("感谢您的评价：不满意");
    const [rating] = await t.db.select().from(serviceRatings).where(eq(serviceRatings.requestId, id));
    expect(rating).toMatchObject({ score: "dissatisfied", comment: "端口开放拖了两天", userId: "yangfan" });
    const told = await t.db.select().from(outbox).where(eq(outbox.kind, "rating"));
    expect(told.map((o) => o.userId).sort()).toEqual(["chenjing", "linna", "xufeng", "zhangwei"]);
    expect(JSON.stringify(told[0]!.payload)).toContain("杨帆：端口开放拖了两天");
    const shown = await chat(`查询 ${code}`, "r3");
    expect(shown).toContain("服务评价：不满意（端口开放拖了两天）");
    // The latest step in words, never an audit code such as resource.instance.
    expect(shown).toMatch(/\n最近：\d{4}-\d{2}-\d{2} 服务评价$/);
  });

  test("the chat command reads the ways people write it", () => {
    expect(parseChatCommand("评价 YS-2026-00012 基本满意")).toEqual({ kind: "rate", rating: { ref: { code: "YS-2026-00012" }, score: "basic" } });
    expect(parseChatCommand("评价ＹＳ-2026-12　很满意！开通很快")).toEqual({
      kind: "rate",
      rating: { ref: { code: "YS-2026-00012" }, score: "satisfied", comment: "开通很快" },
    });
    expect(parseChatCommand("服务评价 12 不满意：太慢")).toEqual({ kind: "rate", rating: { ref: { id: 12 }, score: "dissatisfied", comment: "太慢" } });
    expect(parseChatCommand("评价 YS 2026 12 一般")).toEqual({ kind: "rate", rating: { ref: { code: "YS-2026-00012" }, score: "basic" } });
    expect(parseChatCommand("评价 满意")).toMatchObject({ kind: "rate", rating: null, problem: expect.stringContaining("申请编号") });
    expect(parseChatCommand("评价 12 还可以吧")).toMatchObject({ kind: "rate", rating: null, problem: expect.stringContaining("基本满意") });
  });

  test("the monthly report counts the month's ratings, with each 不满意 and its reason", async () => {
    const report = ok(await t.call("zhangwei", "GET", "/api/reports/monthly?month=2026-11"));
    expect(report.provider.satisfaction).toMatchObject({ rated: 2, satisfied: 1, basic: 0, dissatisfied: 1, satisfiedPercent: 50 });
    expect(report.provider.satisfaction.complaints).toEqual([
      expect.objectContaining({ unitId: "mz-rsj", comment: "端口开放拖了两天", code: expect.stringMatching(/^YS-2026-\d{5}$/) }),
    ]);
    const csv = await t.app.request("/api/reports/monthly?month=2026-11&format=csv&table=provider", { headers: { authorization: `Bearer ${t.tokens.zhangwei}` } });
    expect(csv.headers.get("content-disposition")).toContain("yunshen-report-2026-11-provider.csv");
    const lines = (await csv.text()).replace(/^\uFEFF/, "").trimEnd().split("\r\n");
    expect(lines).toEqual(expect.arrayContaining(["评价数,2,", "不满意,1,", "满意率(%),50,满意与基本满意占评价数的比例"]));
    expect(lines.at(-1)).toMatch(/^不满意：YS-2026-\d{5},梅州市人力资源和社会保障局,端口开放拖了两天$/);
    const elsewhere = ok(await t.call("huangmin", "GET", "/api/reports/monthly?month=2026-11"));
    expect(elsewhere.provider.satisfaction).toMatchObject({ rated: 0, satisfiedPercent: null, complaints: [] });

    t.clock.set("2026-12-01T01:00:00Z"); // the 1st working day of December: November's report goes to the managers
    expect(await sendMonthlyReport(t.ctx())).toBe("2026-11");
    const [card] = await t.db.select().from(outbox).where(and(eq(outbox.kind, "report"), eq(outbox.userId, "zhangwei")));
    expect((card!.payload as { summary: string }).summary).toContain("服务评价 2 个：满意 1，基本满意 0，不满意 1（满意率 50%）");
  });

  test("a 不满意 reason written as a formula stays text in the monthly report's CSV (002 第三十条; OWASP CSV injection)", async () => {
    const formula = '=HYPERLINK("http://x","点我")';
    const { id } = await completedRequest(9003);
    ok(await t.act("yangfan", id, { action: "rate", score: "dissatisfied", comment: formula }));
    const month = shanghaiDate(t.clock.now()).slice(0, 7);
    const report = ok(await t.call("zhangwei", "GET", `/api/reports/monthly?month=${month}`));
    expect(report.provider.satisfaction.complaints.map((c: { comment: string }) => c.comment)).toEqual([formula]);
    const csv = await t.app.request(`/api/reports/monthly?month=${month}&format=csv&table=provider`, { headers: { authorization: `Bearer ${t.tokens.zhangwei}` } });
    const lines = (await csv.text()).replace(/^\uFEFF/, "").trimEnd().split("\r\n");
    expect(lines.at(-1)).toMatch(/^不满意：YS-2026-\d{5},梅州市人力资源和社会保障局,"'=HYPERLINK\(""http:\/\/x"",""点我""\)"$/);
    expect(lines).toContain("不满意,1,");
  });
});
