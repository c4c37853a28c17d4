-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- The stats and the per-node view of a window with an end (since/until, a custom
-- range, a day ten days ago) read the hourly rollups too, as windows with no end do
-- (20261202000203): the window [since, until) is the window from `since` minus the
-- window from `until`, each read as whole rollup hours plus at most half an hour of
-- rows at its edge. So a day's stats cost the same at any age and any table size,
-- instead of a scan of the day's rows. execution_stats_filtered and
-- node_performance_filtered use them whenever only the window is given.

-- The window [p_since, p_until) (either may be NULL: unbounded) as rollup hours in
-- [rollup_from, rollup_until) plus, for each edge, sign times the rows started in
-- [lo, hi). An unbounded side has no edge (its sign is 0).
CREATE FUNCTION rollup_window_between(
    p_since timestamptz,
    p_until timestamptz,
    OUT rollup_from timestamptz,
    OUT rollup_until timestamptz,
    OUT since_lo timestamptz,
    OUT since_hi timestamptz,
    OUT since_sign integer,
    OUT until_lo timestamptz,
    OUT until_hi timestamptz,
    OUT until_sign integer
)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
DECLARE
    s record;
    u record;
BEGIN
    IF p_since IS NULL THEN
        rollup_from := '-infinity';
        since_lo := '-infinity';
        since_hi := '-infinity';
        since_sign := 0;
    ELSE
        s := rollup_window(p_since);
        rollup_from := s.rollup_from;
        since_lo := s.raw_from;
        since_hi := s.raw_until;
        since_sign := s.raw_sign;
    END IF;
    IF p_until IS NULL THEN
        rollup_until := 'infinity';
        until_lo := 'infinity';
        until_hi := 'infinity';
        until_sign := 0;
    ELSE  -- minus the window from p_until
        u := rollup_window(p_until);
        rollup_until := u.rollup_from;
        until_lo := u.raw_from;
        until_hi := u.raw_until;
        until_sign := -u.raw_sign;
    END IF;
END;
$$;

-- The failed-node breakdown of the runs started in [p_since, p_until).
CREATE FUNCTION failed_nodes_breakdown_between(p_since timestamptz, p_until timestamptz)
RETURNS TABLE (node text, failed_runs bigint)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    w record := rollup_window_between(p_since, p_until);
BEGIN
    RETURN QUERY
    SELECT c.node, sum(c.failed_runs)::bigint
    FROM (
        SELECT r.node, r.failed_runs
        FROM node_rollups_hourly AS r
        WHERE r.hour >= w.rollup_from AND r.hour < w.rollup_until AND r.failed_runs <> 0
        UNION ALL
        SELECT f.node, w.since_sign
        FROM execution_logs AS l,
             LATERAL (SELECT DISTINCT n.value AS node
                      FROM jsonb_array_elements_text(l.failed_nodes) AS n) AS f
        WHERE l.status IN ('failed', 'partial')
          AND l.started_at >= w.since_lo AND l.started_at < w.since_hi
        UNION ALL
        SELECT f.node, w.until_sign
        FROM execution_logs AS l,
             LATERAL (SELECT DISTINCT n.value AS node
                      FROM jsonb_array_elements_text(l.failed_nodes) AS n) AS f
        WHERE l.status IN ('failed', 'partial')
          AND l.started_at >= w.until_lo AND l.started_at < w.until_hi
    ) AS c
    GROUP BY c.node
    HAVING sum(c.failed_runs) > 0
    ORDER BY sum(c.failed_runs) DESC, c.node;
END;
$$;

-- The stats of the runs started in [p_since, p_until): execution_stats_since's JSON.
CREATE FUNCTION execution_stats_between(p_since timestamptz, p_until timestamptz)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
DECLARE
    w record := rollup_window_between(p_since, p_until);
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
        WHERE r.hour >= w.rollup_from AND r.hour < w.rollup_until
        UNION ALL
        SELECT w.since_sign * count(*),
               w.since_sign * count(*) FILTER (WHERE l.status = 'completed'),
               w.since_sign * count(*) FILTER (WHERE l.status = 'failed'),
               w.since_sign * count(*) FILTER (WHERE l.status = 'partial'),
               w.since_sign * count(*) FILTER (WHERE l.status = 'running'),
               w.since_sign * count(*) FILTER (WHERE l.status = 'interrupted'),
               w.since_sign * coalesce(sum(l.input_tokens), 0),
               w.since_sign * coalesce(sum(l.output_tokens), 0),
               w.since_sign * coalesce(sum(l.total_tokens), 0)
        FROM execution_logs AS l
        WHERE l.started_at >= w.since_lo AND l.started_at < w.since_hi
        UNION ALL
        SELECT w.until_sign * count(*),
               w.until_sign * count(*) FILTER (WHERE l.status = 'completed'),
               w.until_sign * count(*) FILTER (WHERE l.status = 'failed'),
               w.until_sign * count(*) FILTER (WHERE l.status = 'partial'),
               w.until_sign * count(*) FILTER (WHERE l.status = 'running'),
               w.until_sign * count(*) FILTER (WHERE l.status = 'interrupted'),
               w.until_sign * coalesce(sum(l.input_tokens), 0),
               w.until_sign * coalesce(sum(l.output_tokens), 0),
               w.until_sign * coalesce(sum(l.total_tokens), 0)
        FROM execution_logs AS l
        WHERE l.started_at >= w.until_lo AND l.started_at < w.until_hi
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
            WHERE r.hour >= w.rollup_from AND r.hour < w.rollup_until
            UNION ALL
            SELECT duration_bucket(l.total_duration_ms), w.since_sign,
                   w.since_sign * l.total_duration_ms
            FROM execution_logs AS l
            WHERE l.started_at >= w.since_lo AND l.started_at < w.since_hi
              AND l.total_duration_ms IS NOT NULL
            UNION ALL
            SELECT duration_bucket(l.total_duration_ms), w.until_sign,
                   w.until_sign * l.total_duration_ms
            FROM execution_logs AS l
            WHERE l.started_at >= w.until_lo AND l.started_at < w.until_hi
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
         FROM failed_nodes_breakdown_between(p_since, p_until) AS b));
