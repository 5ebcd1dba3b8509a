export { auditAppend, type AuditInput, type AuditRecord } from "../core/audit-append";
export { exportAudit } from "./export";
export { verifyAuditChain } from "./verify";
