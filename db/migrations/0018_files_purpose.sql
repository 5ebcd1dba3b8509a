ALTER TABLE "files" ADD COLUMN "purpose" text;--> statement-breakpoint
CREATE INDEX "files_unbound_idx" ON "files" USING btree ("uploaded_at") WHERE "files"."request_id" is null;--> statement-breakpoint
-- Files kept before purposes were: a request's file takes the purpose its form names it under (the one the
-- required-document rules counted), so a resubmission keeps it; a file no request names yet takes the purpose
-- its upload's audit entry recorded (the portal's uploads were not checked then: only a known purpose is taken).
-- What neither says stays null (src/files attachFiles: accepted as declared).
UPDATE "files" SET "purpose" = "named"."purpose"
  FROM (
    SELECT DISTINCT ON ("r"."id", "a"."item"->>'fileId') "r"."id" AS "request_id", "a"."item"->>'fileId' AS "file_id", "a"."item"->>'purpose' AS "purpose"
    FROM "requests" "r", jsonb_array_elements(CASE WHEN jsonb_typeof("r"."form"->'attachments') = 'array' THEN "r"."form"->'attachments' ELSE '[]'::jsonb END) AS "a"("item")
    ORDER BY "r"."id", "a"."item"->>'fileId', "a"."item"->>'purpose'
  ) AS "named"
  WHERE "files"."request_id" = "named"."request_id" AND "files"."id" = "named"."file_id" AND "files"."purpose" IS NULL;--> statement-breakpoint
UPDATE "files" SET "purpose" = "uploaded"."details"->>'purpose'
  FROM "audit_log" "uploaded"
  WHERE "uploaded"."action" = 'file.upload' AND "uploaded"."details"->>'fileId' = "files"."id"
    AND "files"."purpose" IS NULL AND "files"."request_id" IS NULL AND "uploaded"."details"->>'purpose' IN ('plan', 'project_approval', 'storage_explanation', 'justification', 'test_report', 'security_pledge', 'evaluation', 'other');
