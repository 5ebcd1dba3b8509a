import { randomBytes } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, outbox, portGrants } from "../db/schema";
import { runPortGrantExpiry } from "../src/access/expiry";
import { addHost } from "../src/access/hosts";
import { endOfShanghaiDay } from "../src/core/calendar";
import { consoleGateway } from "../src/sms/gateways";
import { createTestApp, ok, type TestApp } from "./app-harness";

// 端口与访问地址开放申请: a separate, approved grant with its own end date, reported, and closed when it ends.
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ access: { sms: consoleGateway({ log: () => {} }), codeKey: randomBytes(32), totpKey: null } });
  await addHost({ ctx: t.ctx(), input: { name: "vm-web-01" } });
});
afterAll(() => t?.close());

const form = (over: Record<string, unknown> = {}) => ({
  hosts: ["vm-web-01"],
  ports: [{ port: 443, protocol: "tcp" }, { port: 8443 }],
  sources: ["10.20.0.0/16", "172.16.5.9"],
  validity: { workdays: 5 },
  reason: "对接省平台接口",
  ...over,
});
const submit = (user: string, f: Record<string, unknown>) => t.call(user, "POST", "/api/requests", { flow: "port_grant", form: f });

describe("端口与访问地址开放申请", () => {
  test("approved and opened, each port is recorded with its sources and end date, and listed", async () => {
    const { id } = ok(await submit("yangfan", form()), 201);
    const detail = ok(await t.show("yangfan", id));
    expect(detail.title).toBe("开放端口 443/tcp、8443/tcp（vm-web-01）");
    expect(detail.summary).toContainEqual({ label: "来源", value: "10.20.0.0/16、172.16.5.9" });
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve", note: "防火墙已放行" }],
    ]);
    const grants = await t.db.select().from(portGrants).where(eq(portGrants.requestId, id));
    expect(grants.map((g) => `${g.port}/${g.protocol}`).sort()).toEqual(["443/tcp", "8443/tcp"]);
    // 5 working days from Monday 2026-11-23.
    expect(grants.every((g) => g.validUntil.getTime() === endOfShanghaiDay("2026-11-30").getTime())).toBe(true);
    const listed = ok(await t.call("liuyang", "GET", "/api/port-grants?status=active")).items;
    expect(listed).toHaveLength(2);
    expect(listed[0]).toMatchObject({ host: "vm-web-01", sources: ["10.20.0.0/16", "172.16.5.9"], request: { requesterId: "yangfan" } });
    expect(ok(await t.call("lihua", "GET", "/api/port-grants")).items).toEqual([]);
  });

  test("least privilege: no opening to everyone, no unknown host, no junk addresses", async () => {
    const everyone = await submit("yangfan", form({ sources: ["0.0.0.0/0"] }));
    expect(everyone.status).toBe(400);
    expect(JSON.stringify(everyone.body.error.fields)).toContain("不能对所有地址开放");
    const junk = await submit("yangfan", form({ sources: ["10.0.0.300", "fe80::/200"], ports: [{ port: 70000 }] }));
    expect(Object.keys(junk.body.error.fields).sort()).toEqual(["form.ports[0].port", "form.sources[0]", "form.sources[1]"]);
    const halves = await submit("yangfan", form({ sources: ["0.0.0.0/1", "128.0.0.0/1", "::/1"] }));
    expect(Object.keys(halves.body.error.fields).sort()).toEqual(["form.sources[0]", "form.sources[1]", "form.sources[2]"]);
    expect(JSON.stringify(halves.body.error.fields)).toContain("网段过大");
    ok(await submit("yangfan", form({ sources: ["10.0.0.0/8", "2001:db8::/32"] })), 201);
    expect((await submit("yangfan", form({ hosts: ["vm-nowhere"] }))).status).toBe(422);
    expect((await submit("xufeng", form())).status).toBe(403);
  });

  test("reminded 3 working days ahead; at the end expired, and the providers asked to close the port", async () => {
    t.clock.set("2026-11-25T01:00:00Z"); // Wednesday; the grants end on Monday 2026-11-30
    await runPortGrantExpiry(t.ctx());
    await runPortGrantExpiry(t.ctx());
    const reminders = await t.db.select().from(outbox).where(eq(outbox.kind, "port_expiry"));
    expect(reminders.map((r) => r.userId)).toEqual(["yangfan", "yangfan"]);

    t.clock.set("2026-11-30T16:00:01Z");
    expect((await runPortGrantExpiry(t.ctx())).expired).toBe(2);
    const close = await t.db.select().from(outbox).where(eq(outbox.kind, "port_close"));
    expect(new Set(close.map((r) => r.userId))).toEqual(new Set(["xufeng", "linna", "yangfan"]));
    expect((await t.db.select().from(auditLog).where(eq(auditLog.action, "port_grant.expire")))).toHaveLength(2);
  });

  test("the manager or security staff revoke a grant at once", async () => {
    t.clock.set("2026-12-01T01:00:00Z");
    const { id } = ok(await submit("yangfan", form({ ports: [{ port: 22 }], validity: { until: "2026-12-31" } })), 201);
    await t.actInTurn(id, [
      ["zhangwei", { action: "approve" }],
      ["xufeng", { action: "approve" }],
    ]);
    const [grant] = await t.db.select().from(portGrants).where(and(eq(portGrants.requestId, id)));
    expect((await t.call("yangfan", "POST", `/api/port-grants/${grant!.id}/revoke`)).status).toBe(403);
    ok(await t.call("liuyang", "POST", `/api/port-grants/${grant!.id}/revoke`, { reason: "对接完成" }));
    expect((await t.db.select().from(portGrants).where(eq(portGrants.id, grant!.id)))[0]!.status).toBe("revoked");
    expect((await t.call("liuyang", "POST", `/api/port-grants/${grant!.id}/revoke`)).body.error.code).toBe("grant_ended");
  });
});
