-- migrate:up
-- Read side: one function per endpoint of the seed, each returning the seed's
-- JSON. Filters are optional parameters (NULL = no filter); every function plans
-- each call with its actual values, so `$1 IS NULL OR ...` folds away.

-- Timestamps as the seed writes them: UTC, ISO-8601, with a Z.
CREATE FUNCTION iso_utc(ts timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

-- One listing row (every column but the trace).
CREATE FUNCTION execution_summary_json(l execution_logs) RETURNS jsonb
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

CREATE FUNCTION check_page(p_limit integer, p_offset integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'limit must be between 1 and 200, got %', coalesce(p_limit::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_offset IS NULL OR p_offset < 0 THEN
        RAISE EXCEPTION 'offset must be 0 or more, got %', coalesce(p_offset::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;

CREATE FUNCTION check_hours(p_hours integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_hours IS NULL OR p_hours NOT BETWEEN 1 AND 168 THEN
        RAISE EXCEPTION 'hours must be between 1 and 168, got %', coalesce(p_hours::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;

CREATE FUNCTION check_status(p_status text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_status IS NOT NULL AND p_status NOT IN ('running', 'completed', 'failed', 'partial') THEN
        RAISE EXCEPTION 'status must be one of running, completed, failed, partial, got %', p_status
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;

-- GET /logs: the filtered listing, newest first, with the total for the filter.
CREATE FUNCTION list_executions(
    p_status text DEFAULT NULL,
    p_user_id text DEFAULT NULL,
    p_conversation_id text DEFAULT NULL,
    p_hours integer DEFAULT 24,
    p_limit integer DEFAULT 50,
    p_offset integer DEFAULT 0,
    p_q text DEFAULT NULL
) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    since timestamptz;
    pattern text;
    total bigint;
    logs jsonb;
BEGIN
    PERFORM check_status(p_status);
    PERFORM check_hours(p_hours);
    PERFORM check_page(p_limit, p_offset);
    since := now() - make_interval(hours => p_hours);
    pattern := CASE WHEN p_q <> '' THEN like_pattern(p_q) END;

    SELECT count(*) INTO total
    FROM execution_logs l
    WHERE l.started_at >= since
      AND (p_status IS NULL OR l.status = p_status)
      AND (p_user_id IS NULL OR l.user_id = p_user_id)
      AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
      AND (pattern IS NULL
           OR execution_search_text(l.request_message, l.response_message) ILIKE pattern);

    SELECT coalesce(jsonb_agg(execution_summary_json(page) ORDER BY page.started_at DESC, page.id DESC),
                    '[]'::jsonb)
    INTO logs
    FROM (
        SELECT *
        FROM execution_logs l
        WHERE l.started_at >= since
          AND (p_status IS NULL OR l.status = p_status)
          AND (p_user_id IS NULL OR l.user_id = p_user_id)
          AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
          AND (pattern IS NULL
               OR execution_search_text(l.request_message, l.response_message) ILIKE pattern)
        ORDER BY l.started_at DESC, l.id DESC
        LIMIT p_limit OFFSET p_offset
    ) AS page;

    RETURN jsonb_build_object('total', total, 'offset', p_offset, 'limit', p_limit, 'logs', logs);
END;
$$;

-- GET /logs/{id}: one execution with its trace; NULL when there is none.
CREATE FUNCTION get_execution(p_id text) RETURNS jsonb
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT execution_summary_json(l)
           || jsonb_build_object('execution_trace', coalesce(l.execution_trace, '[]'::jsonb))
    FROM execution_logs l
    WHERE l.id = p_id;
END;

-- GET /conversations/{id}/logs: a conversation's executions, oldest first
-- (the order a conversation is read in).
CREATE FUNCTION list_conversation_executions(
    p_conversation_id text,
    p_limit integer DEFAULT 20,
    p_offset integer DEFAULT 0
) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    total bigint;
    logs jsonb;
BEGIN
    PERFORM check_page(p_limit, p_offset);

    SELECT count(*) INTO total FROM execution_logs WHERE conversation_id = p_conversation_id;

    SELECT coalesce(jsonb_agg(execution_summary_json(page) ORDER BY page.started_at, page.id),
                    '[]'::jsonb)
    INTO logs
    FROM (
        SELECT * FROM execution_logs l
        WHERE l.conversation_id = p_conversation_id
        ORDER BY l.started_at, l.id
        LIMIT p_limit OFFSET p_offset
    ) AS page;

    RETURN jsonb_build_object('conversation_id', p_conversation_id, 'total', total,
                              'offset', p_offset, 'limit', p_limit, 'logs', logs);
END;
$$;

-- Failed-node breakdown: how many runs each node failed in (a run counts once
-- per node, however often the node failed in it).
CREATE FUNCTION failed_nodes_breakdown(p_hours integer DEFAULT 24)
RETURNS TABLE (node text, failed_runs bigint)
LANGUAGE sql STABLE
SET plan_cache_mode = force_custom_plan
BEGIN ATOMIC
    SELECT f.node, count(*) AS failed_runs
    FROM execution_logs l,
         LATERAL (SELECT DISTINCT n AS node
                  FROM jsonb_array_elements_text(l.failed_nodes) AS n) AS f
    WHERE l.status::text = ANY ('{failed,partial}'::text[])
      AND l.started_at >= now() - make_interval(hours => p_hours)
    GROUP BY f.node
    ORDER BY failed_runs DESC, f.node;
END;

-- GET /stats: totals by status, success rate (completed / all, percent, two
-- decimals), average and p95 duration of finished runs, failed-node breakdown.
CREATE FUNCTION execution_stats(p_hours integer DEFAULT 24) RETURNS jsonb
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

-- Per-node performance, from the traces: runs, failures, failure rate and
-- duration percentiles of each node's executions in the window.
CREATE FUNCTION node_performance(p_hours integer DEFAULT 24)
RETURNS TABLE (node text, runs bigint, failures bigint, failure_rate numeric,
               avg_ms numeric, p50_ms numeric, p95_ms numeric, p99_ms numeric)
LANGUAGE sql STABLE
SET plan_cache_mode = force_custom_plan
BEGIN ATOMIC
    SELECT t.entry ->> 'node' AS node,
           count(*) AS runs,
           count(*) FILTER (WHERE t.entry ->> 'status' = 'failed') AS failures,
           round(100.0 * count(*) FILTER (WHERE t.entry ->> 'status' = 'failed') / count(*), 2),
           round(avg((t.entry ->> 'execution_time_ms')::numeric), 3),
           round(percentile_cont(0.50) WITHIN GROUP
               (ORDER BY (t.entry ->> 'execution_time_ms')::double precision)::numeric, 3),
           round(percentile_cont(0.95) WITHIN GROUP
               (ORDER BY (t.entry ->> 'execution_time_ms')::double precision)::numeric, 3),
           round(percentile_cont(0.99) WITHIN GROUP
               (ORDER BY (t.entry ->> 'execution_time_ms')::double precision)::numeric, 3)
    FROM execution_logs l,
         LATERAL jsonb_array_elements(l.execution_trace) AS t(entry)
    WHERE l.started_at >= now() - make_interval(hours => p_hours)
      AND jsonb_typeof(l.execution_trace) = 'array'
    GROUP BY t.entry ->> 'node'
    ORDER BY runs DESC, node;
END;

-- GET /nodes: node_performance as JSON.
CREATE FUNCTION node_performance_json(p_hours integer DEFAULT 24) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM check_hours(p_hours);
    RETURN jsonb_build_object(
        'time_range_hours', p_hours,
        'nodes', (SELECT coalesce(jsonb_agg(to_jsonb(n)), '[]'::jsonb)
                  FROM node_performance(p_hours) AS n));
END;
$$;

-- Live stream: the executions with these ids, with the change each is at.
CREATE FUNCTION executions_by_ids(p_ids text[])
RETURNS TABLE (change_seq bigint, execution jsonb)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT l.change_seq, execution_summary_json(l)
    FROM execution_logs l
    WHERE l.id = ANY (p_ids)
    ORDER BY l.change_seq;
END;

-- Live stream resume (Last-Event-ID): executions changed after a change_seq,
-- in change order, with the stream's optional filters.
CREATE FUNCTION executions_changed_since(
    p_change_seq bigint,
    p_status text DEFAULT NULL,
    p_user_id text DEFAULT NULL,
    p_conversation_id text DEFAULT NULL,
    p_limit integer DEFAULT 1000
) RETURNS TABLE (change_seq bigint, execution jsonb)
LANGUAGE sql STABLE
SET plan_cache_mode = force_custom_plan
BEGIN ATOMIC
    SELECT l.change_seq, execution_summary_json(l)
    FROM execution_logs l
    WHERE l.change_seq > p_change_seq
      AND (p_status IS NULL OR l.status = p_status)
      AND (p_user_id IS NULL OR l.user_id = p_user_id)
      AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
    ORDER BY l.change_seq
    LIMIT p_limit;
END;

-- migrate:down
DROP FUNCTION executions_changed_since(bigint, text, text, text, integer);
DROP FUNCTION executions_by_ids(text[]);
DROP FUNCTION node_performance_json(integer);
DROP FUNCTION node_performance(integer);
DROP FUNCTION execution_stats(integer);
DROP FUNCTION failed_nodes_breakdown(integer);
DROP FUNCTION list_conversation_executions(text, integer, integer);
DROP FUNCTION get_execution(text);
DROP FUNCTION list_executions(text, text, text, integer, integer, integer, text);
DROP FUNCTION check_status(text);
DROP FUNCTION check_hours(integer);
DROP FUNCTION check_page(integer, integer);
DROP FUNCTION execution_summary_json(execution_logs);
DROP FUNCTION iso_utc(timestamptz);
