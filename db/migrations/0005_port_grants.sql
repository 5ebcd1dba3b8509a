CREATE TABLE "port_grants" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"host_id" text NOT NULL,
	"port" integer NOT NULL,
	"protocol" text NOT NULL,
	"sources" jsonb NOT NULL,
	"reason" text NOT NULL,
	"request_id" bigint NOT NULL,
	"status" text NOT NULL,
	"valid_until" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "port_grants" ADD CONSTRAINT "port_grants_host_id_hosts_id_fk" FOREIGN KEY ("host_id") REFERENCES "public"."hosts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "port_grants" ADD CONSTRAINT "port_grants_request_id_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "port_grants_host_idx" ON "port_grants" USING btree ("host_id","status");