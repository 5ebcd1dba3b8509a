CREATE TABLE "user_channels" (
	"user_id" text NOT NULL,
	"channel" text NOT NULL,
	"address" text NOT NULL,
	CONSTRAINT "user_channels_user_id_channel_pk" PRIMARY KEY("user_id","channel")
);
--> statement-breakpoint
ALTER TABLE "user_channels" ADD CONSTRAINT "user_channels_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "user_channels_address_idx" ON "user_channels" USING btree ("channel",lower("address"));--> statement-breakpoint
-- Each WeCom userid becomes the person's address on the wecom channel; '' meant none.
INSERT INTO "user_channels" ("user_id", "channel", "address") SELECT "id", 'wecom', "wecom_user_id" FROM "users" WHERE "wecom_user_id" <> '';--> statement-breakpoint
ALTER TABLE "outbox" DROP CONSTRAINT "outbox_dedupe_key_unique";--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "channel" text;--> statement-breakpoint
-- Messages already queued went to the one channel of their time: WeCom for a person with an account there
-- (the console when WeCom is not configured, as before), else the console.
UPDATE "outbox" SET "channel" = CASE WHEN EXISTS (SELECT 1 FROM "user_channels" c WHERE c."user_id" = "outbox"."user_id" AND c."channel" = 'wecom') THEN 'wecom' ELSE 'console' END;--> statement-breakpoint
ALTER TABLE "outbox" ALTER COLUMN "channel" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "users" DROP COLUMN "wecom_user_id";--> statement-breakpoint
ALTER TABLE "outbox" ADD CONSTRAINT "outbox_dedupe_key_channel_unique" UNIQUE("dedupe_key","channel");
