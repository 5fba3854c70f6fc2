-- Custom migration: notifications for LISTEN/NOTIFY wake-ups (@strata/realtime), sent from the database
-- side of the commit, so that writes through a transaction the application opened notify too.
--
-- Only while someone listens: a NOTIFY serializes commits across the cluster (PostgreSQL takes a lock for
-- it until the commit is flushed, so concurrent committers lose group commit). Listeners register in the
-- schema's `listeners` table (unlogged: nothing to recover after a crash, they register again), and a
-- store in its default mode notifies only while an unexpired registration exists.
--
-- One notification per committing transaction and channel. The statements that append or send note what
-- a wake-up needs in transaction-local settings (the store's SQL does it; a store made with notify off
-- does not), and a deferred constraint trigger, queued by the transaction's first such write, sends the
-- final note at commit. A transaction that rolls back sends nothing; a rolled-back savepoint takes its
-- note and its queued trigger with it. Channel and setting names are fixed per schema (migrate() fills
-- the __STRATA_…__ placeholders from the schema name); no user string ever reaches a channel name.
--
-- Payloads: events {"p": last position, "s": its stream id, "t": its type, "r": readable at once};
-- queue {"q": [queue names]},
-- or {"q": null} ("every queue") once the names would pass 4000 bytes. Names are at most 255 characters,
-- so a payload stays far below PostgreSQL's 8000-byte limit.
CREATE UNLOGGED TABLE "strata"."listeners" (
	"id" uuid PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
-- Whether a store in the default mode ('auto') should notify: is anyone listening to this schema?
CREATE FUNCTION "strata"."listened"() RETURNS boolean LANGUAGE sql STABLE AS $listened$
	SELECT EXISTS (SELECT 1 FROM "strata"."listeners" WHERE expires_at > statement_timestamp())
$listened$;
--> statement-breakpoint
CREATE FUNCTION "strata"."notify_events"() RETURNS trigger LANGUAGE plpgsql AS $notify$
DECLARE
	v_note text := current_setting('strata.ev___STRATA_KEY__', true);
BEGIN
	-- No note yet: the trigger fires before the append that queued it finished (the transaction set its
	-- constraints IMMEDIATE). The notification, delivered at commit all the same, then says only "read again".
	IF v_note IS NULL OR v_note = '' THEN
		PERFORM pg_notify('__STRATA_EVENTS_CHANNEL__', '{}');
	ELSE
		-- "r": whether readers will see these events as soon as this commits, i.e. no older transaction is
		-- still running (gap-safe reads stop at the oldest one). When not, the listener waits until they can.
		PERFORM pg_notify('__STRATA_EVENTS_CHANNEL__',
			(v_note::jsonb || jsonb_build_object('r', pg_snapshot_xmin(pg_current_snapshot()) = pg_current_xact_id()))::text);
	END IF;
	RETURN NULL;
END
$notify$;
--> statement-breakpoint
-- Queued once per transaction, by its first append through a store that notifies: such an append marks
-- the transaction (strata.evw_…) before it writes its stream row, and sets its note (strata.ev_…) after.
CREATE CONSTRAINT TRIGGER "streams_notify" AFTER INSERT OR UPDATE ON "strata"."streams"
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	WHEN (current_setting('strata.evw___STRATA_KEY__', true) = '1' AND coalesce(current_setting('strata.ev___STRATA_KEY__', true), '') = '')
	EXECUTE FUNCTION "strata"."notify_events"();
--> statement-breakpoint
-- Adds a queue to the transaction's queue note, marks the statement's first message (whose row queues
-- the commit trigger), and with p_now sends the note at once (nack, redrive, dedup sends: statements
-- whose rows are not known beforehand; PostgreSQL folds identical notifications of one transaction).
CREATE FUNCTION "strata"."note_queue"(p_queue text, p_first uuid, p_now boolean, p_always boolean) RETURNS boolean LANGUAGE plpgsql AS $note$
DECLARE
	v_note text := coalesce(current_setting('strata.q___STRATA_KEY__', true), '');
	v_list jsonb;
BEGIN
	IF NOT p_always AND v_note = '' AND NOT "strata"."listened"() THEN
		RETURN true;
	END IF;
	IF v_note = '' THEN
		v_list := jsonb_build_array(p_queue);
	ELSE
		v_list := v_note::jsonb -> 'q';
		IF jsonb_typeof(v_list) = 'array' AND NOT v_list ? p_queue THEN
			v_list := v_list || to_jsonb(p_queue);
		END IF;
	END IF;
	v_note := jsonb_build_object('q', v_list)::text;
	IF octet_length(v_note) > 4000 THEN
		v_note := '{"q": null}';
	END IF;
	PERFORM set_config('strata.q___STRATA_KEY__', v_note, true);
	PERFORM set_config('strata.qf___STRATA_KEY__', coalesce(p_first::text, ''), true);
	IF p_now THEN
		PERFORM pg_notify('__STRATA_QUEUE_CHANNEL__', v_note);
	END IF;
	RETURN true;
END
$note$;
--> statement-breakpoint
CREATE FUNCTION "strata"."notify_queue"() RETURNS trigger LANGUAGE plpgsql AS $notify$
DECLARE
	v_note text := current_setting('strata.q___STRATA_KEY__', true);
BEGIN
	IF v_note IS NOT NULL AND v_note <> '' THEN
		PERFORM pg_notify('__STRATA_QUEUE_CHANNEL__', v_note);
	END IF;
	RETURN NULL;
END
$notify$;
--> statement-breakpoint
-- Queued once per send statement: by the row of its first message.
CREATE CONSTRAINT TRIGGER "queue_messages_notify" AFTER INSERT ON "strata"."queue_messages"
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	WHEN (NEW.id::text = current_setting('strata.qf___STRATA_KEY__', true))
	EXECUTE FUNCTION "strata"."notify_queue"();