END;
$$;

-- Per-node performance of the runs started in [p_since, p_until): node_performance_since's rows.
CREATE FUNCTION node_performance_between(p_since timestamptz, p_until timestamptz)
RETURNS TABLE (node text, runs bigint, failures bigint, failure_rate numeric,
               avg_ms numeric, p50_ms numeric, p95_ms numeric, p99_ms numeric)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    w record := rollup_window_between(p_since, p_until);
BEGIN
    RETURN QUERY
    WITH edge AS MATERIALIZED (
        -- Each edge by its own constant range (an index range scan): a join of the
        -- rows to a list of ranges is planned as a scan of the table.
        SELECT w.since_sign AS sign, t.node, t.status, t.duration_ms
        FROM execution_logs AS l, trace_node_entries(l.execution_trace) AS t
        WHERE l.started_at >= w.since_lo AND l.started_at < w.since_hi
        UNION ALL
        SELECT w.until_sign, t.node, t.status, t.duration_ms
        FROM execution_logs AS l, trace_node_entries(l.execution_trace) AS t
        WHERE l.started_at >= w.until_lo AND l.started_at < w.until_hi
    ),
    counts AS (
        SELECT c.node, sum(c.attempts) AS attempts, sum(c.failed_attempts) AS failed_attempts
        FROM (
            SELECT r.node, r.attempts, r.failed_attempts
            FROM node_rollups_hourly AS r
            WHERE r.hour >= w.rollup_from AND r.hour < w.rollup_until
            UNION ALL
            SELECT e.node, e.sign, CASE WHEN e.status = 'failed' THEN e.sign ELSE 0 END
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
            WHERE r.hour >= w.rollup_from AND r.hour < w.rollup_until
            UNION ALL
            SELECT e.node, duration_bucket(e.duration_ms), e.sign, e.sign * e.duration_ms
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

REVOKE EXECUTE ON FUNCTION
    rollup_window_between(timestamptz, timestamptz),
    failed_nodes_breakdown_between(timestamptz, timestamptz),
    execution_stats_between(timestamptz, timestamptz),
    node_performance_between(timestamptz, timestamptz)
FROM PUBLIC;


-- A window from a start is a window with no end: the *_since reads (execution_stats,
-- failed_nodes_breakdown, node_performance and the filtered reads call them) become
-- the *_between ones with no end, so that one implementation remains.
CREATE OR REPLACE FUNCTION execution_stats_since(p_since timestamptz) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, execution_monitor, pg_temp
RETURN execution_stats_between(p_since, NULL);

CREATE OR REPLACE FUNCTION failed_nodes_breakdown_since(p_since timestamptz)
RETURNS TABLE (node text, failed_runs bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, execution_monitor, pg_temp
BEGIN ATOMIC
    SELECT * FROM execution_monitor.failed_nodes_breakdown_between(p_since, NULL);
END;

CREATE OR REPLACE FUNCTION node_performance_since(p_since timestamptz)
RETURNS TABLE (node text, runs bigint, failures bigint, failure_rate numeric,
               avg_ms numeric, p50_ms numeric, p95_ms numeric, p99_ms numeric)
LANGUAGE sql STABLE
SET search_path = pg_catalog, execution_monitor, pg_temp
BEGIN ATOMIC
    SELECT * FROM execution_monitor.node_performance_between(p_since, NULL);
END;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
-- The *_since reads as they were (20261202000203, with the search_path 20261202000301 gave them).
CREATE OR REPLACE FUNCTION execution_monitor.execution_stats_since(p_since timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode TO 'force_custom_plan'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
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

CREATE OR REPLACE FUNCTION execution_monitor.failed_nodes_breakdown_since(p_since timestamp with time zone) RETURNS TABLE(node text, failed_runs bigint)
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode TO 'force_custom_plan'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
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

CREATE OR REPLACE FUNCTION execution_monitor.node_performance_since(p_since timestamp with time zone) RETURNS TABLE(node text, runs bigint, failures bigint, failure_rate numeric, avg_ms numeric, p50_ms numeric, p95_ms numeric, p99_ms numeric)
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode TO 'force_custom_plan'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
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

DROP FUNCTION node_performance_between(timestamptz, timestamptz);
DROP FUNCTION execution_stats_between(timestamptz, timestamptz);
DROP FUNCTION failed_nodes_breakdown_between(timestamptz, timestamptz);
DROP FUNCTION rollup_window_between(timestamptz, timestamptz);

SET LOCAL search_path TO DEFAULT;
