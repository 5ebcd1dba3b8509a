import { conflict, unprocessable } from "../../src/core/errors";
import { parseInput } from "../../src/core/validation";
import { busyResources, lockResources } from "../../src/resources/claims";
import { purposeChangeTitle, recordPurposeChange, type PurposeChangeFacts } from "../../src/resources/purpose";
import { describeResource } from "../../src/resources/revocation";
import type { FlowService } from "../types";
import { purposeChangeFormSchema } from "./form";

const purposeOf = (spec: unknown) => (spec as { purpose?: string }).purpose ?? "";

export const purposeChangeService: FlowService<PurposeChangeFacts> = {
  // 001 第十五条, 002 第十五条: the unit that uses the resources asks.
  refusal: (actor) => (actor.roles.includes("applicant") ? null : "用途变更由使用单位申请（001 第十五条、002 第十五条）"),
  /**
   * Checks a 用途变更申请: VMs in use, of the applicant's own unit (002 附件2 七: not to be given to another unit),
   * not already in another change, and a 用途 that differs from what they have.
   */
  async prepare({ tx, actor, form: rawForm, countyUnit, supervisedUnit, resubmitting }) {
    const form = parseInput(purposeChangeFormSchema, rawForm, "用途变更申请有误");
    const rows = await lockResources(tx, form.resources);
    // Only a VM has a 用途 in the ledger (its application row's, 001 附件1, 004 附件2).
    const missing = form.resources.filter((id) => !rows.some((r) => r.id === id && r.status === "delivered" && r.kind === "vm"));
    if (missing.length > 0)
      throw unprocessable("unknown_resource", `资源不存在、已撤销或不是虚拟机：${missing.join("、")}`, { "form.resources": missing.map(String) });
    // 002 第十五条: 本部门政务信息系统; 001 第十五条: the 使用单位's own resources.
    if (rows.some((r) => r.unitId !== actor.unitId)) throw unprocessable("not_yours", "只能申请变更本单位资源的用途");
    if (rows.every((r) => purposeOf(r.spec) === form.purpose)) {
      const message = "变更后的用途与现有用途相同";
      throw unprocessable("not_allowed", message, { "form.purpose": [message] });
    }
    const busy = await busyResources(tx, form.resources, resubmitting?.id);
    if (busy.size > 0) throw conflict("already_changing", `资源已在其他流程中：${[...busy].map(([id, by]) => `${id} ${by}`).join("、")}`);
    const facts: PurposeChangeFacts = {
      resourceIds: rows.map((r) => r.id),
      resourceNames: rows.map(describeResource),
      from: rows.map((r) => purposeOf(r.spec)),
      purpose: form.purpose,
      reason: form.reason,
      countyApplicant: countyUnit,
      // 002 第二十三条: a 下属单位's passes its 主管单位 first.
      supervisedApplicant: supervisedUnit,
    };
    return { form, facts, title: purposeChangeTitle(rows, form.purpose) };
  },
  // The provider's 实施变更 done: the ledger's 用途 is the new one, audited in the same transaction.
  complete: ({ ctx, tx, j, req }) => recordPurposeChange({ tx, j, req, at: ctx.clock.now() }),
};
