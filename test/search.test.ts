import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BOM } from "../src/core/csv";
import { createTestApp, ok, sampleForm, type TestApp } from "./app-harness";

// Issue 12: managers, reviewers and county bureaus search every request in their scope (编号, 系统名称, 单位, 流程,
// 状态, 日期) and export the same rows to Excel; the search never widens what the list's visibility rule shows.
let t: TestApp;
const codes: Record<string, string> = {};

const named = (systemName: string) => ({ ...sampleForm(), systemName });

beforeAll(async () => {
  t = await createTestApp({ now: "2026-11-23T01:00:00Z" }); // Monday 09:00 in Shanghai
  for (const [user, name] of [["wangfang", "梅县区健康档案系统"], ["hexin", '=HYPERLINK("http://example.invalid","点我")'], ["yangfan", "社保_卡%管理系统"]]) await t.registerSystem(user!, name!);
  codes.edu = ok(await t.submit("lihua", named("梅县区教育资助管理系统")), 201).code;
  codes.health = ok(await t.submit("wangfang", named("梅县区健康档案系统")), 201).code;
  t.clock.set("2026-11-25T15:30:00Z"); // 23:30 on the 25th in Beijing
  codes.police = ok(await t.submit("hexin", named('=HYPERLINK("http://example.invalid","点我")')), 201).code;
  t.clock.set("2026-11-25T16:30:00Z"); // 00:30 on the 26th in Shanghai
  const social = ok(await t.submit("yangfan", named("社保_卡%管理系统")), 201);
  codes.social = social.code;
  ok(await t.act("yangfan", social.id, { action: "withdraw" }));
});
afterAll(() => t?.close());

const search = async (user: string, query: string) => ok(await t.call(user, "GET", `/api/requests?${query}`)).items.map((r: { code: string }) => r.code).sort();
const sorted = (...keys: string[]) => keys.map((k) => codes[k]).sort();

