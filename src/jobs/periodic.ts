import type { PeriodicJobKey, ProfileModule } from "../../profiles";
import type { ServiceContext } from "../core/context";
import { expansionNotices } from "../resources/capacity-notices";
import { halfYearlyReview, quarterlyReview } from "./adjustment-proposals";
import { mlpsReminders } from "../systems/reminders";
import { termReminders } from "../resources/term-reminders";

interface PeriodicJob {
  /** As the log names the job when it fails. */
  name: string;
  run: (ctx: ServiceContext, profile: ProfileModule) => Promise<unknown>;
}

/** A threshold or rule a job needs that the profile listing the job does not set is a mistake in its module. */
function needed<T>(profile: ProfileModule, value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`profile ${profile.name} runs a job that needs ${what}, which it does not set`);
  return value;
}

/** The jobs a profile's module may list in periodicJobs, each run every job round with that profile's thresholds. */
export const PERIODIC_JOBS = {
  halfYearlyReview: { name: "半年评估", run: (ctx, profile) => halfYearlyReview(ctx, profile.thresholds.lowLoad) },
  quarterlyReview: {
    name: "季度与年度评估",
    run: (ctx, profile) => quarterlyReview(ctx, needed(profile, profile.thresholds.periodShrink, "thresholds.periodShrink")),
  },
  mlpsReminders: { name: "等保提醒", run: (ctx, profile) => mlpsReminders(ctx, needed(profile, profile.mlps, "mlps")) },
  termReminders: { name: "申请期限提醒", run: (ctx, profile) => termReminders(ctx, needed(profile, profile.applicationTerm, "applicationTerm")) },
  expansionNotices: {
    name: "使用率超限报告",
    run: (ctx, profile) => expansionNotices(ctx, needed(profile, profile.thresholds.expansionNoticeAbove, "thresholds.expansionNoticeAbove")),
  },
} satisfies Record<PeriodicJobKey, PeriodicJob>;
