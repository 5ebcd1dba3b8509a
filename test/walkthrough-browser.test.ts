import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { describe, expect, test } from "vitest";
import { sampleForm } from "./app-harness";
import { chromiumAvailable, openBrowser, openForm, SCREENSHOTS, servePortal, signIn } from "./browser-harness";

// The README's browser walk-through (issue 12: "the request completes through the portal alone"): the
// application of the curl walk-through (examples/application.json, examples/plan.pdf) filed by 李华 on a phone,
// then decided stage by stage by each party on the request's page, to 已办结 and 李华's 评价. Around 国庆 2026:
// the holiday is skipped and the 10-10 调休 Saturday counted in every deadline the pages show.
// With UPDATE_SCREENSHOTS=1 the README's pictures (docs/screenshots/walkthrough-NN-*.png) are written again.

const BROWSER_TIMEOUT = 180_000;
const PHONE = { width: 375, height: 812 };
const DESKTOP = { width: 1280, height: 800 };
const DOCS = fileURLToPath(new URL("../docs/screenshots/", import.meta.url));
const UPDATE = process.env.UPDATE_SCREENSHOTS === "1";

const field = (page: Page, name: string) => page.locator(`[name="${name}"]`);
/** The request's entry in the home page's 待办 (李华's own requests are also listed under 我的申请). */
/** A request's row in the 待办 list: its link, its deadline (.weui-cell__ft) and the buttons that need nothing more. */
const todoItem = (page: Page, code: string) => page.locator("#todo ~ .weui-cells .weui-cell", { hasText: code });
const text = async (page: Page, selector: string) => (await page.locator(selector).first().textContent())?.replace(/\s+/g, " ").trim();

