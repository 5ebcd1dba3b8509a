ALTER TABLE "resources" ADD COLUMN "billed_from" timestamp with time zone;--> statement-breakpoint
-- Resources delivered before billing had its own start: billed from delivery (004 第四十三条), except a 巴中
-- application's, billed from its deployment (003 第四十三条), or not yet when it has none.
UPDATE "resources" AS r SET "billed_from" = CASE WHEN q."profile" = 'bazhong' AND q."flow" = 'application' THEN r."deployed_at" ELSE r."delivered_at" END FROM "requests" AS q WHERE q."id" = r."request_id";
