-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- execution_stats_filtered and node_performance_filtered read the rollups for any
-- window when no other filter is given (a custom range, a day ten days ago, all time),
-- through execution_stats_between / node_performance_between (20261205000102), not
-- only for windows with no end. Same signatures and JSON; with another filter they
-- read the window's matching rows, as before. CREATE OR REPLACE keeps the grants;
-- SECURITY DEFINER and the search_path are given again.
CREATE OR REPLACE FUNCTION execution_stats_filtered(
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
SECURITY DEFINER
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
    IF p_status IS NULL AND p_user_id IS NULL AND user_pattern IS NULL
       AND p_conversation_id IS NULL AND pattern IS NULL THEN
        RETURN filter_window_json(w.since, w.until) || execution_stats_between(w.since, w.until);
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

CREATE OR REPLACE FUNCTION node_performance_filtered(
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
SECURITY DEFINER
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
    IF p_status IS NULL AND p_user_id IS NULL AND user_pattern IS NULL
       AND p_conversation_id IS NULL AND pattern IS NULL THEN
        SELECT coalesce(jsonb_agg(to_jsonb(n)), '[]'::jsonb) INTO nodes
        FROM node_performance_between(w.since, w.until) AS n;
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

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
CREATE OR REPLACE FUNCTION execution_stats_filtered(
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
SECURITY DEFINER
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

CREATE OR REPLACE FUNCTION node_performance_filtered(
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
SECURITY DEFINER
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

SET LOCAL search_path TO DEFAULT;
