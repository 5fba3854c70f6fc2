-- Custom migration: the queue claim. One statement takes up to p_max ready messages of a queue in
-- priority then FIFO order with FOR UPDATE SKIP LOCKED, and in the same statement gives each a new
-- receipt, its next attempt and its visibility deadline -- or dead-letters it when its attempts ran out.
--
-- It lives in a function for one reason: the planner settings attached to it. Queues fill in bursts,
-- so statistics are often stale; the planner then believes a queue holds a dozen rows and reads every
-- ready row into a sort, which costs time in proportion to the queue's depth. With bitmap scans and
-- explicit sorts priced out, it walks the ready index in order and stops after p_max rows.
CREATE FUNCTION "strata"."claim_messages"(p_queue text, p_max integer, p_visibility_ms double precision, p_exhausted_reason text)
RETURNS TABLE (id uuid, queue text, body jsonb, headers jsonb, attempt integer, max_attempts integer, receipt uuid,
	dead boolean, enqueued_at timestamptz, visible_at timestamptz, priority integer, seq bigint)
LANGUAGE sql
SET enable_bitmapscan = off
SET enable_sort = off
AS $claim$
	WITH picked AS (
		SELECT q.id FROM "strata"."queue_messages" q
		WHERE q.queue = p_queue AND NOT q.dead AND q.visible_at <= date_trunc('milliseconds', statement_timestamp())
		ORDER BY q.priority DESC NULLS LAST, q.seq
		LIMIT p_max
		FOR UPDATE SKIP LOCKED
	)
	UPDATE "strata"."queue_messages" m SET
		dead = m.attempt >= m.max_attempts,
		attempt = CASE WHEN m.attempt >= m.max_attempts THEN m.attempt ELSE m.attempt + 1 END,
		receipt = CASE WHEN m.attempt >= m.max_attempts THEN NULL ELSE gen_random_uuid() END,
		visible_at = CASE WHEN m.attempt >= m.max_attempts THEN m.visible_at
			ELSE date_trunc('milliseconds', statement_timestamp()) + p_visibility_ms * interval '1 millisecond' END,
		reason = CASE WHEN m.attempt >= m.max_attempts THEN coalesce(m.reason, p_exhausted_reason) ELSE m.reason END,
		dead_lettered_at = CASE WHEN m.attempt >= m.max_attempts THEN date_trunc('milliseconds', statement_timestamp()) END
	FROM picked WHERE m.id = picked.id
	RETURNING m.id, m.queue, m.body, m.headers, m.attempt, m.max_attempts, m.receipt, m.dead, m.enqueued_at, m.visible_at, m.priority, m.seq;
$claim$;
