import { paymentSummary, REIMBURSE_STAGE, type PaymentFacts } from "../../src/billing/payment";
import { wd, type FlowDef } from "../types";

// 费用支付 (004 第四十七条): the manager starts it for a period of months whose statements are signed (第四十六条),
// the provider and the reviewer confirm the summary, then the manager records 发起报账 with its 报账单号; the
// period is then paid, "通过申请省级财政或市、县（市、区）财政资金统一支付" (第四十二条, the summary's 资金来源).

export const paymentFlow: FlowDef<PaymentFacts, "payment"> = {
  key: "payment",
  name: "费用支付",
  summary: (f) => paymentSummary(f),
  stages: {
    // 会签: "三方（云资源统筹管理单位、云资源评估实施单位、云资源复核单位）确认"; the manager's own confirmation is
    // starting it. 004 第四十七条 gives no deadline: 5 working days, as long as the reviewer's check of a month
    // would take at most, for a summary of statements already signed. A party that disagrees returns it to the
    // manager, who starts it again (the totals are read anew) or withdraws it.
    confirm: { key: "confirm", name: "确认支付清单及费用", parties: ["provider", "reviewer"], deadline: wd(5), approveLabel: "确认", canReturn: true },
    // "确认后由云资源统筹管理单位发起报账支付流程": the manager who started it records the 报账单号 (5 working days,
    // likewise a choice: 004 第四十七条 gives none).
    [REIMBURSE_STAGE]: {
      key: REIMBURSE_STAGE,
      name: "发起报账支付",
      parties: ["applicant"],
      deadline: wd(5),
      approveLabel: "发起报账",
      approveNeedsNote: () => "发起报账须填写报账单号",
    },
  },
  profiles: { default: { name: "004 第四十七条", sequence: ["confirm", REIMBURSE_STAGE], attachments: [] } },
};
