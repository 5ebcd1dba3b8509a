import { z } from "zod";
import { addCalendarMonths } from "../../src/core/calendar";
import { monthSchema } from "../../src/core/validation";

/** The longest period one payment covers: two years of monthly statements. */
export const PAYMENT_MAX_MONTHS = 24;

/** The months from `from` to `to`, both included ("2026-11", "2026-12", "2027-01"). */
export function monthsOf(from: string, to: string): string[] {
  const months: string[] = [];
  for (let m = from; m <= to && months.length <= PAYMENT_MAX_MONTHS; m = addCalendarMonths(`${m}-01`, 1).slice(0, 7)) months.push(m);
  return months;
}

// 004 第四十七条: the payment's period, a range of months whose statements the three parties have signed.
export const paymentFormSchema = z
  .strictObject({ from: monthSchema, to: monthSchema })
  .refine((f) => f.from <= f.to, { error: "结束月份不能早于起始月份", path: ["to"] })
  .refine((f) => monthsOf(f.from, f.to).length <= PAYMENT_MAX_MONTHS, { error: `一次支付最多 ${PAYMENT_MAX_MONTHS} 个月`, path: ["to"] });

export type PaymentForm = z.output<typeof paymentFormSchema>;
