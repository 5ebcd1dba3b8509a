CREATE TABLE "resources" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"request_id" bigint NOT NULL,
	"unit_id" text NOT NULL,
	"system" text NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"spec" jsonb NOT NULL,
	"instance_id" text,
	"status" text NOT NULL,
	"delivered_at" timestamp with time zone NOT NULL,
	"deployed_at" timestamp with time zone,
	"security_tested_at" timestamp with time zone,
	"live_at" timestamp with time zone,
	"changed_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "resources_name_unique" UNIQUE("name"),
	CONSTRAINT "resources_instance_id_unique" UNIQUE("instance_id")
);
--> statement-breakpoint
ALTER TABLE "resources" ADD CONSTRAINT "resources_request_id_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "resources" ADD CONSTRAINT "resources_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "resources_request_idx" ON "resources" USING btree ("request_id");--> statement-breakpoint
CREATE INDEX "resources_unit_idx" ON "resources" USING btree ("unit_id");