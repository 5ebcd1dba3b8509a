CREATE TABLE "service_catalogs" (
	"version" text PRIMARY KEY NOT NULL,
	"effective_from" text NOT NULL,
	"catalog" jsonb NOT NULL,
	"loaded_at" timestamp with time zone NOT NULL
);
