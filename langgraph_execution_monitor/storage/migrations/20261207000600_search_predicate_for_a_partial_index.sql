-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- The searches (`q`) match through one predicate, execution_search_hit(), instead of
-- `execution_search_text_v2(...) ILIKE pattern` written out in each function. It says the
-- same, split by status: a finished run's text OR a running run's text. Split that way,
-- the planner can use a trigram index that holds finished rows only (migration
-- 20261207000602: a start then does no trigram-index work) for the first arm and the
-- (status, started_at) index for the second, in one BitmapOr; with an index of every
-- row it uses that index as before. The function is plain SQL of its arguments, so the
-- planner inlines it and sees both arms (a function it could not inline would hide the
-- index: test_search_is_index_backed checks the plan). Only the WHERE clauses change;
-- list_executions_v2's probe of the newest rows reads no index and is left as it was.
CREATE FUNCTION execution_search_hit(
    p_status text,
    p_id text,
    p_conversation_id text,
    p_user_id text,
    p_request_message text,
    p_response_message text,
    p_error_summary text,
    p_failed_nodes jsonb,
    p_pattern text
)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (p_status <> 'running'
        AND execution_search_text_v2(p_id, p_conversation_id, p_user_id, p_request_message,
                                     p_response_message, p_error_summary, p_failed_nodes)
            ILIKE p_pattern)
    OR (p_status = 'running'
        AND execution_search_text_v2(p_id, p_conversation_id, p_user_id, p_request_message,
                                     p_response_message, p_error_summary, p_failed_nodes)
            ILIKE p_pattern);
REVOKE EXECUTE ON FUNCTION
    execution_search_hit(text, text, text, text, text, text, text, jsonb, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION execution_monitor.count_listed_executions(p_since timestamp with time zone, p_until timestamp with time zone, p_status text, p_user_id text, p_user_pattern text, p_conversation_id text, p_pattern text, p_cap integer)
 RETURNS bigint
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode TO 'force_custom_plan'
 SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
AS $function$
DECLARE
    counted bigint;
BEGIN
    SELECT count(*) INTO counted
    FROM (
        SELECT
        FROM execution_logs l
        WHERE (p_since IS NULL OR l.started_at >= p_since)
          AND (p_until IS NULL OR l.started_at < p_until)
          AND (p_status IS NULL OR l.status = p_status)
          AND (p_user_id IS NULL OR l.user_id = p_user_id)
          AND (p_user_pattern IS NULL OR l.user_id LIKE p_user_pattern)
          AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
          AND (p_pattern IS NULL
               OR execution_search_hit(l.status, l.id, l.conversation_id, l.user_id,
                                       l.request_message, l.response_message,
                                       l.error_summary, l.failed_nodes, p_pattern))
        LIMIT p_cap + 1
    ) AS matching;
    RETURN counted;
END;
$function$;

CREATE OR REPLACE FUNCTION execution_monitor.execution_stats_filtered(p_hours integer DEFAULT NULL::integer, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone, p_status text DEFAULT NULL::text, p_user_id text DEFAULT NULL::text, p_user_id_prefix text DEFAULT NULL::text, p_conversation_id text DEFAULT NULL::text, p_q text DEFAULT NULL::text)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET plan_cache_mode TO 'force_custom_plan'
 SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
AS $function$
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
               OR execution_search_hit(l.status, l.id, l.conversation_id, l.user_id,
                                       l.request_message, l.response_message,
                                       l.error_summary, l.failed_nodes, pattern))
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
$function$;

CREATE OR REPLACE FUNCTION execution_monitor.export_executions_v2(p_status text DEFAULT NULL::text, p_user_id text DEFAULT NULL::text, p_conversation_id text DEFAULT NULL::text, p_hours integer DEFAULT NULL::integer, p_q text DEFAULT NULL::text, p_before_started_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_before_id text DEFAULT NULL::text, p_limit integer DEFAULT 1000, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone, p_user_id_prefix text DEFAULT NULL::text)
 RETURNS TABLE(started_at timestamp with time zone, id text, execution jsonb)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET plan_cache_mode TO 'force_custom_plan'
 SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
