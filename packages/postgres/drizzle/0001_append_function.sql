-- Custom migration: the append function. One call appends a batch atomically, in one round trip:
-- the expected-version check, the idempotent-retry check and the position assignment all happen
-- inside the database, under the stream row's lock.
--
-- Positions are (writing transaction id) * 2^20 + (events appended so far in that transaction). Readers
-- only return rows whose transaction id is below their snapshot's xmin, i.e. rows of transactions that
-- can no longer change; every transaction still able to commit has a larger id, hence larger positions.
-- So a reader never passes a position that a smaller one could still appear before, which a plain
-- sequence cannot promise (a transaction may take its id early and its sequence value late).
--
-- Outcomes: 0 appended; 1 idempotent retry (the original result); 2 expected version failed
-- (stream_version = actual); 3 ids partly stored; 4 an id is in another stream; 5 ids at other
-- versions; 6 an id stored with other content (conflict_id = first stored id).
CREATE FUNCTION "strata"."append_events"(
	p_stream_id text,
	p_expected_kind integer,
	p_expected bigint,
	p_check_ids boolean,
	p_events jsonb
) RETURNS TABLE (outcome integer, stream_version bigint, first_position bigint, last_position bigint, conflict_id uuid)
LANGUAGE plpgsql AS $append$
DECLARE
	v_count integer := jsonb_array_length(p_events);
	v_current bigint;
	v_found integer;
	v_same integer;
	v_same_stream integer;
	v_lo bigint;
	v_hi bigint;
	v_first bigint;
	v_last bigint;
	v_version bigint;
	v_conflict uuid;
	v_xid xid8;
	v_used bigint;
	v_base bigint;
	v_now timestamptz := date_trunc('milliseconds', statement_timestamp());
BEGIN
	LOOP
		SELECT s.version INTO v_current FROM "strata"."streams" s WHERE s.stream_id = p_stream_id FOR UPDATE;
		IF NOT FOUND THEN
			v_current := 0;
		END IF;

		IF p_check_ids THEN
			SELECT count(e.event_id),
				count(*) FILTER (WHERE e.stream_id = p_stream_id AND e.type = i.x->>'type'
					AND e.schema_version = (i.x->>'schemaVersion')::integer
					AND e.data = i.x->'data' AND e.metadata = i.x->'metadata'),
				count(*) FILTER (WHERE e.stream_id = p_stream_id),
				min(e.version - i.ord), max(e.version - i.ord),
				min(e.position), max(e.position), max(e.version),
				(array_agg(e.event_id ORDER BY i.ord) FILTER (WHERE e.event_id IS NOT NULL))[1]
			INTO v_found, v_same, v_same_stream, v_lo, v_hi, v_first, v_last, v_version, v_conflict
			FROM jsonb_array_elements(p_events) WITH ORDINALITY AS i(x, ord)
			LEFT JOIN "strata"."events" e ON e.event_id = (i.x->>'id')::uuid;
			IF v_found > 0 THEN
				IF v_found < v_count THEN
					RETURN QUERY SELECT 3, v_current, NULL::bigint, NULL::bigint, v_conflict;
				ELSIF v_same_stream < v_found THEN
					RETURN QUERY SELECT 4, v_current, NULL::bigint, NULL::bigint, v_conflict;
				ELSIF v_lo <> v_hi THEN
					RETURN QUERY SELECT 5, v_current, NULL::bigint, NULL::bigint, v_conflict;
				ELSIF v_same < v_found THEN
					RETURN QUERY SELECT 6, v_current, NULL::bigint, NULL::bigint, v_conflict;
				ELSE
					RETURN QUERY SELECT 1, v_version, v_first, v_last, NULL::uuid;
				END IF;
				RETURN;
			END IF;
		END IF;

		IF NOT (p_expected_kind = 0
			OR (p_expected_kind = 1 AND v_current = 0)
			OR (p_expected_kind = 2 AND v_current > 0)
			OR (p_expected_kind = 3 AND v_current = p_expected)) THEN
			RETURN QUERY SELECT 2, v_current, NULL::bigint, NULL::bigint, NULL::uuid;
			RETURN;
		END IF;

		IF v_current = 0 THEN
			INSERT INTO "strata"."streams" (stream_id, version, created_at, updated_at)
				VALUES (p_stream_id, v_count, v_now, v_now)
				ON CONFLICT (stream_id) DO NOTHING;
			-- Not inserted: another transaction created the stream meanwhile; check again under its lock.
			EXIT WHEN FOUND;
		ELSE
			UPDATE "strata"."streams" SET version = v_current + v_count, updated_at = v_now WHERE stream_id = p_stream_id;
			EXIT;
		END IF;
	END LOOP;

	v_xid := pg_current_xact_id();
	v_used := coalesce(nullif(current_setting('strata.positions_used', true), ''), '0')::bigint;
	IF v_used + v_count > 1048576 THEN
		RAISE EXCEPTION 'strata: more than 1048576 events appended in one transaction' USING ERRCODE = '54000';
	END IF;
	PERFORM set_config('strata.positions_used', (v_used + v_count)::text, true);
	v_base := (v_xid::text)::bigint * 1048576 + v_used;

	INSERT INTO "strata"."events" (position, transaction_id, stream_id, version, event_id, type, schema_version, data, metadata, recorded_at)
	SELECT v_base + i.ord, v_xid, p_stream_id, v_current + i.ord, (i.x->>'id')::uuid, i.x->>'type',
		(i.x->>'schemaVersion')::integer, i.x->'data', i.x->'metadata', v_now
	FROM jsonb_array_elements(p_events) WITH ORDINALITY AS i(x, ord);

	RETURN QUERY SELECT 0, v_current + v_count, v_base + 1, v_base + v_count, NULL::uuid;
END
$append$;
