import { Hono, type Context } from "hono";
import { listVmAccounts, mayUnlockVmAccounts, revokeVmAccount, unlockVmAccount } from "../../../access/accounts";
import { listPortGrants, revokePortGrant } from "../../../access/port-grants";
import { permitAuthenticator, withdrawAuthenticator } from "../../../access/totp";
import { PROFILES } from "../../../../profiles";
import { ServiceError } from "../../../core/errors";
import { field } from "../guard";
import { Csrf, Page } from "../layout";
import type { WebDeps, WebEnv } from "../session";
import { when } from "../words";
import { onlyFor, OversightStyle, Table } from "./oversight";

// 账号与端口 (issue 12, security officers; flows.md flow 5): every VM account and port grant, phones masked as
// the services give them, with 撤销 and 解锁 as forms. The services decide and audit each change (a refusal too);
// the page shows their words. The manager sees what the API shows it (every account and grant, access/accounts
// listVmAccounts, port-grants listPortGrants) and may revoke both, as through the API, but not unlock.

const ACCOUNT_STATUS: Record<string, string> = { active: "有效", revoked: "已撤销", expired: "已过期" };
const DONE: Record<string, string> = {
  "account-revoke": "账号已撤销，其未用的验证码同时作废。",
  "account-unlock": "账号已解锁。",
  "grant-revoke": "端口开放已撤销，已通知评估实施单位关闭端口。",
  "authenticator-permit": "已开启动态口令：本人绑定应用后，每次登录在短信验证码之后再输入应用口令。",
  "authenticator-withdraw": "已关闭动态口令，其绑定的应用已删除；登录只需短信验证码。",
};
const AUTHENTICATOR: Record<string, string> = { off: "未开启", permitted: "已开启（待本人绑定）", enrolled: "已绑定" };

/** One action on one row: a reason (kept in the audit entry) and the button. */
function ReasonForm(props: { action: string; csrf: string; placeholder: string; button: string; warn?: boolean }) {
  return (
    <form method="post" action={props.action}>
      <Csrf csrf={props.csrf} />
      <input type="text" name="reason" placeholder={props.placeholder} maxlength={500} aria-label={props.placeholder} />
      <button type="submit" class={`weui-btn weui-btn_mini ${props.warn ? "weui-btn_warn" : "weui-btn_primary"}`}>
        {props.button}
      </button>
    </form>
  );
}

