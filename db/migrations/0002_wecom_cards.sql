CREATE TABLE "chat_prompts" (
	"user_id" text PRIMARY KEY NOT NULL,
	"task_id" bigint NOT NULL,
	"action" text NOT NULL,
	"asked_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "wecom_cards" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"wecom_task_id" text NOT NULL,
	"outbox_id" bigint NOT NULL,
	"user_id" text NOT NULL,
	"task_id" bigint,
	"response_code" text,
	"code_issued_at" timestamp with time zone,
	"sent_at" timestamp with time zone NOT NULL,
	"settled_at" timestamp with time zone,
	CONSTRAINT "wecom_cards_wecom_task_id_unique" UNIQUE("wecom_task_id")
);
--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "task_id" bigint;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "card_token" text;--> statement-breakpoint
ALTER TABLE "chat_prompts" ADD CONSTRAINT "chat_prompts_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chat_prompts" ADD CONSTRAINT "chat_prompts_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "wecom_cards" ADD CONSTRAINT "wecom_cards_outbox_id_outbox_id_fk" FOREIGN KEY ("outbox_id") REFERENCES "public"."outbox"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "wecom_cards" ADD CONSTRAINT "wecom_cards_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "wecom_cards" ADD CONSTRAINT "wecom_cards_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "wecom_cards_task_idx" ON "wecom_cards" USING btree ("task_id");--> statement-breakpoint
ALTER TABLE "outbox" ADD CONSTRAINT "outbox_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_card_token_unique" UNIQUE("card_token");