describe("searching the requests in one's scope", () => {
  test("the manager filters by 编号 (part of it), 系统名称, 单位 (a county takes in its units), 流程 and 状态", async () => {
    expect(await search("zhangwei", "view=all")).toEqual(sorted("edu", "health", "police", "social"));
    expect(await search("zhangwei", `code=${codes.health!.slice(-5)}`)).toEqual(sorted("health"));
    expect(await search("zhangwei", `code=${codes.health!.toLowerCase()}`)).toEqual(sorted("health"));
    expect(await search("zhangwei", `title=${encodeURIComponent("梅县区")}`)).toEqual(sorted("edu", "health"));
    expect(await search("zhangwei", "unit=mx-sjj")).toEqual(sorted("edu", "health"));
    expect(await search("zhangwei", "unit=xn-gaj")).toEqual(sorted("police"));
    expect(await search("zhangwei", "flow=application")).toEqual(sorted("edu", "health", "police", "social"));
    expect(await search("zhangwei", "flow=backup")).toEqual([]);
    expect(await search("zhangwei", "status=withdrawn")).toEqual(sorted("social"));
    expect(await search("zhangwei", `status=in_progress&title=${encodeURIComponent("系统")}&unit=mx-sjj`)).toEqual(sorted("edu", "health"));
  });

  test("% and _ typed into the search are looked for as such, not as wildcards", async () => {
    expect(await search("zhangwei", `title=${encodeURIComponent("%")}`)).toEqual(sorted("social"));
    expect(await search("zhangwei", `title=${encodeURIComponent("社保_卡")}`)).toEqual(sorted("social"));
    expect(await search("zhangwei", `title=${encodeURIComponent("社保x卡")}`)).toEqual([]);
  });

  test("dates are Beijing calendar days, both ends included", async () => {
    expect(await search("zhangwei", "from=2026-11-23&to=2026-11-23")).toEqual(sorted("edu", "health"));
    // 15:30 UTC on the 25th is 23:30 in Beijing: still the 25th; 16:30 UTC is the 26th.
    expect(await search("zhangwei", "from=2026-11-25&to=2026-11-25")).toEqual(sorted("police"));
    expect(await search("zhangwei", "from=2026-11-26")).toEqual(sorted("social"));
    expect(await search("zhangwei", "to=2026-11-24")).toEqual(sorted("edu", "health"));
  });

  test("a county bureau sees only its county, whatever it searches for; an applicant only their unit's", async () => {
    expect(await search("huangmin", "view=all")).toEqual(sorted("edu", "health"));
    expect(await search("huangmin", "unit=xn-sjj")).toEqual([]);
    expect(await search("huangmin", `code=${codes.police}`)).toEqual([]);
    expect(await search("zhongli", "view=all")).toEqual(sorted("police"));
    expect(await search("lihua", "view=all")).toEqual(sorted("edu"));
    expect(await search("lihua", "unit=mx-wjj")).toEqual([]);
    expect(await search("guojun", "unit=mz-rsj")).toEqual(sorted("social"));
  });

  test("the list's existing parameters still work: view, limit and before page through newest first", async () => {
    expect(await search("lihua", "view=mine")).toEqual(sorted("edu"));
    const first = ok(await t.call("zhangwei", "GET", "/api/requests?limit=3"));
    expect(first.items).toHaveLength(3);
    expect(first.items[0].code).toBe(codes.social);
    expect(first.items[0]).toMatchObject({ flow: "application", flowName: "云资源申请", statusName: "已撤回" });
    const rest = ok(await t.call("zhangwei", "GET", `/api/requests?limit=3&before=${first.next}`));
    expect(rest.items.map((r: { code: string }) => r.code)).toEqual([codes.edu]);
  });

  test("bad search input is a 400 naming the field, in Chinese", async () => {
    for (const [query, field, text] of [
      ["from=2026-02-30", "from", "应为日期 YYYY-MM-DD"],
      ["from=2026-11-25&to=2026-11-24", "to", "结束日期不能早于开始日期"],
      ["flow=nope", "flow", "应为以下之一"],
      ["status=done", "status", "应为以下之一"],
    ] as const) {
      const res = await t.call("zhangwei", "GET", `/api/requests?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.fields[field].join(), query).toContain(text);
      expect((await t.call("zhangwei", "GET", `/api/requests/export.csv?${query}`)).status, query).toBe(400);
    }
  });
});

describe("exporting the rows to Excel", () => {
  const download = (user: string, query = "") =>
    t.app.request(`/api/requests/export.csv?${query}`, { headers: { authorization: `Bearer ${t.tokens[user]}` } });

  test("UTF-8 with a BOM, Chinese headers and names, and a title that would be a formula kept as text", async () => {
    const res = await download("zhangwei");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="yunshen-requests-2026-11-26\.csv"$/);
    const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(await res.arrayBuffer());
    expect(text.startsWith(BOM)).toBe(true);
    const lines = text.slice(1).trimEnd().split("\r\n");
    expect(lines[0]).toBe("编号,系统名称,单位,流程,状态,当前环节,是否逾期,提交时间,更新时间,当前环节期限");
    expect(lines).toHaveLength(5);
    const police = lines.find((l) => l.startsWith(codes.police!))!;
    expect(police).toContain(`"'=HYPERLINK(""http://example.invalid"",""点我"")"`);
    expect(police).toContain("兴宁市公安局,云资源申请,办理中,县级数据局初审,否,2026-11-25 23:30");
    expect(lines.find((l) => l.startsWith(codes.social!))).toContain(",已撤回,");
  });

  test("the export holds exactly the rows the same search lists, for the same person", async () => {
    const rows = async (user: string, query: string) =>
      (await (await download(user, query)).text()).trimEnd().split("\r\n").slice(1).map((l) => l.split(",")[0]).sort();
    expect(await rows("zhangwei", "unit=mx-sjj")).toEqual(sorted("edu", "health"));
    expect(await rows("huangmin", "")).toEqual(sorted("edu", "health"));
    expect(await rows("huangmin", "unit=xn-sjj")).toEqual([]);
    expect(await rows("lihua", "")).toEqual(sorted("edu"));
  });

  test("without a token the export is refused", async () => {
    expect((await t.app.request("/api/requests/export.csv")).status).toBe(401);
  });
});