AS $function$
DECLARE
    w record := filter_window(p_hours, p_since, p_until);
    pattern text := CASE WHEN p_q <> '' THEN like_pattern(p_q) END;
    user_pattern text := CASE WHEN p_user_id_prefix <> '' THEN like_prefix_pattern(p_user_id_prefix) END;
BEGIN
    PERFORM check_status(p_status);
    PERFORM check_search(p_q);
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'limit must be between 1 and 10000, got %', coalesce(p_limit::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT l.started_at, l.id::text, execution_summary_json(l)
    FROM execution_logs AS l
    WHERE (w.since IS NULL OR l.started_at >= w.since)
      AND (w.until IS NULL OR l.started_at < w.until)
      AND (p_before_started_at IS NULL
           OR (l.started_at, l.id) < (p_before_started_at, coalesce(p_before_id, '')))
      AND (p_status IS NULL OR l.status = p_status)
      AND (p_user_id IS NULL OR l.user_id = p_user_id)
      AND (user_pattern IS NULL OR l.user_id LIKE user_pattern)
      AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
      AND (pattern IS NULL
           OR execution_search_hit(l.status, l.id, l.conversation_id, l.user_id,
                                   l.request_message, l.response_message,
                                   l.error_summary, l.failed_nodes, pattern))
    ORDER BY l.started_at DESC, l.id DESC
    LIMIT p_limit;
END;
$function$;

CREATE OR REPLACE FUNCTION execution_monitor.list_executions_v2(p_status text DEFAULT NULL::text, p_user_id text DEFAULT NULL::text, p_conversation_id text DEFAULT NULL::text, p_hours integer DEFAULT NULL::integer, p_limit integer DEFAULT 50, p_offset integer DEFAULT 0, p_q text DEFAULT NULL::text, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone, p_before text DEFAULT NULL::text, p_user_id_prefix text DEFAULT NULL::text)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET plan_cache_mode TO 'force_custom_plan'
 SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
AS $function$
DECLARE
    since timestamptz := p_since;
    cap constant integer := monitoring_limit('total_cap');
    pattern text;
    user_pattern text;
    after_at timestamptz;
    after_id text;
    total bigint;
    logs jsonb;
    page_rows integer;
    next_cursor text;
    scanned integer;
    seen integer;
    found execution_logs[];
    floor_only boolean := false;
BEGIN
    PERFORM check_status(p_status);
    PERFORM check_page(p_limit, p_offset);
    IF p_offset > monitoring_limit('offset_max') THEN
        RAISE EXCEPTION 'offset must be at most %, got % (page further with before = next_cursor)',
            monitoring_limit('offset_max'), p_offset
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
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
        RAISE EXCEPTION 'since (%) must be before until (%)',
            iso_utc(p_since), iso_utc(p_until)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF length(p_q) > monitoring_limit('search_max_chars') THEN
        RAISE EXCEPTION 'q must be at most % characters, got %',
            monitoring_limit('search_max_chars'), length(p_q)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    pattern := CASE WHEN p_q <> '' THEN like_pattern(p_q) END;
    user_pattern := CASE WHEN p_user_id_prefix <> '' THEN like_prefix_pattern(p_user_id_prefix) END;
    IF p_before IS NOT NULL THEN
        SELECT c.started_at, c.id INTO after_at, after_id FROM decode_listing_cursor(p_before) AS c;
    END IF;

    IF pattern IS NOT NULL THEN
        -- How common is the text? The newest `search_scan_rows` rows of the
        -- window (other filters applied) say. It matters twice: the rows a
        -- search's count examines are its matches divided by how common the
        -- text is (not bounded by the cap), and the planner, misjudging a rare
        -- text as common, would read the whole window in time order to fill a page.
        SELECT count(*), count(*) FILTER (WHERE newest.matches)
        INTO scanned, seen
        FROM (
            SELECT execution_search_text_v2(l.id, l.conversation_id, l.user_id,
                                            l.request_message, l.response_message,
                                            l.error_summary, l.failed_nodes)
                   ILIKE pattern AS matches
            FROM execution_logs l
            WHERE (since IS NULL OR l.started_at >= since)
              AND (p_until IS NULL OR l.started_at < p_until)
              AND (p_status IS NULL OR l.status = p_status)
              AND (p_user_id IS NULL OR l.user_id = p_user_id)
              AND (user_pattern IS NULL OR l.user_id LIKE user_pattern)
              AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
            ORDER BY l.started_at DESC
            LIMIT monitoring_limit('search_scan_rows')
        ) AS newest;
        IF scanned = monitoring_limit('search_scan_rows') AND seen = 0 THEN
            -- A rare text in a large window: its matches, found through the
            -- trigram index, then ordered (unless there are more than the cap).
            SELECT array_agg(m.l) INTO found
            FROM (
                SELECT l
                FROM execution_logs l
                WHERE (since IS NULL OR l.started_at >= since)
                  AND (p_until IS NULL OR l.started_at < p_until)
                  AND (p_status IS NULL OR l.status = p_status)
                  AND (p_user_id IS NULL OR l.user_id = p_user_id)
                  AND (user_pattern IS NULL OR l.user_id LIKE user_pattern)
                  AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
                  AND execution_search_hit(l.status, l.id, l.conversation_id, l.user_id,
                                           l.request_message, l.response_message,
                                           l.error_summary, l.failed_nodes, pattern)
                LIMIT cap + 1
            ) AS m;
            found := coalesce(found, '{}');
            IF cardinality(found) > cap THEN
                found := NULL;  -- not rare after all: the ordered path, total capped
                total := cap + 1;
            ELSE
                total := cardinality(found);
            END IF;
        END IF;
    END IF;

    -- One row more than the page says whether there is a next page.
    IF found IS NOT NULL THEN
        SELECT coalesce(jsonb_agg(execution_summary_json(page.r) ORDER BY page.n)
                            FILTER (WHERE page.n <= p_limit), '[]'::jsonb),
               count(*),
               max(encode_listing_cursor((page.r).started_at, (page.r).id))
                   FILTER (WHERE page.n = p_limit)
        INTO logs, page_rows, next_cursor
        FROM (
            SELECT l AS r,
                   row_number() OVER (ORDER BY l.started_at DESC, l.id DESC) - p_offset AS n
            FROM unnest(found) AS l
            WHERE (after_at IS NULL OR (l.started_at, l.id) < (after_at, after_id))
            ORDER BY l.started_at DESC, l.id DESC
            LIMIT p_limit + 1 OFFSET p_offset
        ) AS page;
    ELSE
        SELECT coalesce(jsonb_agg(execution_summary_json(page.r) ORDER BY page.n)
                            FILTER (WHERE page.n <= p_limit), '[]'::jsonb),
               count(*),
               max(encode_listing_cursor((page.r).started_at, (page.r).id))
                   FILTER (WHERE page.n = p_limit)
        INTO logs, page_rows, next_cursor
        FROM (
            SELECT l AS r,
                   row_number() OVER (ORDER BY l.started_at DESC, l.id DESC) - p_offset AS n
            FROM execution_logs l
            WHERE (since IS NULL OR l.started_at >= since)
              AND (p_until IS NULL OR l.started_at < p_until)
              AND (p_status IS NULL OR l.status = p_status)
              AND (p_user_id IS NULL OR l.user_id = p_user_id)
              AND (user_pattern IS NULL OR l.user_id LIKE user_pattern)
              AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
              AND (after_at IS NULL OR (l.started_at, l.id) < (after_at, after_id))
              AND (pattern IS NULL
                   OR execution_search_hit(l.status, l.id, l.conversation_id, l.user_id,
                                           l.request_message, l.response_message,
                                           l.error_summary, l.failed_nodes, pattern))
            ORDER BY l.started_at DESC, l.id DESC
            LIMIT p_limit + 1 OFFSET p_offset
        ) AS page;
    END IF;

    IF page_rows <= p_limit THEN
        next_cursor := NULL;
    END IF;

    IF total IS NOT NULL THEN
        NULL;  -- counted above (a rare text)
    ELSIF p_offset = 0 AND after_at IS NULL AND page_rows <= p_limit THEN
        total := page_rows;  -- the whole filter fits on this page
    ELSIF pattern IS NOT NULL THEN
        -- A search, then: the newest rows were all of the window (exact), or
        -- the matches among them are a floor.
        total := seen;
        floor_only := scanned = monitoring_limit('search_scan_rows');
    ELSE
        total := count_listed_executions(since, p_until, p_status, p_user_id, user_pattern,
                                         p_conversation_id, NULL, cap);
    END IF;

    RETURN jsonb_build_object(
        'total', least(total, cap),
        'total_capped', floor_only OR total > cap,
        'offset', p_offset,
        'limit', p_limit,
        'next_cursor', next_cursor,
        'logs', logs);
END;
$function$;

CREATE OR REPLACE FUNCTION execution_monitor.node_performance_filtered(p_hours integer DEFAULT NULL::integer, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone, p_status text DEFAULT NULL::text, p_user_id text DEFAULT NULL::text, p_user_id_prefix text DEFAULT NULL::text, p_conversation_id text DEFAULT NULL::text, p_q text DEFAULT NULL::text)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET plan_cache_mode TO 'force_custom_plan'
 SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
AS $function$
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
                   OR execution_search_hit(l.status, l.id, l.conversation_id, l.user_id,
                                           l.request_message, l.response_message,
                                           l.error_summary, l.failed_nodes, pattern))
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
$function$;
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
CREATE OR REPLACE FUNCTION execution_monitor.count_listed_executions(p_since timestamp with time zone, p_until timestamp with time zone, p_status text, p_user_id text, p_user_pattern text, p_conversation_id text, p_pattern text, p_cap integer)
 RETURNS bigint
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode TO 'force_custom_plan'
 SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
