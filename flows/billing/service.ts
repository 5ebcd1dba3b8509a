import type { BillingFacts } from "../../src/billing/draft";
import { completeBilling, draftSignoff } from "../../src/billing/signoff";
import { parseInput } from "../../src/core/validation";
import type { FlowService } from "../types";
import { billingFormSchema } from "./form";

export const billingService: FlowService<BillingFacts> = {
  // Statements are drafted by yunshen, or by the provider when one is missing; the provider resubmits returned ones.
  refusal: (actor) => (actor.roles.includes("provider") ? null : "费用结算单由云服务商编制"),
  async prepare({ ctx, tx, form, resubmitting }) {
    const { month } = parseInput(billingFormSchema, form, "结算单有误");
    return draftSignoff(ctx, tx, month, resubmitting);
  },
  complete: completeBilling,
};
