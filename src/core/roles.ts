import { z } from "zod";

// Roles of flows.md "Roles"; the Chinese names are what users see.
export const ROLES = ["applicant", "county_bureau", "manager", "provider", "reviewer", "security_officer"] as const;
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
};
