-- migrate:up
-- What LangSmith, Langfuse and Phoenix show per run and the seed lacks: the run's
-- input as given, and the tokens of its LLM calls (summed from the trace entries by
-- the writer) in columns SQL can aggregate.
ALTER TABLE execution_logs
    ADD COLUMN input jsonb,
    ADD COLUMN input_tokens integer,
    ADD COLUMN output_tokens integer,
    ADD COLUMN total_tokens integer,
    ADD COLUMN llm_calls integer;

-- The stats window reads tokens too: keep it an index-only scan.
DROP INDEX idx_execution_started_covering;
CREATE INDEX idx_execution_started_covering ON execution_logs (started_at)
    INCLUDE (status, total_duration_ms, input_tokens, output_tokens, total_tokens);

-- log_batch with five more arrays (inputs, tokens). log_batch stays, for writers of
-- the previous release during a rolling deploy.
CREATE FUNCTION log_batch_v2(
    p_ids text[],
    p_conversation_ids text[],
    p_user_ids text[],
    p_request_messages text[],
    p_started_at double precision[],
    p_statuses text[],
    p_completed_at double precision[],
    p_response_messages text[],
    p_execution_traces jsonb[],
    p_failed_nodes jsonb[],
    p_error_summaries text[],
    p_inputs jsonb[],
    p_input_tokens integer[],
    p_output_tokens integer[],
    p_total_tokens integer[],
    p_llm_calls integer[]
) RETURNS integer
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    written integer;
BEGIN
    -- Writers take turns so that change_seq grows in commit order (see log_batch).
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
                    p_failed_nodes, p_error_summaries, p_inputs, p_input_tokens,
                    p_output_tokens, p_total_tokens, p_llm_calls)
             WITH ORDINALITY
             AS e(id, conversation_id, user_id, request_message, started_at, status,
                  completed_at, response_message, execution_trace, failed_nodes,
                  error_summary, input, input_tokens, output_tokens, total_tokens, llm_calls,
                  ord)
    ),
    one_per_run AS (
        -- A finish carries everything its start does, so it wins.
        SELECT DISTINCT ON (id) *
        FROM events
        ORDER BY id, (status <> 'running') DESC, ord DESC
    )
    INSERT INTO execution_logs AS l (
        id, conversation_id, user_id, request_message, status, started_at, completed_at,
        total_duration_ms, response_message, execution_trace, failed_nodes, error_summary,
        input, input_tokens, output_tokens, total_tokens, llm_calls)
    SELECT id, conversation_id, user_id, request_message, status,
           to_timestamp(started_at), to_timestamp(completed_at),
           CASE WHEN completed_at IS NOT NULL
                THEN greatest(0, round((completed_at - started_at) * 1000))::integer END,
           response_message, execution_trace, coalesce(failed_nodes, '[]'::jsonb),
           error_summary, input, input_tokens, output_tokens, total_tokens, llm_calls
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
            input = coalesce(excluded.input, l.input),
            input_tokens = excluded.input_tokens,
            output_tokens = excluded.output_tokens,
            total_tokens = excluded.total_tokens,
            llm_calls = excluded.llm_calls,
            change_seq = nextval('execution_logs_change_seq')
        WHERE l.status = 'running' AND excluded.status <> 'running';

    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END;
$$;

-- Listing rows and the one-execution JSON gain the token fields (added, the seed's
-- keep their names and shapes); the one-execution JSON also gains the input.
CREATE OR REPLACE FUNCTION execution_summary_json(l execution_logs) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
RETURN jsonb_build_object(
    'id', l.id,
    'conversation_id', l.conversation_id,
    'user_id', l.user_id,
    'request_message', l.request_message,
    'response_message', l.response_message,
    'status', l.status,
    'started_at', iso_utc(l.started_at),
    'completed_at', iso_utc(l.completed_at),
    'total_duration_ms', l.total_duration_ms,
    'failed_nodes', coalesce(l.failed_nodes, '[]'::jsonb),
    'error_summary', l.error_summary,
    'input_tokens', l.input_tokens,
    'output_tokens', l.output_tokens,
    'total_tokens', l.total_tokens,
    'llm_calls', l.llm_calls);

CREATE OR REPLACE FUNCTION get_execution(p_id text) RETURNS jsonb
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT execution_summary_json(l)
           || jsonb_build_object('execution_trace', coalesce(l.execution_trace, '[]'::jsonb),
                                 'input', l.input)
    FROM execution_logs l
    WHERE l.id = p_id;
END;

-- GET /stats gains interrupted runs and token totals.
CREATE OR REPLACE FUNCTION execution_stats(p_hours integer DEFAULT 24) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    since timestamptz;
    result jsonb;
