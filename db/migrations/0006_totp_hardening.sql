ALTER TABLE "totp_enrolments" ADD COLUMN "sms_code_hash" text;--> statement-breakpoint
ALTER TABLE "totp_enrolments" ADD COLUMN "sms_code_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "totp_enrolments" ADD COLUMN "failures" integer DEFAULT 0 NOT NULL;