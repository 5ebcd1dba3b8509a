import { BACKUP_COPIES, BACKUP_TYPES, type BackupFacts } from "../../src/resources/catalog";
import { days, type FlowDef, MANAGER_APPROVAL, wd } from "../types";

// Flow 4 of flows.md: 备份 (004 第二十八—三十三条; 002 附件1). Per VM: type, strategy, retention, copies. The
// applicant checks on the day the policy takes effect that backups work; a mismatch goes back to the provider
// until it matches. (A backup asked for with the VM in its application rides in flow 1 instead, with the same
// check.)

export const backupFlow: FlowDef<BackupFacts, "backup"> = {
  key: "backup",
  ratedService: true,
  name: "云资源备份",
  summary: (f) => [
    { label: "资源", value: f.resourceName },
    { label: "备份", value: `${BACKUP_TYPES[f.type]}，${f.strategy}，保留 ${f.retentionMonths} 个月，${BACKUP_COPIES[f.copies]}` },
  ],
  stages: {
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
    default: { name: "004 第二十八—三十三条", sequence: ["county_review", "evaluate", "approve", "apply", "check", "fix", "verify"], attachments: [] },
  },
};
