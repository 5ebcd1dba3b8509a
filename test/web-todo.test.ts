import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { auditLog, tasks } from "../db/schema";
import { coveredByPlan, ok, rowCounts, sampleForm } from "./app-harness";
import { createWebTestApp, type PageResponse, type WebTestApp } from "./web-harness";

// Issue 12: "Approvers: 待办 sorted by deadline; acting from the list or the request page."

let t: WebTestApp;
beforeAll(async () => {
  t = await createWebTestApp();
});
afterAll(async () => {
  await t?.close();
});

/** A request of a county unit, waiting for the county bureau's 初审 (huangmin holds it). */
async function filed(form = sampleForm(), applicant = "lihua") {
  const res = ok(await t.submit(applicant, form), 201);
  return { id: res.id as number, code: res.code as string, stage: res.currentStage as string };
}

const stageOf = async (id: number) => (await t.show("zhangwei", id)).body.currentStage?.stage ?? null;

/** The forms a page offers for a request's actions: each one's hidden fields and its button's label. */
function actionForms(html: string, code: string) {
  const forms = [...html.matchAll(new RegExp(`<form method="post" action="/requests/${code}/actions"[^>]*>(.*?)</form>`, "gs"))];
  return forms.map(([, inner]) => ({
    fields: Object.fromEntries([...inner!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!])),
    label: /<button[^>]*>([^<]*)<\/button>/.exec(inner!)![1]!.trim(),
  }));
}

/** The 待办 row of a request on the home page (from its link to the next row). */
function todoRow(html: string, code: string): string | null {
  const todo = html.slice(html.indexOf('id="todo"'), html.indexOf('id="mine"'));
  const start = todo.indexOf(`href="/requests/${code}"`);
  if (start < 0) return null;
  const end = todo.indexOf('<div class="weui-cell">', start);
  return todo.slice(start, end < 0 ? undefined : end);
}

const todoCount = (html: string) => Number(/id="todo">待办<span class="ys-count">(\d+)</.exec(html)![1]);
const errorOf = (res: PageResponse) => /<p class="ys-error" role="alert">([^<]*)<\/p>/.exec(res.html)?.[1] ?? null;

/** Each task's state and every successful entry of the request's audit: what a refused action must leave alone. */
async function decisionsOn(requestId: number) {
  const taskRows = await t.db.select({ id: tasks.id, status: tasks.status }).from(tasks).where(eq(tasks.requestId, requestId)).orderBy(asc(tasks.id));
  const done = await t.db
    .select({ seq: auditLog.seq })
    .from(auditLog)
    .where(and(eq(auditLog.requestId, requestId), eq(auditLog.outcome, "ok")));
  return { tasks: taskRows, done: done.length };
}

/** The county bureau's 黄敏 signed in, and the 同意 form her 待办 row offers for this request. */
async function holderWithApprove(code: string) {
  const holder = await t.signedIn("huangmin");
  const [approve] = actionForms(todoRow((await holder.get("/")).html, code)!, code);
  return { holder, approve: approve!.fields };
}

