import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { listRequests } from "../../../engine";
import { ActionForm, DONE, Outcome, REQUEST_CODE } from "../actions";
import { Page } from "../layout";
import type { WebDeps, WebEnv } from "../session";
import { Badge, Deadline, when } from "../words";

// The most a person is shown at once: a 待办 longer than this is the search page's job.
const TODO_LIMIT = 200;
const MINE_LIMIT = 50;

type TodoItem = Awaited<ReturnType<typeof listRequests>>["items"][number];

/**
 * One 待办 row's decisions: those that need nothing more are buttons right here, bound to the stage run the
 * list was read from; those that ask for a reason, a note or the form open the request's page.
 */
function TodoActions({ r, csrf }: { r: TodoItem; csrf: string }) {
  const decisions = r.decisions ?? [];
  if (decisions.length === 0) return null;
  const ready = decisions.filter((d) => d.asks === null);
  const asking = decisions.filter((d) => d.asks !== null);
  return (
    <div class="ys-todo-actions">
      {ready.map((d) => (
        <ActionForm action={d.action} csrf={csrf} code={r.code} runId={r.stageRunId} label={d.label} primary from="todo" />
      ))}
      {asking.length > 0 ? (
        <a
          class="weui-btn weui-btn_mini weui-btn_default"
          href={asking.some((d) => d.action === "resubmit") ? `/requests/${r.code}/edit` : `/requests/${r.code}#actions`}
          title={`需填写：${asking.map((d) => d.asks).join("；")}`}
        >
          {asking.map((d) => d.label).join(" / ")}…
        </a>
      ) : null}
    </div>
  );
}

/** What the home page says about an action sent from its list (`?done=approve&code=YS-…`), or nothing. */
function doneNotice(c: Context<WebEnv>): string | undefined {
  const done = DONE[c.req.query("done") ?? ""];
  const code = c.req.query("code") ?? "";
  return done && REQUEST_CODE.test(code) ? `${code}：${done}` : undefined;
}

/** The home page: 待办 (count and list, most urgent first) and 我的申请, with what became of an action sent from the list. */
export async function renderHome(c: Context<WebEnv>, message: { error?: string; notice?: string } = {}, status: ContentfulStatusCode = 200) {
  const ctx = c.get("ctx");
  const csrf = c.get("session").csrf;
  const now = ctx.clock.now();
  // The engine's own views: what they show is what the API would show this person, no more.
  // The most urgent first, found by deadline in the database: with more waiting than the page shows, the
  // ones shown are the most urgent, and the count is of all of them.
  const { items: todo, total } = await listRequests({ ctx, input: { view: "todo", limit: TODO_LIMIT, order: "deadline" } });
  const mine = (await listRequests({ ctx, input: { view: "mine", limit: MINE_LIMIT } })).items;
  return c.html(
    <Page title="首页" ctx={ctx} csrf={csrf} current="/">
      <Outcome message={message} />
      <h2 class="ys-section-title" id="todo">
        待办<span class="ys-count">{total ?? todo.length}</span>
      </h2>
      {total !== undefined && total > todo.length ? <p class="ys-panel ys-muted">待办共 {total} 件，这里列出期限最近的 {todo.length} 件。</p> : null}
      {todo.length === 0 ? (
        <p class="ys-panel ys-muted">暂无待办事项。</p>
      ) : (
        <div class="weui-cells">
          {todo.map((r) => (
            <div class="weui-cell">
              <div class="weui-cell__bd">
                <a class="ys-todo-link" href={`/requests/${r.code}`}>
                  <p>{r.title}</p>
                  <p class="ys-muted">
                    {r.code}
                    <Badge text={r.badge} /> · {r.unitName} · {r.currentStageName ?? r.statusName}
                  </p>
                </a>
                <TodoActions r={r} csrf={csrf} />
              </div>
              <div class="weui-cell__ft">
                <Deadline calendar={ctx.calendar} deadlineAt={r.deadlineAt} now={now} />
              </div>
            </div>
          ))}
        </div>
      )}
      <h2 class="ys-section-title" id="mine">
        我的申请
      </h2>
      {mine.length === 0 ? (
        <p class="ys-panel ys-muted">
          您还没有提交过申请。<a href="/new">发起申请</a>
        </p>
      ) : (
        <div class="ys-table-wrap">
          <table class="ys-table">
            <thead>
              <tr>
                <th>编号</th>
                <th>名称</th>
                <th>状态</th>
                <th>当前环节</th>
                <th>提交时间</th>
              </tr>
            </thead>
            <tbody>
              {mine.map((r) => (
                <tr>
                  <td>
                    <a href={`/requests/${r.code}`}>{r.code}</a>
                    <Badge text={r.badge} />
                  </td>
                  <td>{r.title}</td>
                  <td>{r.statusName}</td>
                  <td>{r.currentStageName ?? "—"}</td>
                  <td>{when(r.submittedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>,
    status,
  );
}

export function homePages(_deps: WebDeps) {
  const app = new Hono<WebEnv>();
  app.get("/", (c) => renderHome(c, { notice: doneNotice(c) }));
  return app;
}
