export { auditAppend, type AuditInput, type AuditRecord } from "./append";
export { exportAudit } from "./export";
export { verifyAuditChain } from "./verify";
