-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- execution_stats, failed_nodes_breakdown and node_performance read the hourly rollups
-- for whole hours and the rows only for the window's partial first hour (the window has
-- no end: the current hour is in the rollups, as every row is). Same signatures and
-- JSON as before; counts, sums, averages and rates are the raw computation's exactly,
-- percentiles within the histogram's stated error (migration 20261202000200). The work
-- is in *_since(p_since) variants (the window by its start), which the tests call with
-- starts at any minute of the hour.

-- How a window starting at p_since is read: rollup hours from rollup_from on, plus
-- raw_sign (+1 or -1) times the rows started in [raw_from, raw_until). The partial hour
-- is read from whichever side is shorter: the rows after p_since up to the next hour
-- (+1), or the whole hour's rollup minus its rows before p_since (-1). At most half an
-- hour of rows.
CREATE FUNCTION rollup_window(
    p_since timestamptz,
    OUT rollup_from timestamptz,
    OUT raw_from timestamptz,
    OUT raw_until timestamptz,
    OUT raw_sign integer
)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, execution_monitor, public
AS $$
DECLARE
    hour_start timestamptz := date_trunc('hour', p_since, 'UTC');
BEGIN
    IF p_since - hour_start < interval '30 minutes' THEN
        rollup_from := hour_start;
        raw_from := hour_start;
        raw_until := p_since;
        raw_sign := -1;
    ELSE
        rollup_from := hour_start + interval '1 hour';
        raw_from := p_since;
        raw_until := rollup_from;
        raw_sign := 1;
    END IF;
END;
$$;

-- The stats of the runs started at p_since or later (execution_stats' JSON but its
-- time_range_hours).
CREATE FUNCTION execution_stats_since(p_since timestamptz) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
SET search_path = pg_catalog, execution_monitor, public
AS $$
DECLARE
    w record := rollup_window(p_since);
    t record;
    d record;
BEGIN

    SELECT coalesce(sum(p.runs), 0)::bigint AS runs,
           coalesce(sum(p.completed), 0)::bigint AS completed,
           coalesce(sum(p.failed), 0)::bigint AS failed,
           coalesce(sum(p.partial), 0)::bigint AS partial,
           coalesce(sum(p.running), 0)::bigint AS running,
           coalesce(sum(p.interrupted), 0)::bigint AS interrupted,
           coalesce(sum(p.input_tokens), 0)::bigint AS input_tokens,
           coalesce(sum(p.output_tokens), 0)::bigint AS output_tokens,
           coalesce(sum(p.total_tokens), 0)::bigint AS total_tokens
    INTO t
    FROM (
        SELECT r.runs, r.completed, r.failed, r.partial, r.running, r.interrupted,
               r.input_tokens, r.output_tokens, r.total_tokens
        FROM execution_rollups_hourly AS r
        WHERE r.hour >= w.rollup_from
        UNION ALL
        SELECT w.raw_sign * count(*),
               w.raw_sign * count(*) FILTER (WHERE l.status = 'completed'),
               w.raw_sign * count(*) FILTER (WHERE l.status = 'failed'),
               w.raw_sign * count(*) FILTER (WHERE l.status = 'partial'),
               w.raw_sign * count(*) FILTER (WHERE l.status = 'running'),
               w.raw_sign * count(*) FILTER (WHERE l.status = 'interrupted'),
               w.raw_sign * coalesce(sum(l.input_tokens), 0),
               w.raw_sign * coalesce(sum(l.output_tokens), 0),
               w.raw_sign * coalesce(sum(l.total_tokens), 0)
        FROM execution_logs AS l
        WHERE l.started_at >= w.raw_from AND l.started_at < w.raw_until
    ) AS p;

    SELECT array_agg(h.runs ORDER BY h.bucket) AS counts,
           array_agg(h.duration_ms_sum ORDER BY h.bucket) AS sums,
           sum(h.runs) AS timed, sum(h.duration_ms_sum) AS total_ms
    INTO d
    FROM (
        SELECT b.bucket, sum(b.runs) AS runs, sum(b.duration_ms_sum) AS duration_ms_sum
        FROM (
            SELECT r.bucket, r.runs, r.duration_ms_sum
            FROM execution_durations_hourly AS r
            WHERE r.hour >= w.rollup_from
            UNION ALL
            SELECT duration_bucket(l.total_duration_ms), w.raw_sign,
                   w.raw_sign * l.total_duration_ms
            FROM execution_logs AS l
            WHERE l.started_at >= w.raw_from AND l.started_at < w.raw_until
              AND l.total_duration_ms IS NOT NULL
        ) AS b
        GROUP BY b.bucket
        HAVING sum(b.runs) > 0
    ) AS h;

    RETURN jsonb_build_object(
        'total_executions', t.runs,
        'by_status', jsonb_build_object(
            'completed', t.completed,
            'failed', t.failed,
            'partial', t.partial,
            'running', t.running,
            'interrupted', t.interrupted),
        'success_rate', CASE WHEN t.runs = 0 THEN 0.0
                             ELSE round(100.0 * t.completed / t.runs, 2) END,
        'avg_duration_ms', round(d.total_ms::numeric / d.timed)::integer,
        'p95_duration_ms', round(histogram_percentile(d.counts, d.sums, 0.95))::integer,
        'input_tokens', t.input_tokens,
        'output_tokens', t.output_tokens,
        'total_tokens', t.total_tokens,
        'failed_nodes_breakdown',
        (SELECT coalesce(jsonb_object_agg(b.node, b.failed_runs), '{}'::jsonb)
         FROM failed_nodes_breakdown_since(p_since) AS b));
