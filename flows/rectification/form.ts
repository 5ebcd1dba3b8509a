import { z } from "zod";
import { isIsoDate } from "../../src/core/calendar-schedule";
import { RECTIFICATION_GROUNDS, type RectificationGround } from "../../src/resources/catalog";

const GROUNDS = Object.keys(RECTIFICATION_GROUNDS) as [RectificationGround, ...RectificationGround[]];

/** 整改通知: the resources concerned (of one unit), the ground and what was found, and the 整改期限. */
export const rectificationFormSchema = z
  .strictObject({
    resources: z
      .array(z.int().positive())
      .min(1, { error: "请选择整改涉及的资源" })
      .max(200)
      .refine((ids) => new Set(ids).size === ids.length, { error: "资源重复" }),
    ground: z.enum(GROUNDS, { error: `整改事由应为：${Object.values(RECTIFICATION_GROUNDS).join("、")}` }),
    description: z.string().trim().min(1, { error: "请说明发现的问题和整改要求" }).max(2000, { error: "问题和整改要求不超过 2000 字" }),
    // 整改期限: a day, or a number of working days from today; one of the two.
    rectifyBy: z.string().refine(isIsoDate, { error: "整改期限无效，应为存在的 YYYY-MM-DD" }).optional(),
    rectifyWorkdays: z.int({ error: "整改期限（工作日）应为整数" }).min(1, { error: "整改期限至少 1 个工作日" }).max(250, { error: "整改期限不超过 250 个工作日" }).optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.rectifyBy === undefined) === (v.rectifyWorkdays === undefined))
      ctx.addIssue({ code: "custom", path: ["rectifyBy"], message: "请给出整改期限：截止日期或工作日数，二选一" });
  });
export type RectificationForm = z.output<typeof rectificationFormSchema>;
