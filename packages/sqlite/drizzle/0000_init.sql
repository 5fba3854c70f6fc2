CREATE TABLE `strata_checkpoints` (
	`consumer` text PRIMARY KEY NOT NULL,
	`position` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `strata_events` (
	`position` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`stream_id` text NOT NULL,
	`version` integer NOT NULL,
	`event_id` text NOT NULL,
	`type` text NOT NULL,
	`schema_version` integer NOT NULL,
	`data` text NOT NULL,
	`metadata` text NOT NULL,
	`correlation_id` text,
	`recorded_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `strata_events_stream_version_idx` ON `strata_events` (`stream_id`,`version`);--> statement-breakpoint
CREATE UNIQUE INDEX `strata_events_event_id_idx` ON `strata_events` (`event_id`);--> statement-breakpoint
CREATE INDEX `strata_events_type_position_idx` ON `strata_events` (`type`,`position`);--> statement-breakpoint
CREATE INDEX `strata_events_correlation_idx` ON `strata_events` (`correlation_id`,`position`) WHERE "strata_events"."correlation_id" is not null;--> statement-breakpoint
CREATE TABLE `strata_consumer_leases` (
	`consumer` text PRIMARY KEY NOT NULL,
	`owner` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `strata_queue_messages` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`queue` text NOT NULL,
	`body` text NOT NULL,
	`headers` text NOT NULL,
	`priority` integer NOT NULL,
	`max_attempts` integer NOT NULL,
	`dedup_id` text,
	`attempt` integer DEFAULT 0 NOT NULL,
	`visible_at` integer NOT NULL,
	`receipt` text,
	`dead` integer DEFAULT 0 NOT NULL,
	`reason` text,
	`enqueued_at` integer NOT NULL,
	`dead_lettered_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `strata_queue_id_idx` ON `strata_queue_messages` (`id`);--> statement-breakpoint
CREATE INDEX `strata_queue_ready_idx` ON `strata_queue_messages` (`queue`,"priority" desc,`seq`) WHERE "strata_queue_messages"."dead" = 0;--> statement-breakpoint
CREATE INDEX `strata_queue_dead_idx` ON `strata_queue_messages` (`queue`,`dead_lettered_at`,`seq`) WHERE "strata_queue_messages"."dead" = 1;--> statement-breakpoint
CREATE UNIQUE INDEX `strata_queue_receipt_idx` ON `strata_queue_messages` (`receipt`) WHERE "strata_queue_messages"."receipt" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX `strata_queue_dedup_idx` ON `strata_queue_messages` (`queue`,`dedup_id`) WHERE "strata_queue_messages"."dedup_id" is not null;--> statement-breakpoint
CREATE TABLE `strata_snapshots` (
	`stream_id` text NOT NULL,
	`version` integer NOT NULL,
	`state` text NOT NULL,
	`schema_version` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`stream_id`, `version`)
);
--> statement-breakpoint
CREATE TABLE `strata_streams` (
	`stream_id` text PRIMARY KEY NOT NULL,
	`version` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
