import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { describe, expect, test } from "vitest";
import { chromiumAvailable, openBrowser, openForm, SCREENSHOTS, servePortal, signIn } from "./browser-harness";

// Issue 12, Applicants, in Chromium: 李华 files a 云资源申请 through the form, sees who decides each stage by
// which date, submits; 黄敏 (梅县区 data bureau) returns it from her 待办; 李华 edits and resubmits; 黄敏 approves.

const BROWSER_TIMEOUT = 90_000;

const field = (page: Page, name: string) => page.locator(`[name="${name}"]`);

describe.runIf(chromiumAvailable())("filing on the portal in Chromium", () => {
  const portal = servePortal({ now: "2026-09-30T01:00:00Z" }, BROWSER_TIMEOUT); // the day before 国庆

  test("a 云资源申请 filed, previewed, returned, edited, resubmitted and approved, all in the browser", { timeout: BROWSER_TIMEOUT }, async () => {
    const base = portal.base;
    const applicant = await openBrowser({ width: 375, height: 812 });
    const bureau = await openBrowser();
    try {
      const { page } = applicant;
      await signIn(page, portal, "lihua");
      await openForm(page, portal, /^云资源申请/, "application");

      await field(page, "systemName").fill("梅县区教育资助管理系统");
      await field(page, "contact.name").fill("李华");
      await field(page, "contact.mobile").fill("13800000001");
      await field(page, "maintainer.name").fill("陈工");
      await field(page, "maintainer.mobile").fill("1380000000"); // one digit short: told so under the field
      await field(page, "networkZone").selectOption({ label: "政务外网" });
      await field(page, "vms[0].purpose").fill("应用服务器");
      await field(page, "vms[0].vcpu").fill("4");
      await field(page, "vms[0].memoryGb").fill("8");
      await field(page, "vms[0].diskGb").fill("100");
      await field(page, "vms[0].os").fill("麒麟 V10");
      await field(page, "vms[0].quantity").fill("2");
      // The script adds the row in place and keeps 总计 current.
      await page.getByRole("button", { name: "添加一行" }).first().click();
      await field(page, "vms[1].purpose").fill("数据库服务器");
      await field(page, "vms[1].vcpu").fill("8");
      await field(page, "vms[1].memoryGb").fill("32");
      await field(page, "vms[1].diskGb").fill("200");
      await field(page, "vms[1].os").fill("麒麟 V10");
      await field(page, "vms[1].backup.type").selectOption({ label: "数据库" });
      await field(page, "vms[1].backup.copies").selectOption({ label: "同城容灾备份" });
      await field(page, "vms[1].backup.strategy").fill("每日 02:00 全量");
      expect(await page.locator('[data-total="vcpu"]').textContent()).toBe("16");
      expect(await page.locator('[data-total="storageGb"]').textContent()).toBe("400");
      await field(page, "plan.kind").selectOption({ label: "已有系统迁移上云" });
      await field(page, "plan.resourceNeeds").fill("应用 2 台、数据库 1 台");
      await field(page, "plan.steps").fill("12 月第 1 周部署，第 2 周迁移，第 3 周切换");
      // 004 第十一条: the plan's six parts are each required.
      await field(page, "plan.currentState").fill("现运行于区教育局机房两台物理服务器");
      await field(page, "plan.impact").fill("切换期间停机 2 小时");
      await field(page, "plan.rollback").fill("保留原机房环境 3 个月，可回切");
      await field(page, "plan.emergency").fill("值班联系人 24 小时待命");
      // The plan uploaded with the form (multipart); it stays stored across the corrections below.
      await field(page, "attachments[0].purpose").selectOption({ label: "迁云上云实施方案" });
      await field(page, "attachments[0].fileId").setInputFiles(fileURLToPath(new URL("../examples/plan.pdf", import.meta.url)));

      await page.getByRole("button", { name: "预览" }).last().click();
      expect(await page.locator("#f-maintainer-mobile-error").textContent()).toBe("维护负责人联系电话格式不正确，应为 11 位手机号");
      expect(await page.locator("#f-attachments-0-fileId").textContent()).toMatch(/^plan\.pdf（\d+ KB）$/);
      await field(page, "maintainer.mobile").fill("13800000002");
      await page.getByRole("button", { name: "预览" }).last().click();

      // Who decides each stage, by which date: 国庆 skipped, the 10-10 调休 Saturday counted.
      await page.waitForSelector("table.ys-preview");
      const first = page.locator('tr[data-stage="county_review"] td');
      expect(await first.nth(1).textContent()).toBe("黄敏（梅州市梅县区政务服务数据管理局）");
      expect(await first.nth(2).textContent()).toBe("2026-10-08 前（1 个工作日）");
      expect(await page.locator('tr[data-stage="evaluate"] td').nth(2).textContent()).toBe("2026-10-12 前（3 个工作日）");
      await page.screenshot({ path: join(SCREENSHOTS, "forms-preview-375.png"), fullPage: true });
      await page.getByRole("button", { name: "提交" }).click();
      await page.waitForURL(/\/requests\/YS-2026-\d{5}\?done=submit$/);
      const code = /YS-2026-\d{5}/.exec(page.url())![0];

      // 黄敏 returns it from her 待办.
      await signIn(bureau.page, portal, "huangmin");
      await bureau.page.getByRole("link", { name: new RegExp(code) }).click();
      await bureau.page.locator('form:has(input[name="action"][value="return"]) textarea[name="reason"]').fill("请将应用服务器内存调整为 16G");
      await bureau.page.getByRole("button", { name: "退回" }).click();
      await bureau.page.waitForURL(`${base}/requests/${code}?done=return`);

      // 李华 opens the form filled in, with the reason, edits and resubmits.
      await page.goto(`${base}/requests/${code}`);
      await page.getByRole("link", { name: "修改后重新提交" }).click();
      await page.waitForURL(`${base}/requests/${code}/edit`);
      expect(await page.locator(".ys-error").first().textContent()).toContain("理由：请将应用服务器内存调整为 16G");
      expect(await field(page, "vms[0].memoryGb").inputValue()).toBe("8");
      await field(page, "vms[0].memoryGb").fill("16");
      await page.getByRole("button", { name: "重新提交" }).last().click();
      await page.waitForURL(`${base}/requests/${code}?done=resubmit`);

      // Back in 黄敏's 待办, approved from there.
      await bureau.page.goto(`${base}/`);
      await bureau.page.getByRole("link", { name: new RegExp(code) }).click();
      await bureau.page.getByRole("button", { name: "同意并提交" }).click();
      await bureau.page.waitForURL(`${base}/requests/${code}?done=approve`);
      const detail = (await portal.t.show("lihua", code)).body;
      expect(detail.currentStage.stage).toBe("evaluate");
      expect(detail.form.vms[0].memoryGb).toBe(16);
      expect(detail.form.attachments).toMatchObject([{ purpose: "plan", name: "plan.pdf" }]);
    } finally {
      await applicant.close();
      await bureau.close();
    }
  });
});
