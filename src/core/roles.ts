import { z } from "zod";
import { forbidden } from "./errors";

// Roles of flows.md "Roles", and admin, the people who run yunshen itself (issue 12); the Chinese names are what users see.
// unit_supervisor: 主管单位审核人, who pre-reviews (初审) the requests of the unit's 下属单位 and passes their yearly
// demand on (002 第十七条、第二十三条); appended last so that stored role lists keep their order.
export const ROLES = ["applicant", "county_bureau", "manager", "provider", "reviewer", "security_officer", "admin", "unit_supervisor"] as const;
export type Role = (typeof ROLES)[number];
export const roleSchema = z.enum(ROLES);

/** The city's roles (统筹管理单位, 评估实施单位, 复核单位): they see every unit's requests, resources and figures. */
export function seesEveryUnit(actor: { roles: readonly string[] }): boolean {
  return actor.roles.some((r) => r === "manager" || r === "provider" || r === "reviewer");
}

export const ROLE_NAMES: Record<Role, string> = {
  applicant: "申请人（使用单位）",
  county_bureau: "县级政务服务数据管理局",
  manager: "统筹管理单位",
  provider: "评估实施单位（云服务商）",
  reviewer: "复核单位（监理）",
  security_officer: "安全管理员",
  admin: "系统管理员",
  unit_supervisor: "主管单位审核人",
};

/**
 * Who may do each of the operator's tasks through the API. admin may do them all; the roles that did them before
 * admin existed keep them (the manager owns the directory, tokens and sign-in links, the calendar and prices;
 * security staff the hosts), so a deployment is not locked out until it names an admin. The CLI operator (no actor) may do them all.
 */
export const OPERATOR_TASKS = {
  directory: { roles: ["admin", "manager"], refusal: "只有系统管理员或统筹管理单位可以导入通讯录" },
  tokens: { roles: ["admin", "manager"], refusal: "只有系统管理员或统筹管理单位可以管理访问令牌" },
  loginLinks: { roles: ["admin", "manager"], refusal: "只有系统管理员或统筹管理单位可以签发登录链接" },
  hosts: { roles: ["admin", "security_officer"], refusal: "只有系统管理员或安全管理员可以管理主机凭据" },
  calendar: { roles: ["admin", "manager"], refusal: "只有系统管理员或统筹管理单位可以加载工作日历" },
  prices: { roles: ["admin", "manager"], refusal: "只有系统管理员或统筹管理单位可以加载单价表" },
} as const satisfies Record<string, { roles: readonly Role[]; refusal: string }>;
export type OperatorTask = keyof typeof OPERATOR_TASKS;

/** Everyone who may do some operator task: the portal shows them its 系统管理 area. */
export const OPERATOR_ROLES: readonly Role[] = [...new Set(Object.values(OPERATOR_TASKS).flatMap((t) => t.roles))];

/** Whether `actor` may do an operator task; null is the operator at the CLI, who holds the database itself. */
export function mayOperate(actor: { roles: readonly string[] } | null, task: OperatorTask): boolean {
  const allowed: readonly string[] = OPERATOR_TASKS[task].roles;
  return actor === null || actor.roles.some((r) => allowed.includes(r));
}

/** Refuses (403) an actor who may not do the task: the first thing each operator verb does. */
export function requireOperator(actor: { roles: readonly string[] } | null, task: OperatorTask): void {
  if (!mayOperate(actor, task)) throw forbidden(OPERATOR_TASKS[task].refusal);
}