END;
$$;

CREATE OR REPLACE FUNCTION execution_stats(p_hours integer DEFAULT 24) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, execution_monitor, public
AS $$
BEGIN
    PERFORM check_hours(p_hours);
    RETURN jsonb_build_object('time_range_hours', p_hours)
           || execution_stats_since(now() - make_interval(hours => p_hours));
END;
$$;

CREATE FUNCTION failed_nodes_breakdown_since(p_since timestamptz)
RETURNS TABLE (node text, failed_runs bigint)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
SET search_path = pg_catalog, execution_monitor, public
AS $$
#variable_conflict use_column
DECLARE
    w record := rollup_window(p_since);
BEGIN
    RETURN QUERY
    SELECT c.node, sum(c.failed_runs)::bigint
    FROM (
        SELECT r.node, r.failed_runs
        FROM node_rollups_hourly AS r
        WHERE r.hour >= w.rollup_from AND r.failed_runs <> 0
        UNION ALL
        SELECT f.node, w.raw_sign
        FROM execution_logs AS l,
             LATERAL (SELECT DISTINCT n.value AS node
                      FROM jsonb_array_elements_text(l.failed_nodes) AS n) AS f
        WHERE l.status IN ('failed', 'partial')
          AND l.started_at >= w.raw_from AND l.started_at < w.raw_until
    ) AS c
    GROUP BY c.node
    HAVING sum(c.failed_runs) > 0
    ORDER BY sum(c.failed_runs) DESC, c.node;
END;
$$;

