import { createRoute, z } from "@hono/zod-openapi";
import { EMERGENCY_CATEGORIES, type EmergencyCategory } from "../../flows/application/form";
import { csvHeaders } from "../core/csv";
import { monthlyReport, monthlyReportCsv, monthlyReportQuery } from "../reports/monthly";
import { bearerSecurity, contractApp, csvMedia, errorResponses } from "./contract";

const date = z.iso.datetime();
const count = z.int();

const monthlyReportSchema = z
  .object({
    month: z.string(),
    units: z.array(
      z.object({
        unitId: z.string(),
        unitName: z.string(),
        resources: count,
        vms: count,
        vcpu: z.number(),
        memoryGb: z.number(),
        diskGb: z.number(),
        cpuAvg: z.number().nullable(),
        cpuPeak: z.number().nullable(),
        lowLoadVms: count,
        requestsOpened: count,
        requestsClosed: count,
        lateStages: count,
      }),
    ),
    total: z
      .object({
        resources: count,
        vms: count,
        vcpu: z.number(),
        memoryGb: z.number(),
        diskGb: z.number(),
        lowLoadVms: count,
        requestsOpened: count,
        requestsClosed: count,
        lateStages: count,
      })
      .nullable(),
    lateStages: z.array(
      z.object({ code: z.string(), unitId: z.string(), stage: z.string(), deadlineAt: date.nullable(), closedAt: date.nullable(), heldBy: z.array(z.string()) }),
    ),
    lowLoadVms: z.array(z.object({ unitId: z.string(), resource: z.string(), instanceId: z.string(), lowLoadDays: count })),
    provider: z
      .object({
        stagesClosed: count,
        onTime: count,
        late: count,
        avgWorkdays: z.number().nullable(),
        reworked: count,
        findings: count,
        satisfaction: z.object({
          rated: count,
          satisfied: count,
          basic: count,
          dissatisfied: count,
          satisfiedPercent: z.number().nullable(),
          complaints: z.array(z.object({ comment: z.string().nullable(), at: date, code: z.string(), unitId: z.string() })),
        }),
      })
      .nullable(),
    funding: z
      .object({
        source: z.enum(["signoff", "ledger"]).openapi({ description: "signoff：结算流程中的结算单；ledger：按资源台账计算" }),
        signed: z.boolean().openapi({ description: "结算单已三方签字" }),
        total: z.number(),
        split: z.array(z.object({ source: z.string(), level: z.enum(["province", "city", "county"]), name: z.string(), amount: z.number(), unitIds: z.array(z.string()) })),
      })
      .nullable()
      .openapi({ description: "资金来源（004 第四十二条）：当月结算单按省级、市级、各县（市、区）级财政分列，合计等于结算单合计；仅统筹管理单位、评估实施单位和复核单位可见" }),
    // 004 第四十八条: the month's emergency applications, and whether their 事后审批 is done.
    emergencies: z.array(
      z.object({
        code: z.string(),
        unitId: z.string(),
        unitName: z.string(),
        system: z.string(),
        submittedAt: date,
        category: z.enum(Object.keys(EMERGENCY_CATEGORIES) as [EmergencyCategory]),
        categoryName: z.string(),
        postApproval: z.enum(["done", "pending", "rejected", "none"]),
        postApprovalName: z.string(),
      }),
    ),
    // 004 第十四条(二)2: the month's dedicated-pool requests and their review.
    dedicatedPools: z.array(
      z.object({
        code: z.string(),
        unitId: z.string(),
        unitName: z.string(),
        system: z.string(),
        submittedAt: date,
        scale: z.string(),
        review: z.enum(["approved", "rejected", "pending"]),
        reviewName: z.string(),
      }),
    ),
    // 004 第三十九条: the month's 安全督查和检查 of the provider (null for who may not see inspections).
    inspections: z
      .object({
        recorded: count.openapi({ description: "当月（按检查日期）记录的安全督查与检查次数" }),
        supervision: count.openapi({ description: "其中安全督查" }),
        check: count.openapi({ description: "其中安全检查" }),
        passed: count.openapi({ description: "结论为合格" }),
        rectify: count.openapi({ description: "结论为限期整改" }),
        findings: count.openapi({ description: "问题总数" }),
        open: count.openapi({ description: "整改尚未确认关闭（整改中或待确认）" }),
        findingsOpen: count.openapi({ description: "尚未关闭的检查中的问题数" }),
        awaitingConfirmation: count.openapi({ description: "已报告整改完成、待统筹管理单位确认" }),
        rectifiedOnTime: count.openapi({ description: "已确认整改，且整改完成报告不晚于整改期限" }),
        rectifiedLate: count.openapi({ description: "已确认整改，但整改完成报告晚于整改期限" }),
        overdue: count.openapi({ description: "整改中且已超过整改期限" }),
        items: z.array(
          z.object({
            id: count,
            inspectedOn: z.string(),
            kind: z.string(),
            kindText: z.string(),
            result: z.string(),
            resultText: z.string(),
            findings: count,
            deadline: z.string().nullable(),
            status: z.string(),
            statusText: z.string(),
            overdue: z.boolean(),
            reportedAt: z.string().nullable(),
            rectifiedOnTime: z.boolean().nullable(),
          }),
        ),
      })
      .nullable()
      .openapi({ description: "安全督查与检查（004 第三十九条）：当月对评估实施单位的督查与检查及其整改情况；仅统筹管理单位、复核单位和评估实施单位可见" }),
  })
  .openapi("MonthlyReport");

const monthly = createRoute({
  method: "get",
  path: "/monthly",
  summary:
    "月度报告：各单位资源、利用率、低负载虚拟机、新提交与办结的申请、逾期环节及其处理人、评估实施单位的履职与服务评价、当月费用的资金来源（json；csv 按 table 给出各单位表、逾期环节、低负载虚拟机、评估实施单位表、资金来源表或安全督查与检查表）",
  security: bearerSecurity,
  request: { query: monthlyReportQuery },
  responses: {
    200: {
      description: "报告（format=json），或 table 所选的表（format=csv）",
      content: { "application/json": { schema: monthlyReportSchema }, ...csvMedia },
    },
    ...errorResponses(403),
  },
});

/** /api/reports/monthly: the monthly report, as JSON or one of its tables as CSV for Excel. */
export function reportRoutes() {
  return contractApp().openapi(monthly, async (c) => {
    const q = c.req.valid("query");
    const report = await monthlyReport({ ctx: c.get("ctx"), input: q });
    if (q.format === "json") return c.json(report, 200);
    return c.body(monthlyReportCsv(report, q.table), 200, csvHeaders(`yunshen-report-${q.month}${q.table === "units" ? "" : `-${q.table}`}.csv`));
  });
}
