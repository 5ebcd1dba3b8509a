import { eq } from "drizzle-orm";
import { resources } from "../../../../db/schema";
import type { ServiceContext } from "../../../core/context";
import { seesEveryUnit } from "../../../core/roles";
import { scaleUpStanding } from "../../../resources/adjustment";
import type { FormValues } from "./parse";
import { PROFILES, type ScaleUpBasis } from "../../../../profiles";

// What a form shows besides its fields: the 云资源申请's totals (computed, never typed: 002 附件1 总计), and for
// 扩容 the chosen resource's recent utilisation against 004 第十九条(二).

const count = (v: string | undefined) => {
  const n = Number((v ?? "").trim());
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
};

/** 总计: hosts, cores, memory and storage over the rows as typed so far (a row's 数量 counts; blank counts 1). */
export function applicationTotals(values: FormValues) {
  const t = { hosts: 0, vcpu: 0, memoryGb: 0, storageGb: 0 };
  for (const vm of values.rows.vms ?? []) {
    const q = count(vm.quantity) || 1;
    t.hosts += q;
    t.vcpu += count(vm.vcpu) * q;
    t.memoryGb += count(vm.memoryGb) * q;
    t.storageGb += count(vm.diskGb) * q;
  }
  for (const p of values.rows.paas ?? []) {
    const q = count(p.quantity) || 1;
    t.vcpu += count(p.vcpu) * q;
    t.memoryGb += count(p.memoryGb) * q;
    t.storageGb += count(p.storageGb) * q;
  }
  return t;
}

export function ApplicationTotals({ values }: { values: FormValues }) {
  const t = applicationTotals(values);
  return (
    <p class="ys-panel ys-totals" data-totals="application">
      总计：主机 <b data-total="hosts">{t.hosts}</b> 台，CPU <b data-total="vcpu">{t.vcpu}</b> 核，内存 <b data-total="memoryGb">{t.memoryGb}</b> G，存储{" "}
      <b data-total="storageGb">{t.storageGb}</b> G。
    </p>
  );
}

type Standing = NonNullable<Awaited<ReturnType<typeof scaleUpStanding>>>;
export type ScaleUpView = { name: string; standing: Standing | null } | { name: string; basis: Exclude<ScaleUpBasis, "utilisation"> };

/** The chosen resource's standing, when it is one this person may see (their unit's; all for the city's roles). */
export async function scaleUpFor(ctx: ServiceContext, resourceField: string | string[] | undefined): Promise<ScaleUpView | null> {
  const id = typeof resourceField === "string" && /^\d{1,12}$/.test(resourceField) ? Number(resourceField) : null;
  if (id === null) return null;
  const [row] = await ctx.db.select().from(resources).where(eq(resources.id, id));
  const actor = ctx.actor!;
  if (!row || row.status !== "delivered" || (!seesEveryUnit(actor) && row.unitId !== actor.unitId)) return null;
  const name = `${row.name} ${row.system}`;
  // Only 004 第十九条(二) is judged on the figures shown here; 巴中 and 高创中心 decide on a report (profiles/).
  const basis = PROFILES[ctx.profile].scaleUpBasis;
  if (basis !== "utilisation") return { name, basis };
  return { name, standing: await scaleUpStanding(ctx, row) };
}

/** What a scale-up is decided on where it is not the figures (ProfileModule.scaleUpBasis). */
const REPORT_BASIS: Record<Exclude<ScaleUpBasis, "utilisation">, { title: string; text: string }> = {
  providerReport: {
    title: "扩容条件（003 第二十四条(一)）",
    text: "资源使用率超过 70% 后，云服务商报告市政务服务和大数据管理局及使用单位，使用单位据此提出扩容申请。扩容的项目（vCPU、内存、磁盘）须在近一个月内有云服务商的报告。",
  },
  usageReport: {
    title: "扩容审核依据（000 7.2.3.1）",
    text: "提交后由公共服务云平台监管部门出具云资源使用情况报告，作为审核的主要依据；没有监测数据的资源也可以申请。",
  },
};

export function ScaleUpPanel({ check }: { check: ScaleUpView }) {
  if ("basis" in check) {
    const { title, text } = REPORT_BASIS[check.basis];
    return (
      <section class="ys-form-section" data-scale-up>
        <h2 class="ys-section-title">{title}</h2>
        <div class="ys-panel">
          <p>{check.name}</p>
          <p class="ys-muted">{text}</p>
        </div>
      </section>
    );
  }
  const { standing } = check;
  return (
    <section class="ys-form-section" data-scale-up>
      <h2 class="ys-section-title">近期利用率与扩容条件（004 第十九条(二)）</h2>
      <div class="ys-panel">
        <p>{check.name}</p>
        {standing === null ? (
          <p class="ys-muted">云服务商尚未登记此资源的云主机标识，暂无利用率数据；扩容申请将无法核对利用率。</p>
        ) : standing.checks.length === 0 ? (
          <p class="ys-muted">此类资源没有扩容判定标准，扩容请按新申请办理；缩容可直接申请。</p>
        ) : (
          <>
            <p class="ys-muted">核对的工作日：{[...standing.workdays].reverse().join("、")}</p>
            <ul>
              {standing.checks.map((c) => (
                <li class={c.ok ? "ys-ok" : "ys-late"}>
                  {c.ok ? "符合" : "不符合"}：{c.reason}
                </li>
              ))}
            </ul>
            <p class="ys-muted">扩容只针对符合条件的项目（vCPU、内存、存储）；不符合的项目提交时将被退回。</p>
          </>
        )}
      </div>
    </section>
  );
}
