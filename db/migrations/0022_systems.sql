CREATE TABLE "systems" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"unit_id" text NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"approval_ref" text NOT NULL,
	"approval_file_id" text,
	"non_classified_by" text NOT NULL,
	"non_classified_at" timestamp with time zone NOT NULL,
	"mlps_level" integer,
	"mlps_filed_on" text,
	"mlps_record_no" text,
	"mlps_tested_on" text,
	"mlps_file_id" text,
	"crypto_assessed_on" text,
	"crypto_result" text,
	"crypto_file_id" text,
	"registered_by" text NOT NULL,
	"registered_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
DROP INDEX "files_unbound_idx";--> statement-breakpoint
ALTER TABLE "files" ADD COLUMN "held_by" text;--> statement-breakpoint
ALTER TABLE "systems" ADD CONSTRAINT "systems_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "systems" ADD CONSTRAINT "systems_approval_file_id_files_id_fk" FOREIGN KEY ("approval_file_id") REFERENCES "public"."files"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "systems" ADD CONSTRAINT "systems_non_classified_by_users_id_fk" FOREIGN KEY ("non_classified_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "systems" ADD CONSTRAINT "systems_mlps_file_id_files_id_fk" FOREIGN KEY ("mlps_file_id") REFERENCES "public"."files"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "systems" ADD CONSTRAINT "systems_crypto_file_id_files_id_fk" FOREIGN KEY ("crypto_file_id") REFERENCES "public"."files"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "systems" ADD CONSTRAINT "systems_registered_by_users_id_fk" FOREIGN KEY ("registered_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "systems_unit_name_idx" ON "systems" USING btree ("unit_id","name");--> statement-breakpoint
CREATE INDEX "files_unbound_idx" ON "files" USING btree ("uploaded_at") WHERE "files"."request_id" is null and "files"."held_by" is null;--> statement-breakpoint
-- Documents an inspection already names are kept by it, no longer purged as unsubmitted uploads.
UPDATE "files" SET "held_by" = 'inspection:' || i."id" FROM "security_inspections" i WHERE "files"."id" IN (i."document_file_id", i."rectification_file_id");
