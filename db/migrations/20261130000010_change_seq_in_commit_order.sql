-- migrate:up
-- Writers take turns (a transaction-level advisory lock, held to commit) so
-- that change_seq values become visible in increasing order; see log_batch.
CREATE OR REPLACE FUNCTION log_batch(
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

CREATE OR REPLACE FUNCTION close_stale_executions(p_older_than interval DEFAULT interval '1 hour')
RETURNS integer
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    closed integer;
BEGIN
    IF p_older_than IS NULL OR p_older_than <= interval '0' THEN
        RAISE EXCEPTION 'close_stale_executions: the age must be positive, got %',
            coalesce(p_older_than::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- Same turn-taking as log_batch: change_seq grows in commit order.
    PERFORM pg_advisory_xact_lock(hashtext('execution_logs_change_seq'));

    UPDATE execution_logs
    SET status = 'failed',
        completed_at = now(),
        total_duration_ms = least(round(extract(epoch FROM now() - started_at) * 1000),
                                  2147483647)::integer,
        error_summary = format('Execution abandoned: still running after %s; its process '
                               'probably stopped before logging the finish', p_older_than),
        change_seq = nextval('execution_logs_change_seq')
    WHERE status = 'running'
      AND started_at < now() - p_older_than;

    GET DIAGNOSTICS closed = ROW_COUNT;
    RETURN closed;
END;
$$;

-- migrate:down
CREATE OR REPLACE FUNCTION log_batch(
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

CREATE OR REPLACE FUNCTION close_stale_executions(p_older_than interval DEFAULT interval '1 hour')
RETURNS integer
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    closed integer;
BEGIN
    IF p_older_than IS NULL OR p_older_than <= interval '0' THEN
        RAISE EXCEPTION 'close_stale_executions: the age must be positive, got %',
            coalesce(p_older_than::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    UPDATE execution_logs
    SET status = 'failed',
        completed_at = now(),
        total_duration_ms = least(round(extract(epoch FROM now() - started_at) * 1000),
                                  2147483647)::integer,
        error_summary = format('Execution abandoned: still running after %s; its process '
                               'probably stopped before logging the finish', p_older_than),
        change_seq = nextval('execution_logs_change_seq')
    WHERE status = 'running'
      AND started_at < now() - p_older_than;

    GET DIAGNOSTICS closed = ROW_COUNT;
    RETURN closed;
END;
$$;
