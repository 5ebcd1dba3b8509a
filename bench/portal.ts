import type { Database } from "../db/client";
import { webMount } from "../src/channels/web";
import { systemClock } from "../src/core/context";
import { createLoginLink } from "../src/directory/login-links";
import { createApp } from "../src/http/app";
import { drive, expectSuccess, line, runWhenMain, seedDemo } from "./drive";

// The portal's 待办 page (issue 12) against the JSON list of the same rows, same run, same database: what the
// server-side rendering, the deadline words and the layout cost on top of the engine's view.

export async function benchPortal(database: Database, opts: { open?: number; count?: number } = {}) {
  const open = opts.open ?? 1_000;
  const count = opts.count ?? 200;
  const concurrency = 4;
  const { calendar, tokenFor, form } = await seedDemo(database);
  const applicant = await tokenFor("yangfan");
  const provider = await tokenFor("xufeng");
  const app = createApp({ db: database.db, clock: systemClock, calendar: () => calendar, profile: "meizhou", log: () => {}, channels: [webMount({ idleHours: 8, uploadMaxMb: 20 })] });
  await drive(open, 8, async (i) =>
    expectSuccess(
      await app.request("/api/requests", { method: "POST", headers: { authorization: `Bearer ${applicant}`, "content-type": "application/json" }, body: JSON.stringify({ form }) }),
      `submit ${i}`,
    ),
  );
  // The provider signs in with a one-time link, as a person would.
  const ctx = { db: database.db, clock: systemClock, calendar, profile: "meizhou" as const, actor: null, channel: "cli" as const };
  const link = await createLoginLink({ ctx, input: { userId: "xufeng" } });
  const signIn = await app.request(`/login/${link.token}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "" });
  const cookie = signIn.headers.get("set-cookie")!.split(";")[0]!;
  // The page lists the 200 most urgent pending requests (the engine's page size) with how many there are in all:
  // the JSON list asks for the same 200 in the same order, so the engine runs the same statements for both.
  const json = () => app.request("/api/requests?view=todo&limit=200&order=deadline", { headers: { authorization: `Bearer ${provider}` } });
  const page = () => app.request("/", { headers: { cookie } });
  await sameRows(await json(), await page());
  await drive(20, concurrency, async (i) => {
    await expectSuccess(await json(), `warm-up json ${i}`);
    await expectSuccess(await page(), `warm-up page ${i}`);
  });
  const list = await drive(count, concurrency, async (i) => expectSuccess(await json(), `todo json ${i}`));
  const portal = await drive(count, concurrency, async (i) => expectSuccess(await page(), `todo page ${i}`));
  console.log(`portal 待办 page vs JSON list (${database.kind}, ${open} pending, 200 rows shown, ${count} of each, ${concurrency} in flight):`);
  console.log(line("  GET /api/requests?view=todo…", list));
  console.log(line("  GET / (待办 page)", portal));
  console.log(`  ratio page / JSON: ${(portal.ops / list.ops).toFixed(2)} (1.00 = rendering costs nothing)`);
}

/**
 * Throws unless the page shows the JSON list's rows in its order, each with its 待办 decision as a button (the
 * provider's 提交评估意见 needs no note on the example form): the bench measures the page people get.
 */
async function sameRows(json: Response, page: Response) {
  const list = (await json.json()) as { items: { code: string }[]; total: number };
  const html = await page.text();
  const todo = html.slice(html.indexOf('id="todo"'), html.indexOf('id="mine"'));
  const shown = [...todo.matchAll(/class="ys-todo-link" href="\/requests\/([^"]+)"/g)].map((m) => m[1]);
  const buttons = todo.match(/name="back" value="todo"/g)?.length ?? 0;
  if (list.items.length !== 200 || shown.join() !== list.items.map((i) => i.code).join() || buttons !== 200 || !todo.includes(`>${list.total}<`))
    throw new Error(`the 待办 page does not show the JSON list's 200 rows with their buttons (${shown.length} rows, ${buttons} buttons)`);
}

await runWhenMain(import.meta.url, benchPortal);
