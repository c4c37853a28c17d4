-- migrate:up
-- Write side. One entry point takes a whole batch of start and finish events
-- as parallel arrays (one round trip, one statement). An event whose status is
-- 'running' is a start; any other status is a finish, which repeats the
-- start's fields so it can stand alone.
--
-- Idempotent and order-independent:
--  * start and finish of a run in one batch: one INSERT of the finished row;
--  * a finish before (or without) its start: the finish inserts the row;
--  * a late or repeated start never touches an existing row;
--  * a repeated finish never touches a finished row.
-- Rows not written are not returned, so they are not announced either.
CREATE FUNCTION log_batch(
    p_ids text[],
    p_conversation_ids text[],
    p_user_ids text[],
    p_request_messages text[],
    p_started_at double precision[],   -- epoch seconds, as the app measured them
    p_statuses text[],
    p_completed_at double precision[],
    p_response_messages text[],
    p_execution_traces jsonb[],
    p_failed_nodes jsonb[],
    p_error_summaries text[]
) RETURNS integer
LANGUAGE plpgsql
-- A generic plan cached while the table was small can turn into a sequential
-- scan later; plan each call.
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    written integer;
BEGIN
    -- change_seq must grow in commit order: a stream client resuming after id N,
    -- or the listener catching up, reads "change_seq > N", and would miss a
    -- lower number committed later by a concurrent writer. Writers of
    -- execution_logs therefore take turns, from here to their commit.
    PERFORM pg_advisory_xact_lock(hashtext('execution_logs_change_seq'));

    INSERT INTO conversations (id, user_id)
    SELECT DISTINCT ON (c.id) c.id, c.user_id
    FROM unnest(p_conversation_ids, p_user_ids) AS c(id, user_id)
    WHERE c.id IS NOT NULL
    ORDER BY c.id
    ON CONFLICT (id) DO NOTHING;

    WITH events AS (
        SELECT *
        FROM unnest(p_ids, p_conversation_ids, p_user_ids, p_request_messages, p_started_at,
                    p_statuses, p_completed_at, p_response_messages, p_execution_traces,
                    p_failed_nodes, p_error_summaries)
             WITH ORDINALITY
             AS e(id, conversation_id, user_id, request_message, started_at, status,
                  completed_at, response_message, execution_trace, failed_nodes,
                  error_summary, ord)
    ),
    one_per_run AS (
        -- A finish carries everything its start does, so it wins.
        SELECT DISTINCT ON (id) *
        FROM events
        ORDER BY id, (status <> 'running') DESC, ord DESC
    )
    INSERT INTO execution_logs AS l (
        id, conversation_id, user_id, request_message, status, started_at, completed_at,
        total_duration_ms, response_message, execution_trace, failed_nodes, error_summary)
    SELECT id, conversation_id, user_id, request_message, status,
           to_timestamp(started_at), to_timestamp(completed_at),
           -- greatest() skips NULLs, so a start (no completed_at) needs the CASE
           CASE WHEN completed_at IS NOT NULL
                THEN greatest(0, round((completed_at - started_at) * 1000))::integer END,
           response_message, execution_trace, coalesce(failed_nodes, '[]'::jsonb),
           error_summary
    FROM one_per_run
    ORDER BY id  -- the same lock order in every batch: concurrent writers cannot deadlock
    ON CONFLICT (id) DO UPDATE
        SET status = excluded.status,
            completed_at = excluded.completed_at,
            total_duration_ms = excluded.total_duration_ms,
            response_message = excluded.response_message,
            execution_trace = excluded.execution_trace,
            failed_nodes = excluded.failed_nodes,
            error_summary = excluded.error_summary,
            change_seq = nextval('execution_logs_change_seq')
        WHERE l.status = 'running' AND excluded.status <> 'running';

    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END;
$$;

-- Single events, for psql users and other languages.
CREATE FUNCTION log_start(
    p_id text,
    p_user_id text,
    p_request_message text,
    p_conversation_id text DEFAULT NULL,
    p_started_at timestamptz DEFAULT now()
) RETURNS integer
LANGUAGE sql
RETURN log_batch(
    ARRAY[p_id], ARRAY[p_conversation_id], ARRAY[p_user_id], ARRAY[p_request_message],
    ARRAY[extract(epoch FROM p_started_at)::double precision], ARRAY['running'],
    ARRAY[NULL::double precision], ARRAY[NULL::text], ARRAY[NULL::jsonb], ARRAY[NULL::jsonb],
    ARRAY[NULL::text]);

CREATE FUNCTION log_finish(
    p_id text,
    p_status text,
    p_user_id text,
    p_request_message text,
    p_started_at timestamptz,
    p_response_message text DEFAULT NULL,
    p_execution_trace jsonb DEFAULT '[]'::jsonb,
    p_failed_nodes jsonb DEFAULT '[]'::jsonb,
    p_error_summary text DEFAULT NULL,
    p_conversation_id text DEFAULT NULL,
    p_completed_at timestamptz DEFAULT now()
) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    IF p_status IS NULL OR p_status NOT IN ('completed', 'failed', 'partial') THEN
        RAISE EXCEPTION 'log_finish: status must be completed, failed or partial, got %',
            coalesce(p_status, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN log_batch(
        ARRAY[p_id], ARRAY[p_conversation_id], ARRAY[p_user_id], ARRAY[p_request_message],
        ARRAY[extract(epoch FROM p_started_at)::double precision], ARRAY[p_status],
        ARRAY[extract(epoch FROM p_completed_at)::double precision], ARRAY[p_response_message],
        ARRAY[p_execution_trace], ARRAY[p_failed_nodes], ARRAY[p_error_summary]);
END;
$$;

-- migrate:down
DROP FUNCTION log_finish(text, text, text, text, timestamptz, text, jsonb, jsonb, text, text,
                         timestamptz);
DROP FUNCTION log_start(text, text, text, text, timestamptz);
DROP FUNCTION log_batch(text[], text[], text[], text[], double precision[], text[],
                        double precision[], text[], jsonb[], jsonb[], text[]);
