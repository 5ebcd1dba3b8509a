import { completePayment, preparePayment, type PaymentFacts } from "../../src/billing/payment";
import { parseInput } from "../../src/core/validation";
import type { FlowService } from "../types";
import { monthsOf, paymentFormSchema } from "./form";

export const paymentService: FlowService<PaymentFacts> = {
  // 004 第四十七条: "由云资源统筹管理单位发起费用支付流程".
  refusal: (actor) => (actor.roles.includes("manager") ? null : "费用支付流程由云资源统筹管理单位发起（004 第四十七条）"),
  async prepare({ ctx, tx, form, resubmitting }) {
    const { from, to } = parseInput(paymentFormSchema, form, "支付周期有误");
    return preparePayment(ctx, tx, { from, to, months: monthsOf(from, to) }, resubmitting);
  },
  complete: completePayment,
};
