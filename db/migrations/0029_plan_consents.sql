CREATE TABLE "plan_consents" (
	"year" integer PRIMARY KEY NOT NULL,
	"doc_no" text NOT NULL,
	"consented_on" text NOT NULL,
	"file_id" text,
	"units" jsonb NOT NULL,
	"recorded_by" text NOT NULL,
	"recorded_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "plan_consents" ADD CONSTRAINT "plan_consents_file_id_files_id_fk" FOREIGN KEY ("file_id") REFERENCES "public"."files"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "plan_consents" ADD CONSTRAINT "plan_consents_recorded_by_users_id_fk" FOREIGN KEY ("recorded_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;