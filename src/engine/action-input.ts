import { z } from "zod";

// What a person may do with a request after submission, and what each action carries.

/** 服务评价: the applicant's rating of the provider's service on a completed request. */
export const RATING_NAMES = { satisfied: "满意", basic: "基本满意", dissatisfied: "不满意" } as const;
export type ServiceRating = keyof typeof RATING_NAMES;
const ratingSchema = z.enum(Object.keys(RATING_NAMES) as [ServiceRating, ...ServiceRating[]]);

const text = (max = 2000) => z.string().trim().min(1).max(max);

// A decision names the stage it was read from, by its run (`stageRunId`) or its key (`stage`): a second copy
// of the same call then finds that stage decided instead of deciding the next one (invariant 3).
const stageBinding = {
  stageRunId: z.int().positive().optional(),
  stage: z.string().regex(/^[a-z_]{1,64}$/, "应为环节代码（见申请详情 currentStage.stage，如 approve）").optional(),
};
const stageForm = z
  .record(z.string(), z.unknown())
  .optional()
  .meta({ description: "环节表单（如梅州“申请上线前安全检测”的附件6 安全检测申请表），字段见该环节的说明；无表单的环节不填" });

/** The actions that decide a stage, and so name it (`stage` or `stageRunId`). */
export const STAGE_DECISIONS: ReadonlySet<string> = new Set(["approve", "confirm", "reject", "return", "fail", "transfer"]);
// One of the two is required while the request is open (boundRunId): a closed request is refused as closed.
const decision = <T extends z.ZodRawShape>(shape: T) => z.strictObject({ ...shape, ...stageBinding });
export const actionInputSchema = z.discriminatedUnion("action", [
  // `form`: a stage with a form (StageDef.form, e.g. 梅州's 附件6 at 申请上线前安全检测) is approved with it filled in.
  decision({ action: z.literal("approve"), note: text().optional(), form: stageForm }),
  decision({ action: z.literal("confirm"), note: text().optional(), form: stageForm }),
  decision({ action: z.literal("reject"), reason: text() }),
  decision({ action: z.literal("return"), reason: text(), toStage: z.string().max(64).optional() }),
  decision({ action: z.literal("fail"), reason: text() }),
  decision({ action: z.literal("transfer"), toUserId: z.string().min(1).max(64), reason: text().optional() }),
  z.strictObject({ action: z.literal("comment"), text: text() }),
  z.strictObject({ action: z.literal("withdraw"), reason: text().optional() }),
  // The edited form is checked by the request's own flow (a 云资源申请表 or a 虚拟机账号申请表).
  z.strictObject({ action: z.literal("resubmit"), form: z.record(z.string(), z.unknown()).optional(), note: text().optional() }),
  z.strictObject({ action: z.literal("finding"), kind: z.enum(["rectification", "warning"]), text: text() }),
  z.strictObject({ action: z.literal("extend"), days: z.int().min(1).max(60), reason: text() }),
  z.strictObject({ action: z.literal("nudge"), note: text(200).optional() }),
  z.strictObject({ action: z.literal("rate"), score: ratingSchema, comment: text(500).optional() }),
]);
export type ActionInput = z.output<typeof actionInputSchema>;
export type ActionOf<A extends ActionInput["action"]> = Extract<ActionInput, { action: A }>;
