-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- Stats and per-node performance that follow the listing's filters: the window
-- (`hours`, or `since` / `until`, as list_executions_v2 takes them), status, user,
-- user prefix, conversation and search. execution_stats and node_performance_json
-- stay as they are (the seed's /stats and /nodes without these parameters).
--
-- How they read: a window with no end and no other filter is the rollups' case
-- (execution_stats_since / node_performance_since, any start, the same figures as
-- /stats and /nodes); anything else reads the window's matching rows, each filter
-- through its index as the listing's (status, user, user prefix, conversation, the
-- search's trigrams, the window's started_at), with exact percentiles.

-- The window of a read, by the listing's rules: `hours` (1..hours_max) alone, or
-- `since` (inclusive) and/or `until` (exclusive); none of them: the last hours_default.
CREATE FUNCTION filter_window(
    p_hours integer,
    p_since timestamptz,
    p_until timestamptz,
    OUT since timestamptz,
    OUT until timestamptz
)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
BEGIN
    IF p_hours IS NOT NULL THEN
        PERFORM check_hours(p_hours);
        IF p_since IS NOT NULL OR p_until IS NOT NULL THEN
            RAISE EXCEPTION 'hours cannot be combined with since or until'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        since := now() - make_interval(hours => p_hours);
    ELSIF p_since IS NULL AND p_until IS NULL THEN
        since := now() - make_interval(hours => monitoring_limit('hours_default'));
    ELSIF p_since >= p_until THEN
        RAISE EXCEPTION 'since (%) must be before until (%)', iso_utc(p_since), iso_utc(p_until)
            USING ERRCODE = 'invalid_parameter_value';
    ELSE
        since := p_since;
        until := p_until;
    END IF;
END;
$$;

-- What a filtered read says about itself: its window in whole hours (rounded up; from
-- the first run when it has no start) and the window's bounds.
CREATE FUNCTION filter_window_json(p_since timestamptz, p_until timestamptz) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, execution_monitor, pg_temp
RETURN jsonb_build_object(
    'time_range_hours', greatest(1, ceil(extract(epoch FROM
        coalesce(p_until, now())
        - coalesce(p_since, (SELECT min(l.started_at) FROM execution_logs AS l), now())) / 3600))::integer,
    'since', iso_utc(p_since),
    'until', iso_utc(p_until));

