import type { PortGrantFacts } from "../../src/access/port-grants";
import { type FlowDef, MANAGER_APPROVAL, wd } from "../types";

// 端口与访问地址开放申请 (004 第三十七条: 远程访问和端口按最小权限、按申请开放; 001 附件1 注2: 对外 IP 和开放端口
// 须报备). A grant is separate from any account and has its own end date.

export const portGrantFlow: FlowDef<PortGrantFacts, "port_grant"> = {
  key: "port_grant",
  ratedService: true,
  name: "端口与访问地址开放申请",
  summary: (f) => [
    { label: "主机", value: f.hosts.join("、") },
    { label: "端口", value: f.ports.map((p) => `${p.port}/${p.protocol}`).join("、") },
    { label: "来源", value: f.sources.join("、") },
    { label: "有效期", value: "workdays" in f.validity ? `批准后 ${f.validity.workdays} 个工作日` : `至 ${f.validity.until}` },
  ],
  stages: {
    approve: MANAGER_APPROVAL,
    open: { key: "open", name: "开通端口", parties: ["provider"], deadline: wd(2), approveLabel: "已开通", canReturn: true },
  },
  profiles: { default: { name: "004 第三十七条", sequence: ["approve", "open"], attachments: [] } },
};
