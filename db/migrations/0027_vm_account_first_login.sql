ALTER TABLE "vm_accounts" ADD COLUMN "first_login_at" timestamp with time zone;--> statement-breakpoint
-- Accounts that already let someone in: their first allowed verification in the audit log, so that an account
-- in use is not told at its next login that its initial password must be changed (001 附件1 注2).
UPDATE "vm_accounts" AS v SET "first_login_at" = a."first" FROM (SELECT ("details"->>'accountId')::bigint AS "id", min("at") AS "first" FROM "audit_log" WHERE "action" = 'access.verify' AND "outcome" = 'ok' AND "details"->>'allow' = 'true' GROUP BY 1) AS a WHERE a."id" = v."id";
