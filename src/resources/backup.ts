import { eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { resources } from "../../db/schema";
import { backupFormSchema, type BackupFacts } from "../../flows/backup";
import type { Actor } from "../core/context";
import { unprocessable } from "../core/errors";
import { parseInput } from "../core/validation";
import { describeResource } from "./revocation";

export function backupRefusal(actor: Actor): string | null {
  return actor.roles.includes("applicant") ? null : "备份由使用单位申请";
}

/** Checks a 备份申请: a VM of the applicant's own unit, in use. */
export async function prepareBackup(tx: Db, actor: Actor, rawForm: unknown, countyUnit: boolean) {
  const form = parseInput(backupFormSchema, rawForm, "备份申请有误");
  const [row] = await tx.select().from(resources).where(eq(resources.id, form.resource));
  if (!row || row.status !== "delivered" || row.kind !== "vm") throw unprocessable("unknown_resource", `资源 ${form.resource} 不是在用的虚拟机`);
  if (row.unitId !== actor.unitId) throw unprocessable("not_yours", "只能为本单位的虚拟机申请备份");
  const facts: BackupFacts = { ...form, resourceName: describeResource(row), system: row.system, countyUnit };
  return { form, facts, title: `备份 ${row.name}（${row.system}）` };
}
