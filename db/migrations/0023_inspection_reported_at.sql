ALTER TABLE "security_inspections" ADD COLUMN "reported_at" timestamp with time zone;--> statement-breakpoint
-- Inspections reported before the column existed: the time of their last 整改完成 report, from the audit log.
UPDATE "security_inspections" AS s SET "reported_at" = (
	SELECT max(a."at") FROM "audit_log" AS a
	WHERE a."action" = 'inspection.report' AND a."outcome" = 'ok' AND a."details"->>'id' = s."id"::text
) WHERE s."status" IN ('reported', 'closed');
