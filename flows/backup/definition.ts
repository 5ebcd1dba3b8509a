import { BACKUP_COPIES, BACKUP_TYPES, type BackupFacts } from "../../src/resources/catalog";
import { COUNTY_PRE_REVIEW, days, type FlowDef, MANAGER_APPROVAL, type Party, SUPERVISOR_PRE_REVIEW, wd } from "../types";

// Flow 4 of flows.md: 备份 (004 第二十八—三十三条; 002 附件1). Per VM: type, strategy, retention, copies. The
// applicant checks on the day the policy takes effect that backups work; a mismatch goes back to the provider
// until it matches. (A backup asked for with the VM in its application rides in flow 1 instead, with the same
// check.)
//
// 梅州 (004) is the only document with a backup flow of its own; the other profiles take what their documents say
// of a backup and of the request it is one kind of (see `profiles:` below). Where a document gives no time, the
// comment says which time we chose and marks it "*" (our reading). The unit's same-day 备份有效性核验 and the
// provider's 修正 (004 第三十二条(二)) stay in every profile as yunshen's practice: it is how the unit verifies the
// provider's work, and a backup nobody has restored from is not known to work. No profile but 梅州's has 需求评估
// or 复核 in its text, and only 004 第三十二条(三) has the county bureau told of the result.

/**
 * The unit checks the policy on the day it takes effect; a mismatch goes back to the provider (1 wd*) until it
 * matches: yunshen's practice outside 梅州 (004 第三十二条(二)), told to no county bureau (that is 004 第三十二条(三)'s).
 */
const CHECKED_BY_THE_UNIT = { check: { reportTo: [] as Party[] } };

/**
 * 002 第二十三条's 县级初审 in place of 梅州's 县级数据局初审 (004 第三十条), under the same stage key (the 审核意见
 * boxes of 附件1 read it): runs when a county unit asked itself, 1 wd*, and may refuse.
 */
const { key: _countyKey, ...countyPreReview } = COUNTY_PRE_REVIEW;

export const backupFlow: FlowDef<BackupFacts, "backup"> = {
  key: "backup",
  ratedService: true,
  name: "云资源备份",
  summary: (f) => [
    { label: "资源", value: f.resourceName },
    { label: "备份", value: `${BACKUP_TYPES[f.type]}，${f.strategy}，保留 ${f.retentionMonths} 个月，${BACKUP_COPIES[f.copies]}` },
  ],
  stages: {
    // 002 第二十三条: a 下属单位's 主管单位 pre-reviews (韶关 only).
    supervisor_review: SUPERVISOR_PRE_REVIEW,
    // 004 第二十九、三十条: handed on by the county's bureau within 1 wd (梅州); 韶关 overrides it with its 县级初审.
    county_review: {
      key: "county_review",
      name: "县级数据局初审",
      parties: ["county_bureau"],
      deadline: wd(1),
      approveLabel: "同意并提交",
      canReturn: true,
      when: (f) => f.countyUnit,
    },
    evaluate: { key: "evaluate", name: "需求评估", parties: ["provider"], deadline: wd(3), approveLabel: "提交评估意见", canReturn: true },
    approve: MANAGER_APPROVAL,
    apply: { key: "apply", name: "配置备份策略", parties: ["provider"], deadline: wd(3), approveLabel: "已配置", marks: "delivered" },
    // 第三十一条: checked on the very day the policy takes effect. 第三十二条(三): the result goes to the reviewer
    // (the verify stage) and, for a county unit, to its county's data bureau, which keeps it on record (备案).
    check: { key: "check", name: "备份有效性核验", parties: ["applicant"], deadline: days(0), approveLabel: "备份有效", onFail: "fix", reportTo: ["county_bureau"] },
    fix: { key: "fix", name: "修正备份策略", parties: ["provider"], deadline: wd(1), approveLabel: "已修正", next: "check", detour: true },
    verify: { key: "verify", name: "复核", parties: ["reviewer"], deadline: wd(2), approveLabel: "核查通过", canReturn: true },
  },
  profiles: {
    // 梅州 004 第二十八—三十三条: 申请 (county bureau 1 wd, 第三十条), 需求评估 3 wd (第三十条), 审批 2 wd (第三十一条),
    // 实施 3 wd and the same-day check (第三十二条), 复核 2 wd (第三十三条). The fix's 1 wd is ours* ("直至一致").
    default: { name: "004 第二十八—三十三条", sequence: ["county_review", "evaluate", "approve", "apply", "check", "fix", "verify"], attachments: [] },
    // 韶关 002 第二十八条 "提供备份服务，业务部门可按需申请" (the backup fields of 附件1): asked for as any request is, a
    // county unit's or a 下属单位's pre-reviewed first (002 第二十三条: 主管单位, then the county bureau, in 附件1's order;
    // 1 wd* each, the county's may refuse), reviewed by the city in 5 wd, and 下发 by the provider in 3 wd (002
    // 第二十条). Then the unit's check*.
    shaoguan: {
      name: "韶关 002 第二十、二十三、二十八条",
      sequence: ["supervisor_review", "county_review", "approve", "apply", "check", "fix"],
      overrides: {
        county_review: countyPreReview,
        approve: { deadline: wd(5) },
        apply: { name: "备份资源下发" },
        ...CHECKED_BY_THE_UNIT,
      },
      attachments: [],
    },
    // 徽州 001 has no backup article: 附件1 "需进行数据备份的应单独列出备份资源需求" makes it a resource of its own,
    // and asking for more resources later is 第十五条's change: 审核 in 5 wd, the 运维单位 in 3 wd. 001 has no county
    // bureau: no pre-review. Then the unit's check*.
    huizhou: {
      name: "徽州 001 第十五条、附件1",
      sequence: ["approve", "apply", "check", "fix"],
      overrides: { approve: { deadline: wd(5) }, apply: { name: "配置备份资源" }, ...CHECKED_BY_THE_UNIT },
      attachments: [],
    },
    // 巴中 003 第二十三条: "使用单位应向市政务服务和大数据管理局提出重要信息系统的备份申请，经…审核同意后，云服务商配合使用
    // 单位，组织信息系统建设、维护单位做好备份工作": reviewed by the bureau, then configured by the provider with the
    // unit. 003 gives no time: 5 wd* for the review (as its 技术论证, 第十七条, and the other cities' reviews), 3 wd* for
    // the provider (its 资源配置, 第十八条). Then the unit's check*.
    bazhong: {
      name: "巴中 003 第二十三条",
      sequence: ["approve", "apply", "check", "fix"],
      overrides: { approve: { deadline: wd(5) }, apply: { name: "配合实施备份" }, ...CHECKED_BY_THE_UNIT },
      attachments: [],
    },
    // 高创中心 000 5.2 lists 数据备份服务 among the IaaS services; asked for as a service is (7.2.1): 申请审核, then 开通.
    // 000 gives no times: 5 wd* and 3 wd*, as its application (flows/application/definition.ts profiles.gaochuang).
    // Then the unit's check*.
    gaochuang: {
      name: "高创中心 000 5.2、7.2.1",
      sequence: ["approve", "apply", "check", "fix"],
      overrides: { approve: { name: "申请审核", deadline: wd(5) }, apply: { name: "开通备份服务" }, ...CHECKED_BY_THE_UNIT },
      attachments: [],
    },
  },
};
