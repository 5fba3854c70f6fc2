CREATE SCHEMA "strata";
--> statement-breakpoint
CREATE TABLE "strata"."checkpoints" (
	"consumer" text PRIMARY KEY NOT NULL,
	"position" bigint NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "strata"."events" (
	"position" bigint PRIMARY KEY NOT NULL,
	"transaction_id" "xid8" NOT NULL,
	"stream_id" text collate "C" NOT NULL,
	"version" bigint NOT NULL,
	"event_id" uuid NOT NULL,
	"type" text NOT NULL,
	"schema_version" integer NOT NULL,
	"data" jsonb NOT NULL,
	"metadata" jsonb NOT NULL,
	"recorded_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "strata"."consumer_leases" (
	"consumer" text PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "strata"."queue_messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"queue" text NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "strata"."queue_messages_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"body" jsonb NOT NULL,
	"headers" jsonb NOT NULL,
	"priority" integer NOT NULL,
	"max_attempts" integer NOT NULL,
	"dedup_id" text,
	"attempt" integer DEFAULT 0 NOT NULL,
	"visible_at" timestamp (3) with time zone NOT NULL,
	"receipt" uuid,
	"dead" boolean DEFAULT false NOT NULL,
	"reason" text,
	"enqueued_at" timestamp (3) with time zone NOT NULL,
	"dead_lettered_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "strata"."snapshots" (
	"stream_id" text NOT NULL,
	"version" bigint NOT NULL,
	"state" jsonb NOT NULL,
	"schema_version" integer NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "snapshots_stream_id_version_pk" PRIMARY KEY("stream_id","version")
);
--> statement-breakpoint
CREATE TABLE "strata"."streams" (
	"stream_id" text collate "C" PRIMARY KEY NOT NULL,
	"version" bigint NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "events_stream_version_idx" ON "strata"."events" USING btree ("stream_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "events_event_id_idx" ON "strata"."events" USING btree ("event_id");--> statement-breakpoint
CREATE INDEX "events_type_position_idx" ON "strata"."events" USING btree ("type","position");--> statement-breakpoint
CREATE INDEX "events_correlation_idx" ON "strata"."events" USING btree (("metadata" ->> 'correlationId'),"position") WHERE "strata"."events"."metadata" ? 'correlationId';--> statement-breakpoint
CREATE INDEX "queue_ready_idx" ON "strata"."queue_messages" USING btree ("queue","priority" DESC NULLS LAST,"seq") WHERE not "strata"."queue_messages"."dead";--> statement-breakpoint
CREATE INDEX "queue_dead_idx" ON "strata"."queue_messages" USING btree ("queue","dead_lettered_at","seq") WHERE "strata"."queue_messages"."dead";--> statement-breakpoint
CREATE UNIQUE INDEX "queue_receipt_idx" ON "strata"."queue_messages" USING btree ("receipt") WHERE "strata"."queue_messages"."receipt" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "queue_dedup_idx" ON "strata"."queue_messages" USING btree ("queue","dedup_id") WHERE "strata"."queue_messages"."dedup_id" is not null;