import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ok, sampleForm } from "./app-harness";
import { chromiumAvailable, openBrowser, SCREENSHOTS, servePortal, signIn } from "./browser-harness";

const BROWSER_TIMEOUT = 60_000;

describe.runIf(chromiumAvailable())("the web portal in Chromium (issue 12 Tests)", () => {
  const portal = servePortal({}, BROWSER_TIMEOUT);

  test("the county bureau signs in with a link, sees 待办, opens the request, approves it with a click, signs out", { timeout: BROWSER_TIMEOUT }, async () => {
    const filed = ok(await portal.t.submit("lihua", sampleForm()), 201);
    const browser = await openBrowser();
    try {
      const { page } = browser;
      await page.goto(`${portal.base}/login/${await portal.t.linkFor("huangmin")}`);
      await expect(page.getByRole("heading", { name: "以 黄敏（梅州市梅县区政务服务数据管理局）身份登录" }).count()).resolves.toBe(1);
      await page.getByRole("button", { name: "登录" }).click();
      await page.waitForURL(`${portal.base}/`);
      expect(await page.locator("#todo .ys-count").textContent()).toBe("1");
      await page.getByRole("link", { name: new RegExp(filed.code) }).click();
      await page.waitForURL(`${portal.base}/requests/${filed.code}`);
      expect(await page.locator("h1").textContent()).toBe("梅县区教育资助管理系统");
      await page.getByRole("button", { name: "同意并提交" }).click();
      await page.waitForURL(`${portal.base}/requests/${filed.code}?done=approve`);
      expect(await page.locator(".ys-notice").textContent()).toBe("已提交您的意见");
      expect((await portal.t.show("zhangwei", filed.id)).body.currentStage.stage).not.toBe("county_review");
      // Nothing left to decide: the home page's 待办 is empty again.
      await page.goto(`${portal.base}/`);
      expect(await page.locator("#todo .ys-count").textContent()).toBe("0");

      await page.getByRole("button", { name: "退出" }).click();
      await page.waitForURL(`${portal.base}/login?reason=bye`);
      expect(await page.locator(".ys-notice").textContent()).toContain("您已退出云审");
      await page.goto(`${portal.base}/`);
      expect(new URL(page.url()).pathname).toBe("/login");
    } finally {
      await browser.close();
    }
  });

  test("a 驳回 at 审批 needs its reason, then rejects; someone of another unit gets the not-found page", { timeout: BROWSER_TIMEOUT }, async () => {
    const filed = ok(await portal.t.submit("lihua", sampleForm()), 201);
    // The county bureau forwards (it may not 驳回: 004 第十二条(一)); the vendor evaluates; the manager decides.
    ok(await portal.t.act("huangmin", filed.id, { action: "approve", stage: "county_review" }));
    ok(await portal.t.act("xufeng", filed.id, { action: "approve", stage: "evaluate" }));
    const approver = await openBrowser();
    const stranger = await openBrowser();
    try {
      const { page } = approver;
      await signIn(page, portal, "zhangwei");
      await page.goto(`${portal.base}/requests/${filed.code}`);
      // Without a reason the page says what is missing, and the request stays where it was.
      await page.getByRole("button", { name: "驳回" }).click();
      expect(await page.locator(".ys-error").textContent()).toBe("请填写驳回理由");
      expect((await portal.t.show("zhangwei", filed.id)).body.status).toBe("in_progress");
      await page.goto(`${portal.base}/requests/${filed.code}`);
      await page.getByLabel("驳回理由（必填）").fill("系统已有同类建设，不予重复建设");
      await page.getByRole("button", { name: "驳回" }).click();
      await page.waitForURL(`${portal.base}/requests/${filed.code}?done=reject`);
      expect(await page.locator("b").first().textContent()).toBe("已驳回");
      expect(await page.locator(".ys-history").textContent()).toContain("系统已有同类建设，不予重复建设");

      await signIn(stranger.page, portal, "hexin");
      const res = await stranger.page.goto(`${portal.base}/requests/${filed.code}`);
      expect(res!.status()).toBe(404);
      expect(await stranger.page.locator(".weui-msg__desc").first().textContent()).toContain("不存在或您无权查看");
    } finally {
      await approver.close();
      await stranger.close();
    }
  });

  test("a POST without the CSRF token is refused in the browser too", { timeout: BROWSER_TIMEOUT }, async () => {
    const browser = await openBrowser();
    try {
      const { page } = browser;
      await signIn(page, portal, "yangfan");
      // The session cookie goes along (same origin), the token does not: refused, and still signed in.
      const status = await page.evaluate(async () => (await fetch("/logout", { method: "POST", body: new URLSearchParams({ x: "1" }) })).status);
      expect(status).toBe(403);
      await page.reload();
      expect(new URL(page.url()).pathname).toBe("/");
    } finally {
      await browser.close();
    }
  });

  for (const viewport of [
    { width: 375, height: 812 },
    { width: 1280, height: 800 },
  ])
    test(`the layout at ${viewport.width} px: nothing wider than the window, screenshots written`, { timeout: BROWSER_TIMEOUT }, async () => {
      const filed = ok(await portal.t.submit("lihua", sampleForm()), 201);
      const browser = await openBrowser(viewport);
      try {
        const { page } = browser;
        await signIn(page, portal, "huangmin");
        for (const [name, path] of [
          ["home", "/"],
          ["request", `/requests/${filed.code}`],
        ] as const) {
          await page.goto(`${portal.base}${path}`);
          // Wide tables scroll inside their own box; the page itself never scrolls sideways.
          const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
          expect(overflow, `${name} at ${viewport.width} px`).toBeLessThanOrEqual(0);
          // WeUI's stylesheet is the service's own and applied (its green primary button, not the browser's grey).
          if (name === "request") {
            const color = await page.getByRole("button", { name: "同意并提交" }).evaluate((b) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(b).backgroundColor);
            expect(color).toBe("rgb(7, 193, 96)");
          }
          await page.screenshot({ path: join(SCREENSHOTS, `${name}-${viewport.width}.png`), fullPage: true });
        }
      } finally {
        await browser.close();
      }
    });
});
