import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ok } from "./app-harness";
import { createWebTestApp, type WebTestApp } from "./web-harness";

// The portal's read-only 故障与检修 page (issue 14): the incidents (002 第三十条) and maintenance notices (002 第三十条;
// 000 8.4) as each person may see them through the API.
let t: WebTestApp;

beforeAll(async () => {
  t = await createWebTestApp({ profile: "shaoguan", now: "2026-09-29T02:00:00Z" });
  ok(await t.call("xufeng", "POST", "/api/incidents", {
    kind: "fault",
    severity: "serious",
    title: "政务外网出口中断",
    startedAt: "2026-09-29T09:40:00+08:00",
    description: "出口链路光缆被挖断",
    affectedUnits: ["xn-gaj"],
  }));
  ok(await t.call("xufeng", "POST", "/api/maintenance", {
    kind: "maintenance",
    title: "存储扩容检修",
    windowStart: "2026-10-09T22:00:00+08:00",
    windowEnd: "2026-10-10T02:00:00+08:00",
    impact: "存储读写短时抖动",
    affectedUnits: ["mx-jyj"],
  }));
});
afterAll(() => t?.close());

describe("故障与检修 page", () => {
  test("002 第三十条: the manager sees both lists; each unit only what concerns it; everyone has the link", async () => {
    const manager = await (await t.signedIn("zhangwei")).get("/notices");
    expect(manager.status).toBe(200);
    expect(manager.html).toContain("政务外网出口中断");
    expect(manager.html).toContain("存储扩容检修");
    expect(manager.html).toContain("2026-10-09 22:00 至 2026-10-10 02:00");
    expect(manager.html).toContain("002 第三十条");
    const police = await (await t.signedIn("hexin")).get("/notices");
    expect(police.html).toContain("政务外网出口中断");
    expect(police.html).not.toContain("存储扩容检修");
    expect(police.html).toContain('href="/notices"');
    const school = await (await t.signedIn("lihua")).get("/notices");
    expect(school.html).not.toContain("政务外网出口中断");
    expect(school.html).toContain("存储扩容检修");
    expect(school.html).toContain("暂无涉及您的故障与突发事件");
  });
});
