CREATE TABLE "resource_sizes" (
	"resource_id" bigint NOT NULL,
	"from_date" text NOT NULL,
	"spec" jsonb NOT NULL,
	"request_id" bigint NOT NULL,
	CONSTRAINT "resource_sizes_resource_id_from_date_pk" PRIMARY KEY("resource_id","from_date")
);
--> statement-breakpoint
ALTER TABLE "resource_sizes" ADD CONSTRAINT "resource_sizes_resource_id_resources_id_fk" FOREIGN KEY ("resource_id") REFERENCES "public"."resources"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "resource_sizes" ADD CONSTRAINT "resource_sizes_request_id_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."requests"("id") ON DELETE no action ON UPDATE no action;