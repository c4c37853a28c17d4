-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- The errors and threads views for the windows the listing takes (`hours`, or
-- `since` / `until`: filter_window), the threads also for a user-id prefix.
-- error_groups*(hours), thread_summaries and list_threads stay as they are (the
-- previous release's callers, and psql).

-- error_occurrences, for the runs started in [p_since, p_until) (either end open).
CREATE FUNCTION error_occurrences_window(p_since timestamptz, p_until timestamptz)
RETURNS TABLE (
    execution_id text,
    user_id text,
    node text,
    error_type text,
    message text,
    failed_at timestamptz
)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, execution_monitor, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
    RETURN QUERY
    WITH failing AS (
        SELECT l.id, l.user_id, l.started_at, l.completed_at, l.error_summary, l.execution_trace
        FROM execution_logs l
        WHERE (p_since IS NULL OR l.started_at >= p_since)
          AND (p_until IS NULL OR l.started_at < p_until)
          AND l.status IN ('failed', 'partial')
    ),
    entries AS (
        SELECT f.id, f.user_id, e.value AS entry, f.started_at, f.completed_at
        FROM failing f
        CROSS JOIN LATERAL jsonb_array_elements(
            CASE WHEN jsonb_typeof(f.execution_trace) = 'array' THEN f.execution_trace
                 ELSE '[]'::jsonb END) AS e(value)
        WHERE e.value ->> 'status' = 'failed'
    )
    SELECT en.id::text, en.user_id::text, en.entry ->> 'node', en.entry ->> 'error_type',
           coalesce(en.entry ->> 'error', ''),
           coalesce(CASE WHEN en.entry ->> 'timestamp' ~ '^\d{4}-\d\d-\d\dT'
                         THEN (en.entry ->> 'timestamp')::timestamptz END,
                    en.completed_at, en.started_at)
    FROM entries en
    UNION ALL
    SELECT f.id::text, f.user_id::text, NULL::text, NULL::text, coalesce(f.error_summary, '')::text,
           coalesce(f.completed_at, f.started_at)
    FROM failing f
    WHERE NOT EXISTS (
        SELECT 1
        FROM jsonb_array_elements(
            CASE WHEN jsonb_typeof(f.execution_trace) = 'array' THEN f.execution_trace
                 ELSE '[]'::jsonb END) AS e(value)
        WHERE e.value ->> 'status' = 'failed');
END;
$$;

-- GET /errors for any window: error_groups_json's JSON plus `since`, `until` and
-- `bucket_hours`. `hourly` has one count per bucket, oldest first: one bucket per hour
-- up to hours_max buckets, wider buckets (bucket_hours) for a longer window. The
-- sparkline starts at the window's first run (a window from 1970 is the data's span).
CREATE FUNCTION error_groups_window_json(
    p_hours integer DEFAULT NULL,
    p_since timestamptz DEFAULT NULL,
    p_until timestamptz DEFAULT NULL
) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
DECLARE
    w record := filter_window(p_hours, p_since, p_until);
    window_end timestamptz := coalesce(w.until, now());
    window_start timestamptz;
    buckets integer;
    width double precision;  -- seconds
    groups jsonb;
