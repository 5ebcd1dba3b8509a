import { gt, max } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog } from "../db/schema";
import { loadCalendarYear } from "../src/calendar/store";
import type { Actor, ServiceContext } from "../src/core/context";
import { ServiceError } from "../src/core/errors";
import { demoDirectory } from "../src/directory/demo";
import { importDirectory } from "../src/directory/import";
import { authenticateToken, createToken, revokeToken } from "../src/directory/tokens";
import { createTestApp, type TestApp } from "./app-harness";
import { schedule2027 } from "./schedule-2027";

// Calendar load, directory import and token create/revoke go through mutate(): each entry names the actor as
// they are (the token's user with all their roles through the API, the operator at the CLI), and a refusal of a
// well-formed attempt is audited like any other (invariant 4), while a malformed one writes nothing (invariant 7).
let t: TestApp;
let sunmei: Actor;
let lihua: Actor;


beforeAll(async () => {
  // A manager who is also security staff: an entry written as "manager" by hand would lose half of it.
  t = await createTestApp({ extraUsers: [{ id: "sunmei", name: "孙梅", unit: "mz-sjj", roles: ["manager", "security_officer"] }] });
  sunmei = (await authenticateToken(t.db, t.tokens.sunmei!, t.clock.now()))!;
  lihua = (await authenticateToken(t.db, t.tokens.lihua!, t.clock.now()))!;
});
afterAll(() => t?.close());

const api = (actor: Actor): ServiceContext => ({ ...t.ctx(), actor, channel: "api", sourceIp: "10.20.30.40" });

/** The entries appended while `run` ran, and what it threw (or null). */
async function audited(run: () => Promise<unknown>) {
  const [{ seq } = { seq: 0 }] = await t.db.select({ seq: max(auditLog.seq) }).from(auditLog);
  let error: ServiceError | null = null;
  try {
    await run();
  } catch (err) {
    if (!(err instanceof ServiceError)) throw err;
    error = err;
  }
  const entries = await t.db.select().from(auditLog).where(gt(auditLog.seq, seq ?? 0)).orderBy(auditLog.seq);
  return { error, entries: entries.map(({ action, actorId, actorRole, channel, sourceIp, outcome, details }) => ({ action, actorId, actorRole, channel, sourceIp, outcome, details })) };
}

