ALTER TABLE "api_tokens" ADD COLUMN "expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "sig" text;--> statement-breakpoint
CREATE INDEX "timers_stage_run_idx" ON "timers" USING btree ("stage_run_id");