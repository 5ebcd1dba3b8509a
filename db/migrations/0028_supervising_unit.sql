ALTER TABLE "units" ADD COLUMN "supervisor_id" text;--> statement-breakpoint
ALTER TABLE "yearly_demands" ADD COLUMN "supervised_by" text;--> statement-breakpoint
ALTER TABLE "yearly_demands" ADD COLUMN "supervised_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "units" ADD CONSTRAINT "units_supervisor_id_units_id_fk" FOREIGN KEY ("supervisor_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "yearly_demands" ADD CONSTRAINT "yearly_demands_supervised_by_users_id_fk" FOREIGN KEY ("supervised_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;