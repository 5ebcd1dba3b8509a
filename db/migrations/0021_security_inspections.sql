CREATE TABLE "security_inspections" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"inspected_on" text NOT NULL,
	"kind" text NOT NULL,
	"scope" jsonb NOT NULL,
	"inspectors" text NOT NULL,
	"result" text NOT NULL,
	"findings" jsonb NOT NULL,
	"deadline" text,
	"document_file_id" text,
	"status" text NOT NULL,
	"rectification_note" text,
	"rectification_file_id" text,
	"return_reason" text,
	"recorded_by" text NOT NULL,
	"recorded_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "security_inspections" ADD CONSTRAINT "security_inspections_document_file_id_files_id_fk" FOREIGN KEY ("document_file_id") REFERENCES "public"."files"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "security_inspections" ADD CONSTRAINT "security_inspections_rectification_file_id_files_id_fk" FOREIGN KEY ("rectification_file_id") REFERENCES "public"."files"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "security_inspections" ADD CONSTRAINT "security_inspections_recorded_by_users_id_fk" FOREIGN KEY ("recorded_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "security_inspections_status_idx" ON "security_inspections" USING btree ("status");