CREATE FUNCTION check_search(p_q text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
BEGIN
    IF length(p_q) > monitoring_limit('search_max_chars') THEN
        RAISE EXCEPTION 'q must be at most % characters, got %',
            monitoring_limit('search_max_chars'), length(p_q)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;

-- GET /stats with filters: execution_stats' JSON for the runs the listing's filters
-- match, plus `since` and `until`.
CREATE FUNCTION execution_stats_filtered(
    p_hours integer DEFAULT NULL,
    p_since timestamptz DEFAULT NULL,
    p_until timestamptz DEFAULT NULL,
    p_status text DEFAULT NULL,
    p_user_id text DEFAULT NULL,
    p_user_id_prefix text DEFAULT NULL,
    p_conversation_id text DEFAULT NULL,
    p_q text DEFAULT NULL
) RETURNS jsonb
LANGUAGE plpgsql STABLE
-- Planned with each call's values: unused filters fold away, each used one picks its index.
SET plan_cache_mode = force_custom_plan
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
DECLARE
    w record := filter_window(p_hours, p_since, p_until);
    pattern text := CASE WHEN p_q <> '' THEN like_pattern(p_q) END;
    user_pattern text := CASE WHEN p_user_id_prefix <> '' THEN like_prefix_pattern(p_user_id_prefix) END;
    result jsonb;
BEGIN
    PERFORM check_status(p_status);
    PERFORM check_search(p_q);
    IF w.until IS NULL AND p_status IS NULL AND p_user_id IS NULL AND user_pattern IS NULL
       AND p_conversation_id IS NULL AND pattern IS NULL THEN
        RETURN filter_window_json(w.since, w.until) || execution_stats_since(w.since);
    END IF;

    WITH m AS MATERIALIZED (
        SELECT l.status, l.total_duration_ms, l.input_tokens, l.output_tokens, l.total_tokens,
               l.failed_nodes
        FROM execution_logs AS l
        WHERE (w.since IS NULL OR l.started_at >= w.since)
          AND (w.until IS NULL OR l.started_at < w.until)
          AND (p_status IS NULL OR l.status = p_status)
          AND (p_user_id IS NULL OR l.user_id = p_user_id)
          AND (user_pattern IS NULL OR l.user_id LIKE user_pattern)
          AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
          AND (pattern IS NULL
               OR execution_search_text_v2(l.id, l.conversation_id, l.user_id,
                                           l.request_message, l.response_message,
                                           l.error_summary, l.failed_nodes)
                  ILIKE pattern)
    ),
    breakdown AS (
        SELECT f.node, count(*) AS failed_runs
        FROM m, LATERAL (SELECT DISTINCT n.value AS node
                         FROM jsonb_array_elements_text(m.failed_nodes) AS n) AS f
        WHERE m.status IN ('failed', 'partial')
        GROUP BY f.node
    )
    SELECT jsonb_build_object(
               'total_executions', count(*),
               'by_status', jsonb_build_object(
                   'completed', count(*) FILTER (WHERE m.status = 'completed'),
                   'failed', count(*) FILTER (WHERE m.status = 'failed'),
                   'partial', count(*) FILTER (WHERE m.status = 'partial'),
                   'running', count(*) FILTER (WHERE m.status = 'running'),
                   'interrupted', count(*) FILTER (WHERE m.status = 'interrupted')),
               'success_rate', CASE WHEN count(*) = 0 THEN 0.0
                   ELSE round(100.0 * count(*) FILTER (WHERE m.status = 'completed') / count(*), 2)
                   END,
               'avg_duration_ms', round(avg(m.total_duration_ms))::integer,
               'p95_duration_ms', round(percentile_cont(0.95) WITHIN GROUP
                   (ORDER BY m.total_duration_ms))::integer,
               'input_tokens', coalesce(sum(m.input_tokens), 0),
               'output_tokens', coalesce(sum(m.output_tokens), 0),
               'total_tokens', coalesce(sum(m.total_tokens), 0),
               'failed_nodes_breakdown',
               (SELECT coalesce(jsonb_object_agg(b.node, b.failed_runs), '{}'::jsonb)
                FROM breakdown AS b))
    INTO result
    FROM m;
    RETURN filter_window_json(w.since, w.until) || result;
END;
$$;

-- GET /nodes with filters: node_performance_json's JSON (plus `since`, `until`) for
-- the node runs of the runs the listing's filters match.
CREATE FUNCTION node_performance_filtered(
    p_hours integer DEFAULT NULL,
    p_since timestamptz DEFAULT NULL,
    p_until timestamptz DEFAULT NULL,
    p_status text DEFAULT NULL,
    p_user_id text DEFAULT NULL,
    p_user_id_prefix text DEFAULT NULL,
    p_conversation_id text DEFAULT NULL,
    p_q text DEFAULT NULL
) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
DECLARE
    w record := filter_window(p_hours, p_since, p_until);
    pattern text := CASE WHEN p_q <> '' THEN like_pattern(p_q) END;
    user_pattern text := CASE WHEN p_user_id_prefix <> '' THEN like_prefix_pattern(p_user_id_prefix) END;
    nodes jsonb;
BEGIN
    PERFORM check_status(p_status);
    PERFORM check_search(p_q);
    IF w.until IS NULL AND p_status IS NULL AND p_user_id IS NULL AND user_pattern IS NULL
       AND p_conversation_id IS NULL AND pattern IS NULL THEN
        SELECT coalesce(jsonb_agg(to_jsonb(n)), '[]'::jsonb) INTO nodes
        FROM node_performance_since(w.since) AS n;
    ELSE
        WITH e AS MATERIALIZED (
            SELECT t.node, t.status, t.duration_ms
            FROM execution_logs AS l, trace_node_entries(l.execution_trace) AS t
            WHERE (w.since IS NULL OR l.started_at >= w.since)
              AND (w.until IS NULL OR l.started_at < w.until)
              AND (p_status IS NULL OR l.status = p_status)
              AND (p_user_id IS NULL OR l.user_id = p_user_id)
              AND (user_pattern IS NULL OR l.user_id LIKE user_pattern)
              AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
              AND (pattern IS NULL
                   OR execution_search_text_v2(l.id, l.conversation_id, l.user_id,
                                               l.request_message, l.response_message,
                                               l.error_summary, l.failed_nodes)
                      ILIKE pattern)
        ),
        per_node AS (
            SELECT e.node,
                   count(*) AS runs,
                   count(*) FILTER (WHERE e.status = 'failed') AS failures,
                   round(100.0 * count(*) FILTER (WHERE e.status = 'failed') / count(*), 2)
                       AS failure_rate,
                   round(avg(e.duration_ms), 3) AS avg_ms,
                   round((percentile_cont(0.50) WITHIN GROUP (ORDER BY e.duration_ms))::numeric, 3)
                       AS p50_ms,
                   round((percentile_cont(0.95) WITHIN GROUP (ORDER BY e.duration_ms))::numeric, 3)
                       AS p95_ms,
                   round((percentile_cont(0.99) WITHIN GROUP (ORDER BY e.duration_ms))::numeric, 3)
                       AS p99_ms
            FROM e
            GROUP BY e.node
        )
        SELECT coalesce(jsonb_agg(to_jsonb(p) ORDER BY p.runs DESC, p.node), '[]'::jsonb)
        INTO nodes
        FROM per_node AS p;
    END IF;
    RETURN filter_window_json(w.since, w.until) || jsonb_build_object('nodes', nodes);
END;
$$;

-- The library's rule (20261202000301): not PUBLIC's; the two the API calls are the
-- reader's, run as their owner with the fixed search_path (set above).
REVOKE EXECUTE ON FUNCTION
    filter_window(integer, timestamptz, timestamptz),
    filter_window_json(timestamptz, timestamptz),
    check_search(text),
    execution_stats_filtered(integer, timestamptz, timestamptz, text, text, text, text, text),
    node_performance_filtered(integer, timestamptz, timestamptz, text, text, text, text, text)
FROM PUBLIC;
ALTER FUNCTION execution_stats_filtered(integer, timestamptz, timestamptz, text, text, text, text, text)
    SECURITY DEFINER;
ALTER FUNCTION node_performance_filtered(integer, timestamptz, timestamptz, text, text, text, text, text)
    SECURITY DEFINER;
GRANT EXECUTE ON FUNCTION
    execution_stats_filtered(integer, timestamptz, timestamptz, text, text, text, text, text),
    node_performance_filtered(integer, timestamptz, timestamptz, text, text, text, text, text)
TO execution_monitor_reader;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
DROP FUNCTION node_performance_filtered(integer, timestamptz, timestamptz, text, text, text, text, text);
DROP FUNCTION execution_stats_filtered(integer, timestamptz, timestamptz, text, text, text, text, text);
DROP FUNCTION check_search(text);
DROP FUNCTION filter_window_json(timestamptz, timestamptz);
DROP FUNCTION filter_window(integer, timestamptz, timestamptz);

SET LOCAL search_path TO DEFAULT;
