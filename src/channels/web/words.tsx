import { CalendarRangeError, shanghaiDate, shanghaiDateTime, type WorkCalendar } from "../../core/calendar";

/** How a deadline reads on a page: 剩余 N 个工作日, 当天到期, 已超期 N 个工作日, with its date. */
export function deadlineWords(calendar: WorkCalendar, deadlineAt: Date | null, now: Date): { text: string; tone: "late" | "today" | "ok" } | null {
  if (!deadlineAt) return null;
  const date = shanghaiDate(deadlineAt);
  let left: number;
  try {
    left = calendar.workdaysBetween(shanghaiDate(now), date);
  } catch (err) {
    // A year without a loaded calendar: the date alone is still true.
    if (err instanceof CalendarRangeError) return { text: `${date} 前`, tone: "ok" };
    throw err;
  }
  if (left < 0) return { text: `已超期 ${-left} 个工作日（${date}）`, tone: "late" };
  if (left === 0 && now.getTime() > deadlineAt.getTime()) return { text: `已超期（${shanghaiDateTime(deadlineAt)} 到期）`, tone: "late" };
  if (left === 0) return { text: `当天到期（${date}）`, tone: "today" };
  return { text: `剩余 ${left} 个工作日（${date}）`, tone: "ok" };
}

export function Deadline(props: { calendar: WorkCalendar; deadlineAt: Date | null; now: Date }) {
  const words = deadlineWords(props.calendar, props.deadlineAt, props.now);
  if (!words) return <span class="ys-muted">无期限</span>;
  return <span class={words.tone === "late" ? "ys-late" : words.tone === "today" ? "ys-today" : undefined}>{words.text}</span>;
}

/** An instant as people here read it: 2026-11-23 09:00. */
export const when = (at: Date | string | null | undefined) => (at ? shanghaiDateTime(new Date(at)) : "—");

/** A stage run's state as the page says it. */
export const STAGE_STATUS_WORDS: Record<string, string> = {
  open: "办理中",
  approved: "已通过",
  rejected: "已驳回",
  returned: "已退回",
  failed: "未通过",
  withdrawn: "已撤回",
  elapsed: "已届满",
};

/** What became of one person's task. */
export const TASK_STATUS_WORDS: Record<string, string> = {
  pending: "待处理",
  approved: "同意",
  rejected: "驳回",
  returned: "退回",
  failed: "未通过",
  transferred: "已转交",
  superseded: "他人已处理",
  cancelled: "—",
};

/** A flow's word beside a request's code in lists (紧急: 004 第四十八条), or nothing. */
export function Badge({ text }: { text: string | null | undefined }) {
  return text ? <span class="ys-badge">{text}</span> : null;
}
