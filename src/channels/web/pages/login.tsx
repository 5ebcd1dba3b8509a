import { Hono, type Context } from "hono";
import { peekLoginLink, signInWithLink } from "../../../directory/login-links";
import { userByAddress } from "../../../directory/queries";
import { openWebSession } from "../../../directory/web-sessions";
import { ServiceError } from "../../../core/errors";
import { oauthLink } from "../../wecom/pages";
import { errorPage } from "../guard";
import { Message, Page } from "../layout";
import { setSessionCookie, webContext, type WebDeps, type WebEnv, type WecomSignIn } from "../session";

const REASONS: Record<string, string> = {
  expired: "您已较长时间未操作，登录已超时，请重新登录。",
  bye: "您已退出云审。",
};

/** Where to go after signing in: a path of this site only, never another host ("//evil" or "https://…"). */
export function safeNext(next: string | undefined): string {
  return next && /^\/(?![/\\])/.test(next) ? next : "/";
}

// WeCom's state parameter says which of its two ways came back: in-app OAuth or the desktop QR code.
const QR_STATE = "ysqr";
const OAUTH_CODE = /^[A-Za-z0-9_-]{1,512}$/;

/** This handler's own address, for WeCom to send the member back to with a code. */
function wecomReturn(deps: WebDeps, c: Context, next: string): string {
  return `${deps.settings.publicUrl ?? new URL(c.req.url).origin}/login/wecom?${new URLSearchParams({ next })}`;
}

/** WeCom's web login (企业微信扫码登录): the page with the QR code the member scans with their phone. */
function qrLoginLink(wecom: WecomSignIn, target: string): string {
  const query = new URLSearchParams({ login_type: "CorpApp", appid: wecom.corpId, agentid: String(wecom.agentId), redirect_uri: target, state: QR_STATE });
  return `${wecom.webLoginBase}/wwlogin/sso/login?${query}`;
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
            <li>在企业微信（粤政易）中打开云审应用，或点击审批卡片上的“详情”，将自动登录；电脑上可用企业微信扫码登录；</li>
            <li>使用管理员发给您的一次性登录链接（24 小时内有效，只能使用一次）。</li>
          </ul>
          <p class="ys-muted">管理员可运行 <code>yunshen login-link --user 用户ID</code> 签发登录链接。</p>
          {deps.settings.wecom ? (
            <a class="weui-btn weui-btn_primary" href={qrLoginLink(deps.settings.wecom, wecomReturn(deps, c, safeNext(c.req.query("next"))))}>
              企业微信扫码登录
            </a>
          ) : null}
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

  // WeCom sends the member back here with a one-time code (from a card's 详情 inside WeCom, or the QR code on a
  // desktop); without a code this starts WeCom's OAuth. A GET that signs in: the code is WeCom's, single-use.
  app.get("/wecom", async (c) => {
    const wecom = deps.settings.wecom;
    if (!wecom) return errorPage(c, 404, "本服务未配置企业微信，请使用管理员发给您的登录链接登录");
    const next = safeNext(c.req.query("next"));
    const code = c.req.query("code");
    if (code === undefined) return c.redirect(oauthLink({ ...wecom, target: wecomReturn(deps, c, next) }), 302);
    if (!OAUTH_CODE.test(code)) return errorPage(c, 400, "登录参数无效，请回到企业微信重新打开");
    let wecomUserId: string | null;
    try {
      wecomUserId = await wecom.userIdFromOAuthCode(code);
    } catch (err) {
      deps.log(`企业微信网页授权失败：${err instanceof Error ? err.message : String(err)}`);
      return errorPage(c, 403, "企业微信登录已失效，请回到企业微信重新打开，或重新扫码");
    }
    const user = wecomUserId ? await userByAddress(deps.db, "wecom", wecomUserId) : null;
    if (!user) return errorPage(c, 403, "您还不在云审通讯录中，请联系管理员");
    const actor = { userId: user.id, name: user.name, unitId: user.unitId, roles: user.roles };
    const started = await openWebSession({ ctx: webContext(deps, c, actor), input: { via: c.req.query("state") === QR_STATE ? "wecom_qr" : "wecom_oauth" } });
    setSessionCookie(c, deps, started);
    return c.redirect(next, 303);
  });

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