/** /security: the lists and the forms; each POST comes back here with what was done, or the refusal. */
export function securityPages(deps: WebDeps) {
  const app = new Hono<WebEnv>();
  app.use("*", onlyFor(["security_officer", "manager"]));

  async function render(c: Context<WebEnv>, message: { notice?: string; error?: string } = {}, status = 200) {
    const ctx = c.get("ctx");
    const csrf = c.get("session").csrf;
    const accounts = (await listVmAccounts({ ctx, input: {} })).items;
    const grants = (await listPortGrants({ ctx, input: {} })).items;
    const mayUnlock = mayUnlockVmAccounts(ctx.actor!);
    // 004 第三十七条: where an app only adds to the SMS code, security staff turn it on and off per person.
    const officerTurnsOn = PROFILES[ctx.profile].vmLoginAuthenticator === "additional" && mayUnlock;
    return c.html(
      <Page title="账号与端口" ctx={ctx} csrf={csrf} current="/security">
        <OversightStyle />
        <h1>账号与端口</h1>
        {message.notice ? (
          <p class="ys-notice" role="status">
            {message.notice}
          </p>
        ) : null}
        {message.error ? (
          <p class="ys-error" role="alert">
            {message.error}
          </p>
        ) : null}
        <h2 class="ys-section-title">虚拟机账号</h2>
        {accounts.length === 0 ? (
          <p class="ys-panel ys-muted">暂无虚拟机账号。</p>
        ) : (
          <Table head={["主机", "账号", "使用人", "绑定手机", "状态", "有效期至", "动态口令", "操作"]}>
            {accounts.map((a) => (
              <tr class={a.locked ? "ys-row-late" : a.status !== "active" ? "ys-row-muted" : undefined}>
                <td>{a.host}</td>
                <td>{a.account}</td>
                <td>{a.user.name}</td>
                <td>{a.mobile}</td>
                <td>
                  {ACCOUNT_STATUS[a.status] ?? a.status}
                  {a.locked ? <span class="ys-late">（已锁定）</span> : null}
                </td>
                <td>{when(a.validUntil)}</td>
                <td>{AUTHENTICATOR[a.authenticator]}</td>
                <td class="ys-actions">
                  {officerTurnsOn && a.status === "active" ? (
                    a.authenticator === "off" ? (
                      <ReasonForm action={`/security/authenticators/${a.user.id}/permit`} csrf={csrf} placeholder="开启原因" button="开启动态口令" />
                    ) : (
                      <ReasonForm action={`/security/authenticators/${a.user.id}/withdraw`} csrf={csrf} placeholder="关闭原因" button="关闭动态口令" warn />
                    )
                  ) : null}
                  {a.locked && mayUnlock ? <ReasonForm action={`/security/accounts/${a.id}/unlock`} csrf={csrf} placeholder="解锁原因（如已核实本人）" button="解锁" /> : null}
                  {a.status === "active" ? <ReasonForm action={`/security/accounts/${a.id}/revoke`} csrf={csrf} placeholder="撤销原因" button="撤销" warn /> : null}
                </td>
              </tr>
            ))}
          </Table>
        )}
        <h2 class="ys-section-title">端口开放</h2>
        {grants.length === 0 ? (
          <p class="ys-panel ys-muted">暂无端口开放记录。</p>
        ) : (
          <Table head={["主机", "端口", "协议", "来源地址", "用途", "状态", "有效期至", "申请", "操作"]}>
            {grants.map((g) => (
              <tr class={g.status !== "active" ? "ys-row-muted" : undefined}>
                <td>{g.host}</td>
                <td>{g.port}</td>
                <td>{g.protocol}</td>
                <td>{g.sources.join("、")}</td>
                <td>{g.reason}</td>
                <td>{ACCOUNT_STATUS[g.status] ?? g.status}</td>
                <td>{when(g.validUntil)}</td>
                <td>
                  <a href={`/requests/${g.request.code}`}>{g.request.code}</a>
                </td>
                <td class="ys-actions">
                  {g.status === "active" ? <ReasonForm action={`/security/grants/${g.id}/revoke`} csrf={csrf} placeholder="撤销原因" button="撤销" warn /> : null}
                </td>
              </tr>
            ))}
          </Table>
        )}
      </Page>,
      status as 200,
    );
  }

  app.get("/", (c) => render(c, { notice: DONE[c.req.query("done") ?? ""] }));

  const byId = (c: Context<WebEnv>) => ({ id: c.req.param("id") });
  const byUser = (c: Context<WebEnv>) => ({ userId: c.req.param("userId") });
  const verbs = {
    "account-revoke": ["/accounts/:id/revoke", revokeVmAccount, byId],
    "account-unlock": ["/accounts/:id/unlock", unlockVmAccount, byId],
    "grant-revoke": ["/grants/:id/revoke", revokePortGrant, byId],
    "authenticator-permit": ["/authenticators/:userId/permit", permitAuthenticator, byUser],
    "authenticator-withdraw": ["/authenticators/:userId/withdraw", withdrawAuthenticator, byUser],
  } as const;
  for (const [done, [path, verb, target]] of Object.entries(verbs))
    app.post(path, async (c) => {
      const body = (await c.req.parseBody()) as Record<string, unknown>;
      try {
        await verb({ ctx: c.get("ctx"), input: { ...target(c), reason: field(body, "reason") } });
      } catch (err) {
        // The service's own words on the list it was refused from; the refusal wrote nothing but its audit entry.
        if (err instanceof ServiceError && err.status !== 503) return render(c, { error: err.message }, err.status);
        throw err;
      }
      deps.onQueued?.();
      return c.redirect(`/security?done=${done}`, 303);
    });
  return app;
}
