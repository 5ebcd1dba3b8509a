CREATE TABLE "price_tables" (
	"version" text PRIMARY KEY NOT NULL,
	"effective_from" text NOT NULL,
	"table" jsonb NOT NULL,
	"loaded_at" timestamp with time zone NOT NULL
);
