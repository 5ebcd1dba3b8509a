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
  async prepare({ tx, actor, form: rawForm, countyUnit }) {
    const form = parseInput(backupFormSchema, rawForm, "备份申请有误");
    const [row] = await tx.select().from(resources).where(eq(resources.id, form.resource));
    if (!row || row.status !== "delivered" || row.kind !== "vm") throw unprocessable("unknown_resource", `资源 ${form.resource} 不是在用的虚拟机`);
    if (row.unitId !== actor.unitId) throw unprocessable("not_yours", "只能为本单位的虚拟机申请备份");
    const facts: BackupFacts = { ...form, resourceName: describeResource(row), system: row.system, countyUnit };
    return { form, facts, title: `备份 ${row.name}（${row.system}）` };
  },
};
