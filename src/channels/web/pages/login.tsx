import { Hono } from "hono";
import { peekLoginLink, signInWithLink } from "../../../directory/login-links";
import { ServiceError } from "../../../core/errors";
import { Message, Page } from "../layout";
import { setSessionCookie, webContext, type WebDeps, type WebEnv } from "../session";

const REASONS: Record<string, string> = {
  expired: "您已较长时间未操作，登录已超时，请重新登录。",
  bye: "您已退出云审。",
};

/** Where to go after signing in: a path of this site only, never another host ("//evil" or "https://…"). */
export function safeNext(next: string | undefined): string {
  return next && /^\/(?![/\\])/.test(next) ? next : "/";
}

/**
 * /login: how to sign in; /login/<token>: a one-time link's page. Its GET only names the person (chat apps
 * fetch links to preview them, and must not use them up); the button's POST spends the link and signs in.
 */
export function loginPages(deps: WebDeps) {
  const app = new Hono<WebEnv>();

  app.get("/", (c) => {
    const reason = REASONS[c.req.query("reason") ?? ""];
    return c.html(
      <Page title="登录">
        <h1>登录云审</h1>
        {reason ? <p class={c.req.query("reason") === "bye" ? "ys-notice" : "ys-error"}>{reason}</p> : null}
        <div class="ys-panel">
          <p>云审不使用密码。请用以下方式之一登录：</p>
          <ul>
            <li>在企业微信（粤政易）中打开云审应用，或点击审批卡片上的“详情”，将自动登录；</li>
            <li>使用管理员发给您的一次性登录链接（24 小时内有效，只能使用一次）。</li>
          </ul>
          <p class="ys-muted">管理员可运行 <code>yunshen login-link --user 用户ID</code> 签发登录链接。</p>
        </div>
      </Page>,
      reason && c.req.query("reason") === "expired" ? 401 : 200,
    );
  });

  const refused = (err: ServiceError) => (
    <Message title="登录链接不可用" message={err.message}>
      <p class="weui-msg__desc">
        <a href="/login">了解其他登录方式</a>
      </p>
    </Message>
  );

  app.get("/:token", async (c) => {
    try {
      const holder = await peekLoginLink(deps.db, c.req.param("token"), deps.clock.now());
      return c.html(
        <Page title="确认登录">
          <div class="weui-msg">
            <div class="weui-msg__text-area">
              <h2 class="weui-msg__title">
                以 {holder.name}（{holder.unitName}）身份登录
              </h2>
              <p class="weui-msg__desc">此链接只能使用一次。如果这不是您本人，请不要继续，并告知管理员。</p>
            </div>
            <div class="weui-msg__opr-area">
              <form method="post" action={`/login/${encodeURIComponent(c.req.param("token"))}`}>
                <button type="submit" class="weui-btn weui-btn_primary">
                  登录
                </button>
              </form>
            </div>
          </div>
        </Page>,
      );
    } catch (err) {
      if (err instanceof ServiceError && err.code === "link_invalid") return c.html(refused(err), 401);
      throw err;
    }
  });

  app.post("/:token", async (c) => {
    try {
      const started = await signInWithLink({ ctx: webContext(deps, c, null), input: { token: c.req.param("token") } });
      setSessionCookie(c, deps, started);
      return c.redirect("/", 303);
    } catch (err) {
      if (err instanceof ServiceError && err.code === "link_invalid") return c.html(refused(err), 401);
      throw err;
    }
  });

  return app;
}