CREATE OR REPLACE FUNCTION failed_nodes_breakdown(p_hours integer DEFAULT 24)
RETURNS TABLE (node text, failed_runs bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT * FROM execution_monitor.failed_nodes_breakdown_since(
        now() - make_interval(hours => p_hours));
END;

CREATE FUNCTION node_performance_since(p_since timestamptz)
RETURNS TABLE (node text, runs bigint, failures bigint, failure_rate numeric,
               avg_ms numeric, p50_ms numeric, p95_ms numeric, p99_ms numeric)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
SET search_path = pg_catalog, execution_monitor, public
AS $$
#variable_conflict use_column
DECLARE
    w record := rollup_window(p_since);
BEGIN
    RETURN QUERY
    WITH edge AS MATERIALIZED (
        SELECT e.node, e.status, e.duration_ms
        FROM execution_logs AS l, trace_node_entries(l.execution_trace) AS e
        WHERE l.started_at >= w.raw_from AND l.started_at < w.raw_until
    ),
    counts AS (
        SELECT c.node, sum(c.attempts) AS attempts, sum(c.failed_attempts) AS failed_attempts
        FROM (
            SELECT r.node, r.attempts, r.failed_attempts
            FROM node_rollups_hourly AS r
            WHERE r.hour >= w.rollup_from
            UNION ALL
            SELECT e.node, w.raw_sign, CASE WHEN e.status = 'failed' THEN w.raw_sign ELSE 0 END
            FROM edge AS e
        ) AS c
        GROUP BY c.node
        HAVING sum(c.attempts) > 0
    ),
    buckets AS (
        SELECT b.node, b.bucket, sum(b.attempts) AS attempts,
               sum(b.duration_ms_sum) AS duration_ms_sum
        FROM (
            SELECT r.node, r.bucket, r.attempts, r.duration_ms_sum
            FROM node_durations_hourly AS r
            WHERE r.hour >= w.rollup_from
            UNION ALL
            SELECT e.node, duration_bucket(e.duration_ms), w.raw_sign, w.raw_sign * e.duration_ms
            FROM edge AS e
            WHERE e.duration_ms IS NOT NULL
        ) AS b
        GROUP BY b.node, b.bucket
        HAVING sum(b.attempts) > 0
    ),
    histograms AS (
        SELECT b.node, array_agg(b.attempts ORDER BY b.bucket) AS counts,
               array_agg(b.duration_ms_sum ORDER BY b.bucket) AS sums,
               sum(b.attempts) AS timed, sum(b.duration_ms_sum) AS total_ms
        FROM buckets AS b
        GROUP BY b.node
    )
    SELECT c.node, c.attempts::bigint, c.failed_attempts::bigint,
           round(100.0 * c.failed_attempts / c.attempts, 2),
           round(h.total_ms / h.timed, 3),
           round(histogram_percentile(h.counts, h.sums, 0.50), 3),
           round(histogram_percentile(h.counts, h.sums, 0.95), 3),
           round(histogram_percentile(h.counts, h.sums, 0.99), 3)
    FROM counts AS c
    LEFT JOIN histograms AS h ON h.node IS NOT DISTINCT FROM c.node
    ORDER BY c.attempts DESC, c.node;
END;
$$;

CREATE OR REPLACE FUNCTION node_performance(p_hours integer DEFAULT 24)
RETURNS TABLE (node text, runs bigint, failures bigint, failure_rate numeric,
               avg_ms numeric, p50_ms numeric, p95_ms numeric, p99_ms numeric)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT * FROM execution_monitor.node_performance_since(
        now() - make_interval(hours => p_hours));
END;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
CREATE OR REPLACE FUNCTION node_performance(p_hours integer DEFAULT 24)
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
           round((percentile_cont(0.50) WITHIN GROUP
                  (ORDER BY (t.entry ->> 'execution_time_ms')::double precision))::numeric, 3),
           round((percentile_cont(0.95) WITHIN GROUP
                  (ORDER BY (t.entry ->> 'execution_time_ms')::double precision))::numeric, 3),
           round((percentile_cont(0.99) WITHIN GROUP
                  (ORDER BY (t.entry ->> 'execution_time_ms')::double precision))::numeric, 3)
    FROM execution_logs AS l, LATERAL jsonb_array_elements(l.execution_trace) AS t(entry)
    WHERE l.started_at >= now() - make_interval(hours => p_hours)
      AND jsonb_typeof(l.execution_trace) = 'array'
    GROUP BY t.entry ->> 'node'
    ORDER BY count(*) DESC, t.entry ->> 'node';
END;

CREATE OR REPLACE FUNCTION failed_nodes_breakdown(p_hours integer DEFAULT 24)
RETURNS TABLE (node text, failed_runs bigint)
LANGUAGE sql STABLE
SET plan_cache_mode = force_custom_plan
BEGIN ATOMIC
    SELECT f.node, count(*) AS failed_runs
    FROM execution_logs AS l,
         LATERAL (SELECT DISTINCT n.value AS node
                  FROM jsonb_array_elements_text(l.failed_nodes) AS n) AS f
    WHERE l.status IN ('failed', 'partial')
      AND l.started_at >= now() - make_interval(hours => p_hours)
    GROUP BY f.node
    ORDER BY count(*) DESC, f.node;
END;

CREATE OR REPLACE FUNCTION execution_stats(p_hours integer DEFAULT 24) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
SET search_path = pg_catalog, execution_monitor, public
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

DROP FUNCTION node_performance_since(timestamptz);
DROP FUNCTION failed_nodes_breakdown_since(timestamptz);
DROP FUNCTION execution_stats_since(timestamptz);
DROP FUNCTION rollup_window(timestamptz);

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;
