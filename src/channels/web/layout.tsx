import type { Child } from "hono/jsx";
import { eq } from "drizzle-orm";
import { units } from "../../../db/schema";
import type { ServiceContext } from "../../core/context";
import { assetHref } from "./assets";
import { OPERATOR_ROLES } from "../../core/roles";

/** One link of the nav; `roles` limits it to people holding one of them (absent: everyone signed in). */
export interface NavLink {
  href: string;
  label: string;
  roles?: readonly string[];
}

// Every area's entry in one table: a new area adds its line here.
export const NAV: readonly NavLink[] = [
  { href: "/", label: "待办" },
  { href: "/#mine", label: "我的申请" },
  { href: "/new", label: "发起申请" },
  { href: "/systems", label: "系统登记", roles: ["applicant", "county_bureau", "manager", "provider", "reviewer"] },
  { href: "/requests", label: "查询", roles: ["manager", "reviewer", "county_bureau", "provider"] },
  { href: "/reports", label: "报表", roles: ["manager", "reviewer", "county_bureau", "provider"] },
  // 002 第十七条(一): a 主管单位 passes its 下属单位' yearly demand on.
  { href: "/demands", label: "年度需求", roles: ["unit_supervisor"] },
  { href: "/audit", label: "审计", roles: ["manager", "reviewer"] },
  { href: "/security", label: "账号与端口", roles: ["security_officer", "manager"] },
  // 004 第三十九条: the manager's 安全督查和检查 of the provider (pages/inspections.tsx).
  { href: "/inspections", label: "安全督查", roles: ["manager", "reviewer", "provider"] },
  // Everyone: a unit sees the faults and maintenance that concern it (src/notices).
  { href: "/notices", label: "故障与检修" },
  { href: "/admin", label: "系统管理", roles: OPERATOR_ROLES },
];

/** The hidden field every POST form carries (checked by requireCsrf). */
export function Csrf({ csrf }: { csrf: string }) {
  return <input type="hidden" name="_csrf" value={csrf} />;
}

async function Who({ ctx, csrf }: { ctx: ServiceContext; csrf?: string }) {
  const actor = ctx.actor!;
  const [unit] = await ctx.db.select({ name: units.name }).from(units).where(eq(units.id, actor.unitId));
  return (
    <div class="ys-who">
      <span>
        {actor.name}（{unit?.name ?? actor.unitId}）
      </span>
      {csrf ? (
        <form method="post" action="/logout">
          <Csrf csrf={csrf} />
          <button type="submit" class="ys-link-button">
            退出
          </button>
        </form>
      ) : null}
    </div>
  );
}

/**
 * The common page: header with the person's name and unit and 退出, the nav of what their roles open, and the
 * content. Without `ctx` (sign-in and error pages before a session) only the header's name of the service.
 */
export function Page({ title, ctx, csrf, current, children }: { title: string; ctx?: ServiceContext; csrf?: string; current?: string; children?: Child }) {
  const actor = ctx?.actor ?? null;
  const links = actor ? NAV.filter((l) => !l.roles || l.roles.some((r) => (actor.roles as readonly string[]).includes(r))) : [];
  return (
    <html lang="zh-CN">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · 云审`}</title>
        <link rel="stylesheet" href={assetHref("weui.min.css")} />
        <link rel="stylesheet" href={assetHref("portal.css")} />
      </head>
      <body>
        <header class="ys-header">
          <div class="ys-bar">
            <a class="ys-brand" href="/">
              云审 · 政务云资源审批
            </a>
            {ctx && actor ? <Who ctx={ctx} csrf={csrf} /> : null}
          </div>
        </header>
        {links.length > 0 ? (
          <nav class="ys-nav" aria-label="主导航">
            <ul>
              {links.map((l) => (
                <li>
                  <a href={l.href} aria-current={current === l.href ? "page" : undefined}>
                    {l.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
        <main class="ys-main">{children}</main>
      </body>
    </html>
  );
}

/** A page that says one thing went wrong and what to do, in the layout (never JSON, never a stack). */
export function Message({ title, message, ctx, csrf, kind = "warn", children }: {
  title: string;
  message: string;
  ctx?: ServiceContext;
  csrf?: string;
  kind?: "warn" | "success" | "info";
  children?: Child;
}) {
  const icon = kind === "success" ? "weui-icon-success" : kind === "info" ? "weui-icon-info" : "weui-icon-warn";
  return (
    <Page title={title} ctx={ctx} csrf={csrf}>
      <div class="weui-msg">
        <div class="weui-msg__icon-area">
          <i class={`${icon} weui-icon_msg`}></i>
        </div>
        <div class="weui-msg__text-area">
          <h2 class="weui-msg__title">{title}</h2>
          <p class="weui-msg__desc">{message}</p>
          {children}
        </div>
      </div>
    </Page>
  );
}