BEGIN
    SELECT greatest(w.since, min(l.started_at)) INTO window_start
    FROM execution_logs l
    WHERE (w.since IS NULL OR l.started_at >= w.since)
      AND (w.until IS NULL OR l.started_at < w.until);
    window_start := coalesce(window_start, w.since, window_end - interval '1 hour');
    buckets := least(monitoring_limit('hours_max'),
                     greatest(1, ceil(extract(epoch FROM window_end - window_start) / 3600)))::integer;
    width := greatest(3600, extract(epoch FROM window_end - window_start) / buckets);

    WITH o AS (
        SELECT occ.*, error_fingerprint(occ.node, occ.error_type, occ.message) AS fp,
               -- the bucket, 0 = the oldest of the window
               greatest(0, least(buckets - 1, buckets - 1 - floor(
                   extract(epoch FROM (window_end - occ.failed_at)) / width)::integer)) AS bucket
        FROM error_occurrences_window(w.since, w.until) AS occ
    ),
    g AS (
        SELECT o.fp,
               min(o.node) AS node,
               min(o.error_type) AS error_type,
               min(error_message_pattern(o.message)) AS pattern,
               (array_agg(o.message ORDER BY o.failed_at DESC))[1] AS last_message,
               count(*) AS failures,
               count(DISTINCT o.execution_id) AS runs,
               count(DISTINCT o.user_id) AS users,
               (array_agg(DISTINCT o.user_id))[1:10] AS affected_users,
               min(o.failed_at) AS first_seen,
               max(o.failed_at) AS last_seen
        FROM o
        GROUP BY o.fp
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'fingerprint', g.fp,
               'node', g.node,
               'error_type', g.error_type,
               'pattern', g.pattern,
               'last_message', g.last_message,
               'failures', g.failures,
               'runs', g.runs,
               'users', g.users,
               'affected_users', to_jsonb(g.affected_users),
               'first_seen', iso_utc(g.first_seen),
               'last_seen', iso_utc(g.last_seen),
               'hourly', (SELECT to_jsonb(array_agg(coalesce(c.n, 0)::integer ORDER BY h.i))
                          FROM generate_series(0, buckets - 1) AS h(i)
                          LEFT JOIN (SELECT o.bucket, count(*) AS n
                                     FROM o WHERE o.fp = g.fp GROUP BY o.bucket) c
                                 ON c.bucket = h.i),
               'recent_execution_ids', (SELECT to_jsonb(array_agg(r.execution_id ORDER BY r.last DESC))
                                        FROM (SELECT o.execution_id, max(o.failed_at) AS last
                                              FROM o WHERE o.fp = g.fp
                                              GROUP BY o.execution_id
                                              ORDER BY last DESC
                                              LIMIT 20) r))
               ORDER BY g.failures DESC, g.last_seen DESC, g.fp), '[]'::jsonb)
    INTO groups
    FROM g;

    RETURN filter_window_json(w.since, w.until)
        || jsonb_build_object('bucket_hours', round((width / 3600)::numeric, 3), 'groups', groups);
END;
$$;

-- thread_summaries for the runs started in [p_since, p_until), one user or a prefix.
CREATE FUNCTION thread_summaries_window(
    p_since timestamptz,
    p_until timestamptz,
    p_user_id text DEFAULT NULL,
    p_user_id_prefix text DEFAULT NULL
)
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
SET search_path = pg_catalog, execution_monitor, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    user_pattern text := CASE WHEN p_user_id_prefix <> '' THEN like_prefix_pattern(p_user_id_prefix) END;
BEGIN
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
    WHERE (p_since IS NULL OR l.started_at >= p_since)
      AND (p_until IS NULL OR l.started_at < p_until)
      AND l.conversation_id IS NOT NULL
      AND (p_user_id IS NULL OR l.user_id = p_user_id)
      AND (user_pattern IS NULL OR l.user_id LIKE user_pattern)
    GROUP BY l.conversation_id;
END;
$$;

-- GET /threads for any window: list_threads' JSON plus `since` and `until`.
CREATE FUNCTION list_threads_v2(
    p_hours integer DEFAULT NULL,
    p_since timestamptz DEFAULT NULL,
    p_until timestamptz DEFAULT NULL,
    p_user_id text DEFAULT NULL,
    p_user_id_prefix text DEFAULT NULL,
    p_limit integer DEFAULT 50,
    p_offset integer DEFAULT 0
) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
DECLARE
    w record := filter_window(p_hours, p_since, p_until);
    result jsonb;
BEGIN
    PERFORM check_page(p_limit, p_offset);
    WITH t AS MATERIALIZED (
        SELECT * FROM thread_summaries_window(w.since, w.until, p_user_id, p_user_id_prefix)
    )
    SELECT jsonb_build_object(
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
    RETURN filter_window_json(w.since, w.until) || result;
END;
$$;

REVOKE EXECUTE ON FUNCTION
    error_occurrences_window(timestamptz, timestamptz),
    error_groups_window_json(integer, timestamptz, timestamptz),
    thread_summaries_window(timestamptz, timestamptz, text, text),
    list_threads_v2(integer, timestamptz, timestamptz, text, text, integer, integer)
FROM PUBLIC;
ALTER FUNCTION error_groups_window_json(integer, timestamptz, timestamptz) SECURITY DEFINER;
ALTER FUNCTION list_threads_v2(integer, timestamptz, timestamptz, text, text, integer, integer)
    SECURITY DEFINER;
GRANT EXECUTE ON FUNCTION
    error_groups_window_json(integer, timestamptz, timestamptz),
    list_threads_v2(integer, timestamptz, timestamptz, text, text, integer, integer)
TO execution_monitor_reader;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
DROP FUNCTION list_threads_v2(integer, timestamptz, timestamptz, text, text, integer, integer);
DROP FUNCTION thread_summaries_window(timestamptz, timestamptz, text, text);
DROP FUNCTION error_groups_window_json(integer, timestamptz, timestamptz);
DROP FUNCTION error_occurrences_window(timestamptz, timestamptz);

SET LOCAL search_path TO DEFAULT;
