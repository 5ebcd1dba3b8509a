import { and, eq, inArray } from "drizzle-orm";
import { requests } from "../../db/schema";
import { shanghaiDate } from "../../src/core/calendar";
import { conflict, unprocessable } from "../../src/core/errors";
import { parseInput } from "../../src/core/validation";
import { RECTIFICATION_GROUNDS, type RectificationFacts } from "../../src/resources/catalog";
import { lockResources } from "../../src/resources/claims";
import { describeResource, ownerOf } from "../../src/resources/revocation";
import type { FlowService, PrepareArgs } from "../types";
import { RECTIFICATION_RULES, rectificationGrounds, rectificationIssuer } from "./definition";
import { rectificationFormSchema } from "./form";

/**
 * Checks an order: the profile's document names the ground; the resources are in use, of one unit, and under no
 * other open order; the date is after today. The request is the unit's (its owner the applicant of the resources).
 */
async function prepare({ ctx, tx, form: rawForm, profile }: PrepareArgs) {
  const form = parseInput(rectificationFormSchema, rawForm, "整改通知有误");
  const rules = RECTIFICATION_RULES[profile];
  if (!rules) throw unprocessable("not_allowed", "本地区政务云管理办法未规定责令使用单位整改");
  const rule = rules[form.ground];
  if (!rule) {
    const message = `本地区管理办法规定的整改事由为：${rectificationGrounds(profile).map((g) => `${g.label}（${g.article}）`).join("、")}`;
    throw unprocessable("not_allowed", message, { "form.ground": [message] });
  }
  const rows = await lockResources(tx, form.resources);
  const missing = form.resources.filter((id) => !rows.some((r) => r.id === id && r.status === "delivered"));
  if (missing.length > 0) throw unprocessable("unknown_resource", `资源不存在或已撤销：${missing.join("、")}`, { "form.resources": missing.map(String) });
  if (new Set(rows.map((r) => r.unitId)).size > 1) throw unprocessable("mixed_units", "一份整改通知只能针对同一使用单位的资源");
  const ordered = await openOrdersNaming(tx, form.resources);
  if (ordered.length > 0) throw conflict("already_changing", `资源已在整改通知中：${ordered.join("、")}`);
  const today = shanghaiDate(ctx.clock.now());
  // Working days count from today; a day past the loaded calendar is refused by it.
  const rectifyBy = form.rectifyBy ?? ctx.calendar.addWorkdays(today, form.rectifyWorkdays!);
  if (rectifyBy <= today) {
    const message = `整改期限应晚于今天（${today}）`;
    throw unprocessable("not_allowed", message, { "form.rectifyBy": [message] });
  }
  const facts: RectificationFacts = {
    ground: form.ground,
    article: rule.article,
    description: form.description,
    resourceIds: rows.map((r) => r.id),
    resourceNames: rows.map(describeResource),
    system: rows[0]!.system,
    rectifyBy,
    suspend: rule.suspend === true,
    underUse: form.ground === "under_use",
  };
  return { form, facts, title: `整改通知：${rows[0]!.system}（${RECTIFICATION_GROUNDS[form.ground]}）`, owner: await ownerOf(tx, rows) };
}

/** The codes of open 整改通知 naming any of these resources. */
async function openOrdersNaming(tx: PrepareArgs["tx"], ids: number[]): Promise<string[]> {
  const open = await tx
    .select({ code: requests.code, facts: requests.facts })
    .from(requests)
    .where(and(eq(requests.flow, "rectification"), inArray(requests.status, ["in_progress", "returned"])));
  return open.filter((r) => (r.facts as RectificationFacts).resourceIds.some((id) => ids.includes(id))).map((r) => r.code);
}

export const rectificationService: FlowService<RectificationFacts> = {
  // 003 第二十四条(四) 市政务服务和大数据管理局, 002 附件2 主管单位, 001 第二十五条 云主管部门: the manager's seat; 000 6.1
  // 监管部门: the reviewer's (rectificationIssuer). Only where the profile's document names an order (RECTIFICATION_RULES).
  refusal: (actor, profile) => {
    const issuer = profile ? rectificationIssuer(profile) : rectificationIssuer("meizhou");
    if (!actor.roles.includes(issuer.role)) return `整改通知由${issuer.name}发出`;
    return !profile || !RECTIFICATION_RULES[profile] ? "本地区政务云管理办法未规定责令使用单位整改" : null;
  },
  prepare,
};
