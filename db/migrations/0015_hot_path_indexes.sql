DROP INDEX "tasks_user_status_idx";--> statement-breakpoint
CREATE INDEX "outbox_user_sent_idx" ON "outbox" USING btree ("user_id","status","sent_at");--> statement-breakpoint
CREATE INDEX "tasks_request_user_idx" ON "tasks" USING btree ("request_id","user_id");--> statement-breakpoint
CREATE INDEX "wecom_cards_unsettled_idx" ON "wecom_cards" USING btree ("sent_at") WHERE "wecom_cards"."settled_at" is null;--> statement-breakpoint
CREATE INDEX "tasks_user_status_idx" ON "tasks" USING btree ("user_id","status","request_id");