import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { serveOnLoopback } from "./app-harness";
import { createWebTestApp, type WebTestApp } from "./web-harness";

/** Debian's Chromium (`apt-get install -y chromium`), which the browser tests drive with playwright-core. */
export const CHROMIUM = "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Whether the browser tests can run here. Without Chromium they are skipped with a message saying how to get
 * it, except under CI=true, where a missing browser must fail the run rather than pass it quietly.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `浏览器测试需要 Chromium（${CHROMIUM}），请先运行：apt-get install -y chromium`;
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`${message}；本次跳过浏览器测试。`);
  return false;
}

/** A browser of its own (a fresh profile directory, so its cookies are its own), at the given window size. */
export async function openBrowser(viewport: { width: number; height: number } = { width: 1280, height: 800 }): Promise<{
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}> {
  const profile = mkdtempSync(join(tmpdir(), "yunshen-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport,
    locale: "zh-CN",
    timezoneId: "Asia/Shanghai",
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The portal of a test app, served on a loopback port for the browsers: `t` and `base` once beforeAll ran. */
export interface ServedPortal {
  t: WebTestApp;
  base: string;
}

/** Serves a web test app on loopback for the describe block it is called in, and closes both after it. */
export function servePortal(opts: Parameters<typeof createWebTestApp>[0] = {}, timeout = 90_000): ServedPortal {
  const portal = {} as ServedPortal;
  let server: Awaited<ReturnType<typeof serveOnLoopback>> | undefined;
  beforeAll(async () => {
    portal.t = await createWebTestApp(opts);
    server = await serveOnLoopback(portal.t.app.fetch);
    portal.base = server.base;
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, timeout);
  afterAll(async () => {
    await server?.close();
    await portal.t?.close();
  });
  return portal;
}

/**
 * Signs `page` in as `userId` through a one-time link (what `yunshen login-link` prints): the link's page, its
 * 登录 button, then the home page.
 */
export async function signIn(page: Page, { base, t }: ServedPortal, userId: string): Promise<void> {
  await page.goto(`${base}/login/${await t.linkFor(userId)}`);
  await page.getByRole("button", { name: "登录" }).click();
  await page.waitForURL(`${base}/`);
}

/** 发起申请 → the form of that title, from the nav of a signed-in page. */
export async function openForm(page: Page, { base }: ServedPortal, title: RegExp, key: string): Promise<void> {
  await page.getByRole("navigation").getByRole("link", { name: "发起申请" }).click();
  await page.getByRole("link", { name: title }).click();
  await page.waitForURL(`${base}/new/${key}`);
}

/** Where the browser tests write their screenshots (git-ignored). */
export const SCREENSHOTS = join(import.meta.dirname, "screenshots");