describe("acting from the 待办 list (issue 12)", () => {
  test("the holder's row offers 同意 as a button bound to the stage, and the reasons' actions as a link; nobody else gets them", async () => {
    const r = await filed();
    const holder = await t.signedIn("huangmin");
    const home = await holder.get("/");
    const row = todoRow(home.html, r.code)!;
    expect(row).not.toBeNull();
    const forms = actionForms(row, r.code);
    expect(forms.map((f) => f.label)).toEqual(["同意并提交"]);
    expect(forms[0]!.fields).toMatchObject({ action: "approve", back: "todo", _csrf: holder.csrf! });
    expect(Number(forms[0]!.fields.stageRunId)).toBeGreaterThan(0);
    // 退回 wants a reason: the row links to the request's page for it instead of a button. (The county bureau
    // forwards or returns; it does not 驳回: 004 第十二条(一).)
    expect(row).toContain(`href="/requests/${r.code}#actions"`);
    expect(row).toContain("退回…");
    expect(row).not.toContain("驳回");
    expect(row).not.toMatch(/name="action" value="(reject|return)"/);

    // The applicant sees the request among their own, but has nothing to decide on it.
    const applicant = await t.signedIn("lihua");
    const theirs = await applicant.get("/");
    expect(theirs.html).toContain(`/requests/${r.code}`);
    expect(todoRow(theirs.html, r.code)).toBeNull();
    expect(actionForms(theirs.html, r.code)).toEqual([]);
    // A manager, who holds a later stage, does not hold this one yet.
    const manager = await t.signedIn("zhangwei");
    expect(actionForms((await manager.get("/")).html, r.code)).toEqual([]);
  });

  test("同意 from the list moves the stage on and returns to the list with what was done", async () => {
    const r = await filed();
    const holder = await t.signedIn("huangmin");
    const home = await holder.get("/");
    const before = todoCount(home.html);
    const [approve] = actionForms(todoRow(home.html, r.code)!, r.code);
    const done = await holder.post(`/requests/${r.code}/actions`, approve!.fields);
    expect(done.status).toBe(303);
    expect(done.location).toBe(`/?done=approve&code=${r.code}#todo`);
    const back = await holder.get(done.location!);
    expect(back.status).toBe(200);
    expect(back.html).toContain(`<p class="ys-notice">${r.code}：已提交您的意见</p>`);
    expect(todoCount(back.html)).toBe(before - 1);
    expect(todoRow(back.html, r.code)).toBeNull();
    expect(await stageOf(r.id)).toBe("evaluate");
    const [entry] = await t.db.select().from(auditLog).where(and(eq(auditLog.requestId, r.id), eq(auditLog.action, "request.approve")));
    expect(entry).toMatchObject({ actorId: "huangmin", channel: "web", outcome: "ok", stage: "county_review" });
    // The notice names only a real request code: a crafted link shows nothing.
    const crafted = await holder.get("/?done=approve&code=%E8%AF%B7%E8%BD%AC%E8%B4%A6");
    expect(crafted.html).not.toContain("ys-notice");
  });

  test("a POST without the page's CSRF token is refused with a page, and nothing is written", async () => {
    const r = await filed();
    const { holder, approve } = await holderWithApprove(r.code);
    const { _csrf: _, ...withoutToken } = approve;
    const before = await rowCounts(t.db);
    const refused = await holder.post(`/requests/${r.code}/actions`, withoutToken, { csrf: false });
    expect(refused.status).toBe(403);
    expect(refused.html).toContain("缺少校验码");
    const forged = await holder.post(`/requests/${r.code}/actions`, { ...approve, _csrf: "x".repeat(43) });
    expect(forged.status).toBe(403);
    expect(await rowCounts(t.db)).toEqual(before);
    expect(await stageOf(r.id)).toBe("county_review");
  });

  test("a double click sends the same form twice: one decision, and the second is told in Chinese on the list", async () => {
    const r = await filed();
    const { holder, approve } = await holderWithApprove(r.code);
    const both = await Promise.all([holder.post(`/requests/${r.code}/actions`, approve), holder.post(`/requests/${r.code}/actions`, approve)]);
    expect(both.map((res) => res.status).sort()).toEqual([303, 409]);
    const stale = both.find((res) => res.status === 409)!;
    expect(errorOf(stale)).toBe(`${r.code}：「县级数据局初审」已由黄敏处理`);
    expect(stale.html).toContain('id="todo"');
    const after = await decisionsOn(r.id);
    // Sent once more after the stage moved on, the form still names the decided run: nothing is decided twice.
    const again = await holder.post(`/requests/${r.code}/actions`, approve);
    expect(again.status).toBe(409);
    expect(await decisionsOn(r.id)).toEqual(after);
    const approvals = await t.db.select().from(auditLog).where(and(eq(auditLog.requestId, r.id), eq(auditLog.action, "request.approve"), eq(auditLog.outcome, "ok")));
    expect(approvals).toHaveLength(1);
    expect(await stageOf(r.id)).toBe("evaluate");
  });

  test("an 同意 that needs the provider's note is not a button on the list, and sent anyway it is refused, nothing decided", async () => {
    const form = sampleForm();
    form.vms[1].vcpu = 16;
    const large = await filed(coveredByPlan(form), "yangfan");
    const plain = await filed(sampleForm(), "yangfan");
    expect([large.stage, plain.stage]).toEqual(["evaluate", "evaluate"]);
    const provider = await t.signedIn("xufeng");
    const home = await provider.get("/");
    const largeRow = todoRow(home.html, large.code)!;
    expect(actionForms(largeRow, large.code)).toEqual([]);
    expect(largeRow).toContain("提交评估意见 / 退回…");
    expect(largeRow).toContain("须填写评估说明");
    // The link's page asks for that note, where the same stage of a smaller request leaves it optional.
    expect((await provider.get(`/requests/${large.code}`)).html).toContain("意见（必填：单台虚拟机超过 8 核或 32G 内存，须填写评估说明）");
    expect((await provider.get(`/requests/${plain.code}`)).html).toContain("意见（可选）");
    // The same stage on a request within the thresholds decides from the list.
    expect(actionForms(todoRow(home.html, plain.code)!, plain.code).map((f) => f.label)).toEqual(["提交评估意见"]);

    const runId = (await t.show("xufeng", large.id)).body.currentStage.runId as number;
    const before = await decisionsOn(large.id);
    const refused = await provider.post(`/requests/${large.code}/actions`, { action: "approve", stageRunId: String(runId), back: "todo" });
    expect(refused.status).toBe(422);
    expect(errorOf(refused)).toContain("须填写评估说明");
    expect(await decisionsOn(large.id)).toEqual(before);
    expect(await stageOf(large.id)).toBe("evaluate");
  });

  test("someone who does not hold the stage is refused on the list; someone who cannot see the request gets the 404 page", async () => {
    const r = await filed();
    const { approve } = await holderWithApprove(r.code);
    const before = await decisionsOn(r.id);
    // The applicant sees the request but does not decide the bureau's stage, whatever the form says.
    const applicant = await t.signedIn("lihua");
    const refused = await applicant.post(`/requests/${r.code}/actions`, { ...approve, _csrf: applicant.csrf! });
    expect(refused.status).toBe(403);
    expect(errorOf(refused)).toBe(`${r.code}：您不是该申请当前环节的处理人`);
    const stranger = await t.signedIn("hexin");
    const hidden = await stranger.post(`/requests/${r.code}/actions`, { ...approve, _csrf: stranger.csrf! });
    expect(hidden.status).toBe(404);
    expect(hidden.html).toContain("不存在或您无权查看");
    expect(await decisionsOn(r.id)).toEqual(before);
    expect(await stageOf(r.id)).toBe("county_review");
  });
});
