-- migrate:up
-- Threads (conversations) as a person reads them: one row per conversation with its
-- turns, failed turns, last activity, p50/p99 turn duration and tokens.
SET LOCAL search_path = execution_monitor, public;

-- The conversations with a turn started in the window, for psql; turns and
-- percentiles count the window's turns only.
CREATE FUNCTION thread_summaries(p_hours integer DEFAULT 24, p_user_id text DEFAULT NULL)
RETURNS TABLE (
    conversation_id text,
    user_id text,
    turns bigint,
    failed_turns bigint,
    partial_turns bigint,
    running_turns bigint,
    first_started_at timestamptz,
    last_activity timestamptz,
    p50_duration_ms integer,
    p99_duration_ms integer,
    input_tokens bigint,
    output_tokens bigint,
    total_tokens bigint,
    last_status text,
    last_request text
)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, execution_monitor, public
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
    PERFORM check_hours(p_hours);
    RETURN QUERY
    SELECT l.conversation_id::text,
           (array_agg(l.user_id::text ORDER BY l.started_at DESC, l.id DESC))[1],
           count(*),
           count(*) FILTER (WHERE l.status = 'failed'),
           count(*) FILTER (WHERE l.status = 'partial'),
           count(*) FILTER (WHERE l.status = 'running'),
           min(l.started_at),
           max(coalesce(l.completed_at, l.started_at)),
           round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l.total_duration_ms))::integer,
           round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l.total_duration_ms))::integer,
           coalesce(sum(l.input_tokens), 0)::bigint,
           coalesce(sum(l.output_tokens), 0)::bigint,
           coalesce(sum(l.total_tokens), 0)::bigint,
           (array_agg(l.status::text ORDER BY l.started_at DESC, l.id DESC))[1],
           left((array_agg(l.request_message ORDER BY l.started_at DESC, l.id DESC))[1], 200)
    FROM execution_logs l
    WHERE l.started_at >= now() - make_interval(hours => p_hours)
      AND l.conversation_id IS NOT NULL
      AND (p_user_id IS NULL OR l.user_id = p_user_id)
    GROUP BY l.conversation_id;
END;
$$;

-- GET /threads: a page of threads, latest activity first, with the total.
CREATE FUNCTION list_threads(
    p_hours integer DEFAULT 24,
    p_user_id text DEFAULT NULL,
    p_limit integer DEFAULT 50,
    p_offset integer DEFAULT 0
) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, execution_monitor, public
AS $$
DECLARE
    result jsonb;
BEGIN
    PERFORM check_page(p_limit, p_offset);
    WITH t AS (SELECT * FROM thread_summaries(p_hours, p_user_id))
    SELECT jsonb_build_object(
        'time_range_hours', p_hours,
        'total', (SELECT count(*) FROM t),
        'offset', p_offset,
        'limit', p_limit,
        'threads', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'conversation_id', p.conversation_id,
                       'user_id', p.user_id,
                       'turns', p.turns,
                       'failed_turns', p.failed_turns,
                       'partial_turns', p.partial_turns,
                       'running_turns', p.running_turns,
                       'first_started_at', iso_utc(p.first_started_at),
                       'last_activity', iso_utc(p.last_activity),
                       'p50_duration_ms', p.p50_duration_ms,
                       'p99_duration_ms', p.p99_duration_ms,
                       'input_tokens', p.input_tokens,
                       'output_tokens', p.output_tokens,
                       'total_tokens', p.total_tokens,
                       'last_status', p.last_status,
                       'last_request', p.last_request)
                       ORDER BY p.last_activity DESC, p.conversation_id)
            FROM (SELECT * FROM t
                  ORDER BY t.last_activity DESC, t.conversation_id
                  LIMIT p_limit OFFSET p_offset) p), '[]'::jsonb))
    INTO result;
    RETURN result;
END;
$$;

-- dbmate records the migration in this transaction, finding its table through
-- current_schema(): give it back the connection's search_path first.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
DROP FUNCTION list_threads(integer, text, integer, integer);
DROP FUNCTION thread_summaries(integer, text);

SET LOCAL search_path TO DEFAULT;