AS $function$
DECLARE
    counted bigint;
BEGIN
    SELECT count(*) INTO counted
    FROM (
        SELECT
        FROM execution_logs l
        WHERE (p_since IS NULL OR l.started_at >= p_since)
          AND (p_until IS NULL OR l.started_at < p_until)
          AND (p_status IS NULL OR l.status = p_status)
          AND (p_user_id IS NULL OR l.user_id = p_user_id)
          AND (p_user_pattern IS NULL OR l.user_id LIKE p_user_pattern)
          AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
          AND (p_pattern IS NULL
               OR execution_search_text_v2(l.id, l.conversation_id, l.user_id,
                                           l.request_message, l.response_message,
                                           l.error_summary, l.failed_nodes)
                  ILIKE p_pattern)
        LIMIT p_cap + 1
    ) AS matching;
    RETURN counted;
END;
$function$;

CREATE OR REPLACE FUNCTION execution_monitor.execution_stats_filtered(p_hours integer DEFAULT NULL::integer, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone, p_status text DEFAULT NULL::text, p_user_id text DEFAULT NULL::text, p_user_id_prefix text DEFAULT NULL::text, p_conversation_id text DEFAULT NULL::text, p_q text DEFAULT NULL::text)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET plan_cache_mode TO 'force_custom_plan'
 SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
