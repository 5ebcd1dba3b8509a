import { Hono } from "hono";
import { listRequests } from "../../../engine";
import { Page } from "../layout";
import type { WebDeps, WebEnv } from "../session";
import { Deadline, when } from "../words";

// The most a person is shown at once: a 待办 longer than this is the search page's job.
const TODO_LIMIT = 200;
const MINE_LIMIT = 50;

/** The home page: 待办 (count and list, most urgent first) and 我的申请. */
export function homePages(_deps: WebDeps) {
  const app = new Hono<WebEnv>();
  app.get("/", async (c) => {
    const ctx = c.get("ctx");
    const now = ctx.clock.now();
    // The engine's own views: what they show is what the API would show this person, no more.
    // The most urgent first, found by deadline in the database: with more waiting than the page shows, the
    // ones shown are the most urgent, and the count is of all of them.
    const { items: todo, total } = await listRequests({ ctx, input: { view: "todo", limit: TODO_LIMIT, order: "deadline" } });
    const mine = (await listRequests({ ctx, input: { view: "mine", limit: MINE_LIMIT } })).items;
    return c.html(
      <Page title="首页" ctx={ctx} csrf={c.get("session").csrf} current="/">
        <h2 class="ys-section-title" id="todo">
          待办<span class="ys-count">{total ?? todo.length}</span>
        </h2>
        {total !== undefined && total > todo.length ? <p class="ys-panel ys-muted">待办共 {total} 件，这里列出期限最近的 {todo.length} 件。</p> : null}
        {todo.length === 0 ? (
          <p class="ys-panel ys-muted">暂无待办事项。</p>
        ) : (
          <div class="weui-cells">
            {todo.map((r) => (
              <a class="weui-cell weui-cell_access" href={`/requests/${r.code}`}>
                <div class="weui-cell__bd">
                  <p>{r.title}</p>
                  <p class="ys-muted">
                    {r.code} · {r.unitName} · {r.currentStageName ?? r.statusName}
                  </p>
                </div>
                <div class="weui-cell__ft">
                  <Deadline calendar={ctx.calendar} deadlineAt={r.deadlineAt} now={now} />
                </div>
              </a>
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
    );
  });
  return app;
}
