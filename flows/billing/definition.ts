import { BILLING_FLAG_NAMES, type BillingFacts } from "../../src/billing/draft";
import { byDay, wd, type FlowDef } from "../types";

// Flow 6 of flows.md: 费用结算 (004 第四十一—四十七条). Drafted by yunshen on the 1st working day for the month
// before; the provider exports it by the 15th, the reviewer checks it (new, adjusted, revoked and backup
// resources highlighted, and billed dates the monitoring contradicts), the provider submits it by the 25th, the manager approves, and all three sign.
// A statement the reviewer returns is drafted again from the ledger when the provider resubmits it.

export const billingFlow: FlowDef<BillingFacts, "billing"> = {
  key: "billing",
  name: "费用结算",
  summary: (f) => [
    { label: "月份", value: f.month },
    { label: "金额", value: `${f.total.toFixed(2)} 元（${f.lineCount} 项）` },
    ...(Object.keys(f.flagged).length > 0
      ? [{ label: "重点核对", value: Object.entries(f.flagged).map(([k, n]) => `${BILLING_FLAG_NAMES[k] ?? k} ${n}`).join("、") }]
      : []),
  ],
  stages: {
    // The statement is the provider's own request (drafted under a provider's account), so the provider's
    // steps are the applicant's party here, and nobody else of the provider decides for them.
    // By the 15th and the 25th of the month the statement is drafted in (the month after the one it bills),
    // however late a stage opens: a return past the 25th leaves the submission overdue, not due next month.
    export: { key: "export", name: "导出结算单", parties: ["applicant"], deadline: byDay(15, { firstOpenOf: "export" }), approveLabel: "已导出" },
    check: { key: "check", name: "核对结算单", parties: ["reviewer"], deadline: wd(3), approveLabel: "核对无误", canReturn: true },
    // flows.md: the reviewer submits the agreed list by the 25th.
    submit: { key: "submit", name: "提交结算单", parties: ["reviewer"], deadline: byDay(25, { firstOpenOf: "export" }), approveLabel: "提交" },
    // A statement returned after the check is drafted again on resubmission, so it is checked again.
    approve: { key: "approve", name: "审批", parties: ["manager"], deadline: wd(2), approveLabel: "同意", canReturn: true, resumeAt: "check" },
    // 会签: manager, provider and reviewer each sign. A party that will not sign returns it with the reason;
    // the provider's resubmission redrafts it, and it is checked, submitted and approved again before signing.
    sign: { key: "sign", name: "三方签字", parties: ["manager", "applicant", "reviewer"], deadline: wd(3), approveLabel: "签字", canReturn: true, resumeAt: "check" },
  },
  profiles: { default: { name: "004 第四十一—四十七条", sequence: ["export", "check", "submit", "approve", "sign"], attachments: [] } },
};