describe.runIf(chromiumAvailable())("the README's walk-through in Chromium: one application, filed and decided in the portal alone", () => {
  const portal = servePortal({ now: "2026-09-30T01:00:00Z" }, BROWSER_TIMEOUT); // Wednesday 09:00, the day before 国庆
  let shots = 0;
  let docShots = 0;

  /** A screenshot into test/screenshots; the README's ones also into docs/screenshots when asked to. */
  async function shot(page: Page, name: string, opts: { readme?: boolean; fullPage?: boolean; height?: number; top?: string } = {}) {
    // The part worth showing at the window's top: a phone's window holds little of a long page.
    if (opts.top) await page.evaluate(`document.querySelector(${JSON.stringify(opts.top)}).scrollIntoView()`);
    const clip = opts.height ? { x: 0, y: 0, width: page.viewportSize()!.width, height: opts.height } : undefined;
    const image = await page.screenshot({ path: join(SCREENSHOTS, `walkthrough-${String(++shots).padStart(2, "0")}-${name}.png`), fullPage: opts.fullPage ?? false, clip });
    if (opts.readme && UPDATE) writeFileSync(join(DOCS, `walkthrough-${String(++docShots).padStart(2, "0")}-${name}.png`), image);
  }

  /** The request's page as `page` sees it: its status line, and who holds the current stage until when. */
  async function requestPage(page: Page, code: string) {
    await page.goto(`${portal.base}/requests/${code}`);
    const open = page.locator("table.ys-table tr", { has: page.locator("td", { hasText: "办理中" }) });
    return {
      status: await text(page, "p.ys-panel"),
      holder: (await open.count()) > 0 ? await open.locator("td").nth(2).textContent() : null,
      deadline: (await open.count()) > 0 ? await open.locator("td").nth(4).textContent() : null,
    };
  }

  /** The person signed in on `page` opens the request from their 待办, at `stage`, and presses its button. */
  async function decide(page: Page, code: string, stage: string, button: string, opts: { note?: string; shot?: string; readme?: boolean; top?: string; fill?: (page: Page) => Promise<void> } = {}) {
    await page.goto(`${portal.base}/`);
    await todoItem(page, code).locator("a.ys-todo-link").click();
    await page.waitForURL(`${portal.base}/requests/${code}`);
    expect(await text(page, "#actions")).toBe(`办理：${stage}`);
    await opts.fill?.(page);
    if (opts.note) await page.getByLabel("意见（可选）").fill(opts.note);
    if (opts.shot) await shot(page, opts.shot, { readme: opts.readme, top: opts.top });
    await page.getByRole("button", { name: button, exact: true }).click();
    await page.waitForURL(/\?done=approve$/);
    expect(await text(page, ".ys-notice")).toBe("已提交您的意见");
  }

  const at = (iso: string) => portal.t.clock.set(iso);

  test("李华 files it on a phone; 黄敏, 徐峰, 张伟, 郭军 and 李华 decide every stage on its page; 已办结, then 评价", { timeout: BROWSER_TIMEOUT }, async () => {
    const base = portal.base;
    const form = sampleForm();
    const applicant = await openBrowser(PHONE);
    const bureau = await openBrowser(DESKTOP);
    const vendor = await openBrowser(DESKTOP);
    const manager = await openBrowser(DESKTOP);
    const reviewer = await openBrowser(DESKTOP);
    try {
      const { page } = applicant;
      // 1. 李华 signs in with her link: 发起申请 → 云资源申请, the form filled with the example's values.
      await signIn(page, portal, "lihua");
      await openForm(page, portal, /^云资源申请/, "application");
      await field(page, "systemName").fill(form.systemName);
      await field(page, "contact.name").fill(form.contact.name);
      await field(page, "contact.mobile").fill(form.contact.mobile);
      await field(page, "maintainer.company").fill(form.maintainer.company);
      await field(page, "maintainer.name").fill(form.maintainer.name);
      await field(page, "maintainer.mobile").fill(form.maintainer.mobile);
      await field(page, "networkZone").selectOption({ label: "政务外网" });
      for (const [i, vm] of (form.vms as Record<string, any>[]).entries()) {
        if (i > 0) await page.getByRole("button", { name: "添加一行" }).first().click();
        for (const key of ["purpose", "vcpu", "memoryGb", "diskGb", "os", "ports", "quantity"]) await field(page, `vms[${i}].${key}`).fill(String(vm[key]));
        if (vm.backup) {
          await field(page, `vms[${i}].backup.type`).selectOption({ label: "数据库" });
          await field(page, `vms[${i}].backup.copies`).selectOption({ label: "同城容灾备份" });
          await field(page, `vms[${i}].backup.strategy`).fill(vm.backup.strategy);
          await field(page, `vms[${i}].backup.retentionMonths`).fill(String(vm.backup.retentionMonths));
        }
      }
      expect(await page.locator('[data-total="vcpu"]').textContent()).toBe("16");
      expect(await page.locator('[data-total="storageGb"]').textContent()).toBe("400");
      await field(page, "plan.kind").selectOption({ label: "已有系统迁移上云" });
      for (const key of ["currentState", "resourceNeeds", "steps", "impact", "rollback", "emergency"]) await field(page, `plan.${key}`).fill(form.plan[key]);
      for (const key of ["vcpu", "memoryGb", "storageGb"]) await field(page, `plan.plannedTotals.${key}`).fill(String(form.plan.plannedTotals[key]));
      await field(page, "attachments[0].purpose").selectOption({ label: "迁云上云实施方案" });
      await field(page, "attachments[0].fileId").setInputFiles(fileURLToPath(new URL("../examples/plan.pdf", import.meta.url)));
      await shot(page, "form", { readme: true, top: "body" });

      // 2. 预览: every stage, who decides it, by which day; 国庆 skipped, the 10-10 调休 Saturday counted.
      await page.getByRole("button", { name: "预览" }).last().click();
      await page.waitForSelector("table.ys-preview");
      const preview = async (stage: string) => (await page.locator(`tr[data-stage="${stage}"] td`).allTextContents()).slice(0, 3);
      expect(await preview("county_review")).toEqual(["县级数据局初审", "黄敏（梅州市梅县区政务服务数据管理局）", "2026-10-08 前（1 个工作日）"]);
      expect(await preview("evaluate")).toEqual(["需求评估", expect.stringContaining("徐峰"), "2026-10-12 前（3 个工作日）"]);
      await shot(page, "preview", { readme: true, fullPage: true });

      // 3. 提交: the request's page, at 县级数据局初审 with 黄敏, due the first working day after 国庆.
      await page.getByRole("button", { name: "提交" }).click();
      await page.waitForURL(/\/requests\/YS-2026-\d{5}\?done=submit$/);
      const code = /YS-2026-\d{5}/.exec(page.url())![0];
      expect(await text(page, ".ys-notice")).toBe("申请已提交");
      expect(await text(page, "p.ys-panel")).toBe(`${code} · 梅州市梅县区教育局 · 办理中 · 当前环节：县级数据局初审`);
      await shot(page, "submitted", { readme: true });
      expect(await requestPage(page, code)).toMatchObject({ holder: "黄敏：待处理", deadline: "剩余 1 个工作日（2026-10-08）" });

      // 4. 黄敏 (county bureau), the same morning: the request in her 待办, 同意并提交.
      at("2026-09-30T02:00:00Z");
      await signIn(bureau.page, portal, "huangmin");
      expect(await text(bureau.page, "#todo .ys-count")).toBe("1");
      const todo = todoItem(bureau.page, code);
      expect(await todo.locator(".weui-cell__ft").textContent()).toBe("剩余 1 个工作日（2026-10-08）");
      expect(await todo.locator(".ys-muted").textContent()).toBe(`${code} · 梅州市梅县区教育局 · 县级数据局初审`);
      await shot(bureau.page, "todo", { readme: true, height: 360 });
      // Straight from the list: 同意并提交 asks for nothing more, so it is a button on the row.
      await todo.getByRole("button", { name: "同意并提交" }).click();
      await bureau.page.waitForURL(`${portal.base}/?done=approve&code=${code}#todo`);
      expect(await text(bureau.page, ".ys-notice")).toBe(`${code}：已提交您的意见`);
      expect(await text(bureau.page, "#todo .ys-count")).toBe("0");
      // The vendor's 3 working days: 10-08, 10-09 and the 调休 Saturday 10-10.
      expect(await requestPage(page, code)).toMatchObject({ status: `${code} · 梅州市梅县区教育局 · 办理中 · 当前环节：需求评估`, deadline: "剩余 3 个工作日（2026-10-10）" });
      expect((await requestPage(page, code)).holder).toContain("徐峰：待处理");

      // 5. 徐峰 (vendor) after the holiday: 需求评估 with its note.
      at("2026-10-09T01:00:00Z");
      await signIn(vendor.page, portal, "xufeng");
      expect(await todoItem(vendor.page, code).locator(".weui-cell__ft").textContent()).toBe("剩余 1 个工作日（2026-10-10）");
      await decide(vendor.page, code, "需求评估", "提交评估意见", { note: "配置合理", shot: "evaluate-note", readme: true });
      expect(await vendor.page.locator(".ys-history").textContent()).toContain("“配置合理”");

      // 6. 张伟 (city manager) on the 调休 Saturday: 审批, 同意.
      at("2026-10-10T01:00:00Z");
      await signIn(manager.page, portal, "zhangwei");
      expect(await todoItem(manager.page, code).locator(".weui-cell__ft").textContent()).toBe("剩余 2 个工作日（2026-10-13）");
      await decide(manager.page, code, "审批", "同意");

      // 7. 徐峰: 资源开通.
      // A session ends after 8 idle hours (WEB_SESSION_IDLE_HOURS): each working day starts with a new link.
      at("2026-10-12T01:00:00Z");
      await signIn(vendor.page, portal, "xufeng");
      await decide(vendor.page, code, "资源开通", "已开通，提交使用单位确认", { note: "已开通" });

      // 8. 李华: the database server's backup checked the day it is delivered, then the resources confirmed.
      at("2026-10-12T03:00:00Z");
      await signIn(page, portal, "lihua");
      expect(await requestPage(page, code)).toMatchObject({
        status: `${code} · 梅州市梅县区教育局 · 办理中 · 当前环节：备份有效性核验`,
        holder: "李华：待处理",
        deadline: "当天到期（2026-10-12）",
      });
      await decide(page, code, "备份有效性核验", "备份有效", { note: "备份恢复正常" });
      expect(await requestPage(page, code)).toMatchObject({ status: `${code} · 梅州市梅县区教育局 · 办理中 · 当前环节：使用单位确认资源`, deadline: "剩余 3 个工作日（2026-10-15）" });
      await decide(page, code, "使用单位确认资源", "确认资源无误", { shot: "confirm-delivery", readme: true, top: "#actions" });

      // 9. 郭军 (reviewer): 发放核查.
      at("2026-10-13T01:00:00Z");
      await signIn(reviewer.page, portal, "guojun");
      await decide(reviewer.page, code, "发放核查", "核查通过");

      // 10. 李华 deploys the system and asks for the security test; 张伟 passes it; 李华 puts it live.
      at("2026-10-14T01:00:00Z");
      await signIn(page, portal, "lihua");
      expect(await requestPage(page, code)).toMatchObject({ status: `${code} · 梅州市梅县区教育局 · 办理中 · 当前环节：系统部署`, holder: "李华：待处理" });
      await decide(page, code, "系统部署", "部署完成", { note: "系统已部署" });
      // 004 第十七条(二): the application is the 附件6, filled in on the page (the system's 密评 is on the register,
      // 004 第四十条); a date ahead of today is refused under its field, and the page keeps what was typed.
      const annex6 = async (p: Page) => {
        await field(p, "deployedOn").fill("2026-10-15");
        await field(p, "accessAddress").fill("https://jyzz.meixian.gov.cn");
        await field(p, "ports").fill("443,8443");
        await field(p, "mlpsLevel").selectOption({ label: "第二级" });
        await field(p, "cryptoUse").fill("采用 SM2/SM3/SM4 国产商用密码算法：SSL 证书与数据库字段加密");
        await field(p, "contact.name").fill("李华");
        await field(p, "contact.mobile").fill(form.contact.mobile);
      };
      await portal.t.recordCryptoAssessment("lihua", { assessedOn: "2026-09-15" });
      await page.goto(`${base}/requests/${code}`);
      await annex6(page);
      await page.getByRole("button", { name: "提交安全检测申请", exact: true }).click();
      expect(await text(page, '[data-field="deployedOn"] .ys-field-error')).toBe("部署完成日期不能晚于今天（2026-10-14）");
      expect(await field(page, "accessAddress").inputValue()).toBe("https://jyzz.meixian.gov.cn");
      await decide(page, code, "申请上线前安全检测", "提交安全检测申请", {
        fill: async (p) => {
          await annex6(p);
          await field(p, "deployedOn").fill("2026-10-14");
        },
        shot: "security-test-application",
        top: "#actions",
      });
      expect(await page.locator(".ys-stage-form").first().textContent()).toContain("拟定等保级别第二级");
      at("2026-10-15T01:00:00Z");
      await signIn(manager.page, portal, "zhangwei");
      await decide(manager.page, code, "安全检测", "检测通过", { note: "检测通过" });
      at("2026-10-16T01:00:00Z");
      await signIn(page, portal, "lihua");
      await decide(page, code, "系统上线", "已上线", { note: "已上线" });

      // 11. 已办结: every stage passed, with who decided it and what they said.
      expect(await text(page, "p.ys-panel")).toBe(`${code} · 梅州市梅县区教育局 · 已办结`);
      const history = (await page.locator(".ys-history li").allTextContents()).map((s) => s.replace(/^\S+ \S+ /, "").replace(/\s+/g, " ").trim());
      expect(history).toEqual([
        "李华「县级数据局初审」提交申请",
        "黄敏「县级数据局初审」同意并提交",
        "徐峰「需求评估」提交评估意见“配置合理”",
        "张伟「审批」同意",
        "徐峰「资源开通」已开通，提交使用单位确认“已开通”",
        "李华「备份有效性核验」备份有效“备份恢复正常”",
        "李华「使用单位确认资源」确认资源无误",
        "郭军「发放核查」核查通过",
        "李华「系统部署」部署完成“系统已部署”",
        "李华「申请上线前安全检测」提交安全检测申请",
        "张伟「安全检测」检测通过“检测通过”",
        "李华「系统上线」已上线“已上线”",
        "李华「系统上线」办结",
      ]);
      // The same page on 张伟's desktop, the whole history at once.
      await signIn(manager.page, portal, "zhangwei");
      await manager.page.goto(`${base}/requests/${code}`);
      expect(await text(manager.page, "p.ys-panel")).toBe(`${code} · 梅州市梅县区教育局 · 已办结`);
      await shot(manager.page, "completed", { readme: true, fullPage: true });

      // 12. 评价: 李华 rates the vendor's service on the same page.
      await page.getByLabel("满意", { exact: true }).check();
      await page.getByLabel("意见（不满意请写明原因）").fill("开通及时");
      await page.getByRole("button", { name: "提交评价" }).click();
      await page.waitForURL(`${base}/requests/${code}?done=rate`);
      expect(await text(page, ".ys-notice")).toBe("感谢您的评价");
      expect(await page.getByRole("button", { name: "提交评价" }).count()).toBe(0);
      expect(await text(page, ".ys-history li:last-child")).toBe("2026-10-16 09:00 李华 服务评价：满意“开通及时”");
      await shot(page, "rated", { readme: true, top: ".ys-history li:nth-last-child(4)" });

      // What the API says of it: completed through the portal alone, every stage approved, the rating kept.
      const detail = (await portal.t.show("lihua", code)).body;
      expect(detail).toMatchObject({ status: "completed", rating: { score: "satisfied" } });
      expect(detail.stages.map((s: { stage: string; status: string }) => `${s.stage}:${s.status}`)).toEqual(
        ["county_review", "evaluate", "approve", "provision", "backup_check", "confirm_delivery", "verify_delivery", "deploy", "request_security_test", "security_test", "go_live"].map((s) => `${s}:approved`),
      );
      expect(detail.form.attachments).toMatchObject([{ purpose: "plan", name: "plan.pdf" }]);
      expect(detail.form.vms[1].backup).toEqual(form.vms[1].backup);
      expect(detail.form.plan).toEqual(form.plan);
    } finally {
      for (const b of [applicant, bureau, vendor, manager, reviewer]) await b.close();
    }
  });
});
