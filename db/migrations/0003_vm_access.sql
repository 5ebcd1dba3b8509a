CREATE TABLE "access_codes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"vm_account_id" bigint NOT NULL,
	"host_id" text NOT NULL,
	"code_hash" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"closed_at" timestamp with time zone,
	"closed_reason" text,
	"wrong_tries" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hosts" (
	"id" text PRIMARY KEY NOT NULL,
	"credential_hash" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "hosts_credential_hash_unique" UNIQUE("credential_hash")
);
--> statement-breakpoint
CREATE TABLE "vm_accounts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"host_id" text NOT NULL,
	"account" text NOT NULL,
	"user_id" text NOT NULL,
	"mobile" text NOT NULL,
	"request_id" bigint,
	"status" text NOT NULL,
	"valid_until" timestamp with time zone NOT NULL,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"locked_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "access_codes" ADD CONSTRAINT "access_codes_vm_account_id_vm_accounts_id_fk" FOREIGN KEY ("vm_account_id") REFERENCES "public"."vm_accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "access_codes" ADD CONSTRAINT "access_codes_host_id_hosts_id_fk" FOREIGN KEY ("host_id") REFERENCES "public"."hosts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vm_accounts" ADD CONSTRAINT "vm_accounts_host_id_hosts_id_fk" FOREIGN KEY ("host_id") REFERENCES "public"."hosts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vm_accounts" ADD CONSTRAINT "vm_accounts_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vm_accounts" ADD CONSTRAINT "vm_accounts_request_id_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "access_codes_account_idx" ON "access_codes" USING btree ("vm_account_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "vm_accounts_host_account_active_idx" ON "vm_accounts" USING btree ("host_id","account") WHERE status = 'active';--> statement-breakpoint
CREATE INDEX "vm_accounts_user_idx" ON "vm_accounts" USING btree ("user_id");