describe("audit entries written through mutate name the real actor", () => {
  test("calendar load: the token's user with every role, the CLI operator, an audited refusal (invariant 4)", async () => {
    const byApi = await audited(() => loadCalendarYear({ ctx: api(sunmei), input: schedule2027 }));
    expect(byApi.error).toBeNull();
    expect(byApi.entries).toEqual([
      expect.objectContaining({ action: "calendar.load", actorId: "sunmei", actorRole: "manager,security_officer", channel: "api", sourceIp: "10.20.30.40", outcome: "ok" }),
    ]);
    const byCli = await audited(() => loadCalendarYear({ ctx: t.ctx(), input: schedule2027 }));
    expect(byCli.error).toBeNull();
    expect(byCli.entries).toEqual([expect.objectContaining({ action: "calendar.load", actorId: null, actorRole: null, channel: "cli", outcome: "ok" })]);

    const refused = await audited(() => loadCalendarYear({ ctx: api(lihua), input: schedule2027 }));
    expect(refused.error?.status).toBe(403);
    expect(refused.entries).toEqual([
      {
        action: "calendar.load",
        actorId: "lihua",
        actorRole: "applicant",
        channel: "api",
        sourceIp: "10.20.30.40",
        outcome: "refused",
        details: { code: "forbidden", message: "只有系统管理员或统筹管理单位可以加载工作日历" },
      },
    ]);
    // A malformed file is bad input, not a refused action: nothing is written (invariant 7).
    const malformed = await audited(() => loadCalendarYear({ ctx: api(sunmei), input: { year: "x" } }));
    expect(malformed.error?.status).toBe(400);
    expect(malformed.entries).toEqual([]);
  });

  test("directory import: the token's user with every role, the CLI operator, an audited refusal (invariant 4)", async () => {
    const byApi = await audited(() => importDirectory({ ctx: api(sunmei), input: demoDirectory }));
    expect(byApi.error).toBeNull();
    expect(byApi.entries).toEqual([
      expect.objectContaining({ action: "directory.import", actorId: "sunmei", actorRole: "manager,security_officer", channel: "api", outcome: "ok" }),
    ]);
    const byCli = await audited(() => importDirectory({ ctx: t.ctx(), input: demoDirectory }));
    expect(byCli.error).toBeNull();
    expect(byCli.entries).toEqual([expect.objectContaining({ action: "directory.import", actorId: null, actorRole: null, channel: "cli", outcome: "ok" })]);

    // lihua trying to promote herself.
    const promoted = { ...demoDirectory, users: demoDirectory.users.map((u) => (u.id === "lihua" ? { ...u, roles: ["applicant", "manager"] } : u)) };
    const refused = await audited(() => importDirectory({ ctx: api(lihua), input: promoted }));
    expect(refused.error?.status).toBe(403);
    expect(refused.entries).toEqual([
      expect.objectContaining({ action: "directory.import", actorId: "lihua", actorRole: "applicant", outcome: "refused", details: { code: "forbidden", message: "只有系统管理员或统筹管理单位可以导入通讯录" } }),
    ]);
    const malformed = await audited(() => importDirectory({ ctx: api(sunmei), input: { units: [{ id: "" }], users: [] } }));
    expect(malformed.error?.status).toBe(400);
    expect(malformed.entries).toEqual([]);
  });

  test("token create and revoke: the token's user with every role, the CLI operator, audited refusals (invariant 4)", async () => {
    let issued = { id: "", token: "" };
    const created = await audited(async () => (issued = await createToken({ ctx: api(sunmei), input: { userId: "hexin" } })));
    expect(created.error).toBeNull();
    expect(created.entries).toEqual([
      expect.objectContaining({ action: "token.create", actorId: "sunmei", actorRole: "manager,security_officer", channel: "api", outcome: "ok", details: expect.objectContaining({ tokenId: issued.id, userId: "hexin" }) }),
    ]);
    // The secret is in no audit entry.
    expect(JSON.stringify(created.entries)).not.toMatch(/ys_[A-Za-z0-9_-]{43}/);

    const byCli = await audited(() => createToken({ ctx: t.ctx(), input: { userId: "hexin" } }));
    expect(byCli.error).toBeNull();
    expect(byCli.entries).toEqual([expect.objectContaining({ action: "token.create", actorId: null, actorRole: null, channel: "cli", outcome: "ok" })]);

    const refusedCreate = await audited(() => createToken({ ctx: api(lihua), input: { userId: "lihua" } }));
    expect(refusedCreate.error?.status).toBe(403);
    expect(refusedCreate.entries).toEqual([
      expect.objectContaining({ action: "token.create", actorId: "lihua", actorRole: "applicant", outcome: "refused", details: { code: "forbidden", message: "只有系统管理员或统筹管理单位可以管理访问令牌" } }),
    ]);
    const unknownUser = await audited(() => createToken({ ctx: api(sunmei), input: { userId: "nobody" } }));
    expect(unknownUser.error?.status).toBe(404);
    expect(unknownUser.entries).toEqual([expect.objectContaining({ action: "token.create", actorId: "sunmei", outcome: "refused", details: expect.objectContaining({ code: "not_found" }) })]);

    // Someone else's token: refused and audited, and the token keeps working.
    const refusedRevoke = await audited(() => revokeToken({ ctx: api(lihua), input: { id: issued.id } }));
    expect(refusedRevoke.error?.status).toBe(403);
    expect(refusedRevoke.entries).toEqual([
      expect.objectContaining({ action: "token.revoke", actorId: "lihua", actorRole: "applicant", outcome: "refused", details: { code: "forbidden", message: "只能吊销自己的访问令牌" } }),
    ]);
    expect((await authenticateToken(t.db, issued.token, t.clock.now()))?.userId).toBe("hexin");
    const revoked = await audited(() => revokeToken({ ctx: api(sunmei), input: { id: issued.id } }));
    expect(revoked.error).toBeNull();
    expect(revoked.entries).toEqual([
      expect.objectContaining({ action: "token.revoke", actorId: "sunmei", actorRole: "manager,security_officer", outcome: "ok", details: { tokenId: issued.id, userId: "hexin" } }),
    ]);
    const again = await audited(() => revokeToken({ ctx: t.ctx(), input: { id: issued.id } }));
    expect(again.error?.code).toBe("token_revoked");
    expect(again.entries).toEqual([expect.objectContaining({ action: "token.revoke", actorId: null, actorRole: null, channel: "cli", outcome: "refused" })]);
  });
});