BEGIN
    PERFORM check_hours(p_hours);
    since := now() - make_interval(hours => p_hours);

    SELECT jsonb_build_object(
               'time_range_hours', p_hours,
               'total_executions', count(*),
               'by_status', jsonb_build_object(
                   'completed', count(*) FILTER (WHERE status = 'completed'),
                   'failed', count(*) FILTER (WHERE status = 'failed'),
                   'partial', count(*) FILTER (WHERE status = 'partial'),
                   'running', count(*) FILTER (WHERE status = 'running'),
                   'interrupted', count(*) FILTER (WHERE status = 'interrupted')),
               'success_rate', CASE WHEN count(*) = 0 THEN 0.0
                   ELSE round(100.0 * count(*) FILTER (WHERE status = 'completed') / count(*), 2)
                   END,
               'avg_duration_ms', round(avg(total_duration_ms))::integer,
               'p95_duration_ms', round(percentile_cont(0.95) WITHIN GROUP
                   (ORDER BY total_duration_ms))::integer,
               'input_tokens', coalesce(sum(input_tokens), 0),
               'output_tokens', coalesce(sum(output_tokens), 0),
               'total_tokens', coalesce(sum(total_tokens), 0))
    INTO result
    FROM execution_logs
    WHERE started_at >= since;

    RETURN result || jsonb_build_object(
        'failed_nodes_breakdown',
        (SELECT coalesce(jsonb_object_agg(b.node, b.failed_runs), '{}'::jsonb)
         FROM failed_nodes_breakdown(p_hours) AS b));
END;
$$;

-- Tokens per user, conversation and day (last 30 days), for psql and cost reports.
CREATE VIEW token_usage_daily AS
SELECT date_trunc('day', started_at) AS day,
       user_id,
       conversation_id,
       count(*) AS runs,
       coalesce(sum(llm_calls), 0) AS llm_calls,
       coalesce(sum(input_tokens), 0) AS input_tokens,
       coalesce(sum(output_tokens), 0) AS output_tokens,
       coalesce(sum(total_tokens), 0) AS total_tokens
FROM execution_logs
WHERE started_at >= now() - interval '30 days'
GROUP BY 1, 2, 3
ORDER BY 1 DESC, total_tokens DESC;

-- migrate:down
DROP VIEW token_usage_daily;

CREATE OR REPLACE FUNCTION execution_stats(p_hours integer DEFAULT 24) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    since timestamptz;
    result jsonb;
BEGIN
    PERFORM check_hours(p_hours);
    since := now() - make_interval(hours => p_hours);

    SELECT jsonb_build_object(
               'time_range_hours', p_hours,
               'total_executions', count(*),
               'by_status', jsonb_build_object(
                   'completed', count(*) FILTER (WHERE status = 'completed'),
                   'failed', count(*) FILTER (WHERE status = 'failed'),
                   'partial', count(*) FILTER (WHERE status = 'partial'),
                   'running', count(*) FILTER (WHERE status = 'running')),
               'success_rate', CASE WHEN count(*) = 0 THEN 0.0
                   ELSE round(100.0 * count(*) FILTER (WHERE status = 'completed') / count(*), 2)
                   END,
               'avg_duration_ms', round(avg(total_duration_ms))::integer,
               'p95_duration_ms', round(percentile_cont(0.95) WITHIN GROUP
                   (ORDER BY total_duration_ms))::integer)
    INTO result
    FROM execution_logs
    WHERE started_at >= since;

    RETURN result || jsonb_build_object(
        'failed_nodes_breakdown',
        (SELECT coalesce(jsonb_object_agg(b.node, b.failed_runs), '{}'::jsonb)
         FROM failed_nodes_breakdown(p_hours) AS b));
END;
$$;

CREATE OR REPLACE FUNCTION get_execution(p_id text) RETURNS jsonb
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT execution_summary_json(l)
           || jsonb_build_object('execution_trace', coalesce(l.execution_trace, '[]'::jsonb))
    FROM execution_logs l
    WHERE l.id = p_id;
END;

CREATE OR REPLACE FUNCTION execution_summary_json(l execution_logs) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
RETURN jsonb_build_object(
    'id', l.id,
    'conversation_id', l.conversation_id,
    'user_id', l.user_id,
    'request_message', l.request_message,
    'response_message', l.response_message,
    'status', l.status,
    'started_at', iso_utc(l.started_at),
    'completed_at', iso_utc(l.completed_at),
    'total_duration_ms', l.total_duration_ms,
    'failed_nodes', coalesce(l.failed_nodes, '[]'::jsonb),
    'error_summary', l.error_summary);

DROP FUNCTION log_batch_v2(text[], text[], text[], text[], double precision[], text[],
                           double precision[], text[], jsonb[], jsonb[], text[], jsonb[],
                           integer[], integer[], integer[], integer[]);

DROP INDEX idx_execution_started_covering;
CREATE INDEX idx_execution_started_covering
    ON execution_logs (started_at) INCLUDE (status, total_duration_ms);

ALTER TABLE execution_logs
    DROP COLUMN llm_calls,
    DROP COLUMN total_tokens,
    DROP COLUMN output_tokens,
    DROP COLUMN input_tokens,
    DROP COLUMN input;