AS $function$
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
$function$;

CREATE OR REPLACE FUNCTION execution_monitor.export_executions_v2(p_status text DEFAULT NULL::text, p_user_id text DEFAULT NULL::text, p_conversation_id text DEFAULT NULL::text, p_hours integer DEFAULT NULL::integer, p_q text DEFAULT NULL::text, p_before_started_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_before_id text DEFAULT NULL::text, p_limit integer DEFAULT 1000, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone, p_user_id_prefix text DEFAULT NULL::text)
 RETURNS TABLE(started_at timestamp with time zone, id text, execution jsonb)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET plan_cache_mode TO 'force_custom_plan'
 SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
AS $function$
DECLARE
    w record := filter_window(p_hours, p_since, p_until);
    pattern text := CASE WHEN p_q <> '' THEN like_pattern(p_q) END;
    user_pattern text := CASE WHEN p_user_id_prefix <> '' THEN like_prefix_pattern(p_user_id_prefix) END;
BEGIN
    PERFORM check_status(p_status);
    PERFORM check_search(p_q);
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'limit must be between 1 and 10000, got %', coalesce(p_limit::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT l.started_at, l.id::text, execution_summary_json(l)
    FROM execution_logs AS l
    WHERE (w.since IS NULL OR l.started_at >= w.since)
      AND (w.until IS NULL OR l.started_at < w.until)
      AND (p_before_started_at IS NULL
           OR (l.started_at, l.id) < (p_before_started_at, coalesce(p_before_id, '')))
      AND (p_status IS NULL OR l.status = p_status)
      AND (p_user_id IS NULL OR l.user_id = p_user_id)
      AND (user_pattern IS NULL OR l.user_id LIKE user_pattern)
      AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
      AND (pattern IS NULL
           OR execution_search_text_v2(l.id, l.conversation_id, l.user_id,
                                       l.request_message, l.response_message,
                                       l.error_summary, l.failed_nodes)
              ILIKE pattern)
    ORDER BY l.started_at DESC, l.id DESC
    LIMIT p_limit;
END;
$function$;

CREATE OR REPLACE FUNCTION execution_monitor.list_executions_v2(p_status text DEFAULT NULL::text, p_user_id text DEFAULT NULL::text, p_conversation_id text DEFAULT NULL::text, p_hours integer DEFAULT NULL::integer, p_limit integer DEFAULT 50, p_offset integer DEFAULT 0, p_q text DEFAULT NULL::text, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone, p_before text DEFAULT NULL::text, p_user_id_prefix text DEFAULT NULL::text)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET plan_cache_mode TO 'force_custom_plan'
 SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
AS $function$
DECLARE
    since timestamptz := p_since;
    cap constant integer := monitoring_limit('total_cap');
    pattern text;
    user_pattern text;
    after_at timestamptz;
    after_id text;
    total bigint;
    logs jsonb;
    page_rows integer;
    next_cursor text;
    scanned integer;
    seen integer;
    found execution_logs[];
    floor_only boolean := false;
BEGIN
    PERFORM check_status(p_status);
    PERFORM check_page(p_limit, p_offset);
    IF p_offset > monitoring_limit('offset_max') THEN
        RAISE EXCEPTION 'offset must be at most %, got % (page further with before = next_cursor)',
            monitoring_limit('offset_max'), p_offset
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
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
        RAISE EXCEPTION 'since (%) must be before until (%)',
            iso_utc(p_since), iso_utc(p_until)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF length(p_q) > monitoring_limit('search_max_chars') THEN
        RAISE EXCEPTION 'q must be at most % characters, got %',
            monitoring_limit('search_max_chars'), length(p_q)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    pattern := CASE WHEN p_q <> '' THEN like_pattern(p_q) END;
    user_pattern := CASE WHEN p_user_id_prefix <> '' THEN like_prefix_pattern(p_user_id_prefix) END;
    IF p_before IS NOT NULL THEN
        SELECT c.started_at, c.id INTO after_at, after_id FROM decode_listing_cursor(p_before) AS c;
    END IF;

    IF pattern IS NOT NULL THEN
        -- How common is the text? The newest `search_scan_rows` rows of the
        -- window (other filters applied) say. It matters twice: the rows a
        -- search's count examines are its matches divided by how common the
        -- text is (not bounded by the cap), and the planner, misjudging a rare
        -- text as common, would read the whole window in time order to fill a page.
        SELECT count(*), count(*) FILTER (WHERE newest.matches)
        INTO scanned, seen
        FROM (
            SELECT execution_search_text_v2(l.id, l.conversation_id, l.user_id,
                                            l.request_message, l.response_message,
                                            l.error_summary, l.failed_nodes)
                   ILIKE pattern AS matches
            FROM execution_logs l
            WHERE (since IS NULL OR l.started_at >= since)
              AND (p_until IS NULL OR l.started_at < p_until)
              AND (p_status IS NULL OR l.status = p_status)
              AND (p_user_id IS NULL OR l.user_id = p_user_id)
              AND (user_pattern IS NULL OR l.user_id LIKE user_pattern)
              AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
            ORDER BY l.started_at DESC
            LIMIT monitoring_limit('search_scan_rows')
        ) AS newest;
        IF scanned = monitoring_limit('search_scan_rows') AND seen = 0 THEN
            -- A rare text in a large window: its matches, found through the
            -- trigram index, then ordered (unless there are more than the cap).
            SELECT array_agg(m.l) INTO found
            FROM (
                SELECT l
                FROM execution_logs l
                WHERE (since IS NULL OR l.started_at >= since)
                  AND (p_until IS NULL OR l.started_at < p_until)
                  AND (p_status IS NULL OR l.status = p_status)
                  AND (p_user_id IS NULL OR l.user_id = p_user_id)
                  AND (user_pattern IS NULL OR l.user_id LIKE user_pattern)
                  AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
                  AND execution_search_text_v2(l.id, l.conversation_id, l.user_id,
                                               l.request_message, l.response_message,
                                               l.error_summary, l.failed_nodes)
                      ILIKE pattern
                LIMIT cap + 1
            ) AS m;
            found := coalesce(found, '{}');
            IF cardinality(found) > cap THEN
                found := NULL;  -- not rare after all: the ordered path, total capped
                total := cap + 1;
            ELSE
                total := cardinality(found);
            END IF;
        END IF;
    END IF;

    -- One row more than the page says whether there is a next page.
    IF found IS NOT NULL THEN
        SELECT coalesce(jsonb_agg(execution_summary_json(page.r) ORDER BY page.n)
                            FILTER (WHERE page.n <= p_limit), '[]'::jsonb),
               count(*),
               max(encode_listing_cursor((page.r).started_at, (page.r).id))
                   FILTER (WHERE page.n = p_limit)
        INTO logs, page_rows, next_cursor
        FROM (
            SELECT l AS r,
                   row_number() OVER (ORDER BY l.started_at DESC, l.id DESC) - p_offset AS n
            FROM unnest(found) AS l
            WHERE (after_at IS NULL OR (l.started_at, l.id) < (after_at, after_id))
            ORDER BY l.started_at DESC, l.id DESC
            LIMIT p_limit + 1 OFFSET p_offset
        ) AS page;
    ELSE
        SELECT coalesce(jsonb_agg(execution_summary_json(page.r) ORDER BY page.n)
                            FILTER (WHERE page.n <= p_limit), '[]'::jsonb),
               count(*),
               max(encode_listing_cursor((page.r).started_at, (page.r).id))
                   FILTER (WHERE page.n = p_limit)
        INTO logs, page_rows, next_cursor
        FROM (
            SELECT l AS r,
                   row_number() OVER (ORDER BY l.started_at DESC, l.id DESC) - p_offset AS n
            FROM execution_logs l
            WHERE (since IS NULL OR l.started_at >= since)
              AND (p_until IS NULL OR l.started_at < p_until)
              AND (p_status IS NULL OR l.status = p_status)
              AND (p_user_id IS NULL OR l.user_id = p_user_id)
              AND (user_pattern IS NULL OR l.user_id LIKE user_pattern)
              AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
              AND (after_at IS NULL OR (l.started_at, l.id) < (after_at, after_id))
              AND (pattern IS NULL
                   OR execution_search_text_v2(l.id, l.conversation_id, l.user_id,
                                               l.request_message, l.response_message,
                                               l.error_summary, l.failed_nodes)
                      ILIKE pattern)
            ORDER BY l.started_at DESC, l.id DESC
            LIMIT p_limit + 1 OFFSET p_offset
        ) AS page;
    END IF;

    IF page_rows <= p_limit THEN
        next_cursor := NULL;
    END IF;

    IF total IS NOT NULL THEN
        NULL;  -- counted above (a rare text)
    ELSIF p_offset = 0 AND after_at IS NULL AND page_rows <= p_limit THEN
        total := page_rows;  -- the whole filter fits on this page
    ELSIF pattern IS NOT NULL THEN
        -- A search, then: the newest rows were all of the window (exact), or
        -- the matches among them are a floor.
        total := seen;
        floor_only := scanned = monitoring_limit('search_scan_rows');
    ELSE
        total := count_listed_executions(since, p_until, p_status, p_user_id, user_pattern,
                                         p_conversation_id, NULL, cap);
    END IF;

    RETURN jsonb_build_object(
        'total', least(total, cap),
        'total_capped', floor_only OR total > cap,
        'offset', p_offset,
        'limit', p_limit,
        'next_cursor', next_cursor,
        'logs', logs);
END;
$function$;

CREATE OR REPLACE FUNCTION execution_monitor.node_performance_filtered(p_hours integer DEFAULT NULL::integer, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone, p_status text DEFAULT NULL::text, p_user_id text DEFAULT NULL::text, p_user_id_prefix text DEFAULT NULL::text, p_conversation_id text DEFAULT NULL::text, p_q text DEFAULT NULL::text)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET plan_cache_mode TO 'force_custom_plan'
 SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
AS $function$
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
$function$;
DROP FUNCTION execution_search_hit(text, text, text, text, text, text, text, jsonb, text);
SET LOCAL search_path TO DEFAULT;
