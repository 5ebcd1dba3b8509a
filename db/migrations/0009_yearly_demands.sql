CREATE TABLE "yearly_demands" (
	"year" integer NOT NULL,
	"unit_id" text NOT NULL,
	"vcpu" integer NOT NULL,
	"memory_gb" integer NOT NULL,
	"storage_gb" integer NOT NULL,
	"note" text DEFAULT '' NOT NULL,
	"submitted_by" text NOT NULL,
	"submitted_at" timestamp with time zone NOT NULL,
	"passed_by" text,
	"passed_at" timestamp with time zone,
	CONSTRAINT "yearly_demands_year_unit_id_pk" PRIMARY KEY("year","unit_id")
);
--> statement-breakpoint
ALTER TABLE "yearly_demands" ADD CONSTRAINT "yearly_demands_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "yearly_demands" ADD CONSTRAINT "yearly_demands_submitted_by_users_id_fk" FOREIGN KEY ("submitted_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "yearly_demands" ADD CONSTRAINT "yearly_demands_passed_by_users_id_fk" FOREIGN KEY ("passed_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;