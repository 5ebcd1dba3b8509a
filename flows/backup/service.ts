import { eq } from "drizzle-orm";
import { resources } from "../../db/schema";
import { unprocessable } from "../../src/core/errors";
import { parseInput } from "../../src/core/validation";
import type { BackupFacts } from "../../src/resources/catalog";
import { describeResource } from "../../src/resources/revocation";
import type { FlowService } from "../types";
import { backupFormSchema } from "./form";

export const backupService: FlowService<BackupFacts> = {
  refusal: (actor) => (actor.roles.includes("applicant") ? null : "备份由使用单位申请"),
  /** Checks a 备份申请: a VM of the applicant's own unit, in use. */
  async prepare({ tx, actor, form: rawForm, countyUnit, supervisedUnit }) {
    const form = parseInput(backupFormSchema, rawForm, "备份申请有误");
    const [row] = await tx.select().from(resources).where(eq(resources.id, form.resource));
    if (!row || row.status !== "delivered" || row.kind !== "vm") throw unprocessable("unknown_resource", `资源 ${form.resource} 不是在用的虚拟机`);
    if (row.unitId !== actor.unitId) throw unprocessable("not_yours", "只能为本单位的虚拟机申请备份");
    // Only the unit itself asks for a backup (refusal above): a county unit, or a 下属单位, always asked itself, so the
    // pre-reviews of 002 第二十三条 (COUNTY_PRE_REVIEW, SUPERVISOR_PRE_REVIEW) run for it where the profile has them.
    const facts: BackupFacts = {
      ...form,
      resourceName: describeResource(row),
      system: row.system,
      countyUnit,
      countyApplicant: countyUnit,
      supervisedApplicant: supervisedUnit,
    };
    return { form, facts, title: `备份 ${row.name}（${row.system}）` };
  },
};
