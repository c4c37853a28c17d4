-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- The per-node view's edge, five minutes wide. node_performance_between reads whole
-- hours from the hourly node rollups and the rows of the partial hour at each edge of
-- the window: up to 30 minutes of runs, whose traces it expands (about 15,000 runs and
-- 75,000 trace entries at 10,000,000 runs over 14 days, 90-120 ms of a read that
-- should take 30). Node entries are now rolled up per 5 minutes too (slot, node,
-- duration bucket; NULL when an entry has no duration): an edge reads whole 5-minute
-- slots of the partial hour from them (at most 6, from the hour's nearer side) and rows
-- only for the partial slot (at most 2.5 minutes, from its nearer side). The answers do
-- not change: counts and sums add up exactly, percentiles come from the same histogram.
--
-- The write path appends one more set of deltas per statement (what the entries it
-- already expands for the hourly node rollups contribute, grouped by slot instead of
-- hour); compact_rollups() folds them as it folds the others. The slots are an edge's
-- shortcut to the rows, so they live as long as the rows: maintain_execution_logs
-- deletes those before the oldest day it keeps.
CREATE TABLE node_entries_5min (
    slot timestamptz NOT NULL,  -- the slot's start: a multiple of 5 minutes, UTC
    node text,
    bucket smallint,            -- duration_bucket(execution_time_ms); NULL: no duration
    attempts bigint NOT NULL DEFAULT 0,
    failed_attempts bigint NOT NULL DEFAULT 0,
    duration_ms_sum numeric NOT NULL DEFAULT 0,
    compacted boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX node_entries_5min_compacted ON node_entries_5min (slot, node, bucket)
    NULLS NOT DISTINCT WHERE compacted;
CREATE INDEX node_entries_5min_slot ON node_entries_5min (slot);
CREATE INDEX node_entries_5min_deltas ON node_entries_5min (slot) WHERE NOT compacted;

-- A 5-minute slot's start (UTC).
CREATE FUNCTION rollup_slot(p_at timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN date_bin('5 minutes', p_at, timestamptz '2000-01-01 00:00+00');
REVOKE EXECUTE ON FUNCTION rollup_slot(timestamptz) FROM PUBLIC;

-- The window from p_at on, as node_performance_between reads it: the hourly rollups
-- from hour_from, plus fine_sign times the 5-minute slots in [fine_lo, fine_hi), plus
-- raw_sign times the rows started in [raw_lo, raw_hi). p_at is rounded to the nearest
-- slot boundary (the rows between them: at most 2.5 minutes), that boundary to the
-- nearest hour (the slots between them: at most 30 minutes). Both roundings are
-- monotonic, so a window [since, until) is the one from since minus the one from
-- until, with hour_from(since) <= hour_from(until). An infinite p_at has no edge.
CREATE FUNCTION node_rollup_edge(
    p_at timestamptz,
    OUT hour_from timestamptz,
    OUT fine_lo timestamptz, OUT fine_hi timestamptz, OUT fine_sign integer,
    OUT raw_lo timestamptz, OUT raw_hi timestamptz, OUT raw_sign integer)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
DECLARE
    slot timestamptz;
    boundary timestamptz;
    hour_start timestamptz;
BEGIN
    IF NOT isfinite(p_at) THEN
        hour_from := p_at;
        fine_lo := p_at; fine_hi := p_at; fine_sign := 0;
        raw_lo := p_at; raw_hi := p_at; raw_sign := 0;
        RETURN;
    END IF;
    slot := rollup_slot(p_at);
    IF p_at - slot < interval '150 seconds' THEN
        boundary := slot;  -- minus the rows in [slot, p_at)
        raw_lo := slot; raw_hi := p_at; raw_sign := -1;
    ELSE
        boundary := slot + interval '5 minutes';  -- plus the rows in [p_at, boundary)
        raw_lo := p_at; raw_hi := boundary; raw_sign := 1;
    END IF;
    hour_start := date_trunc('hour', boundary, 'UTC');
    IF boundary - hour_start <= interval '30 minutes' THEN
        hour_from := hour_start;  -- minus the slots in [hour, boundary)
        fine_lo := hour_start; fine_hi := boundary; fine_sign := -1;
    ELSE
        hour_from := hour_start + interval '1 hour';  -- plus the slots up to the hour
        fine_lo := boundary; fine_hi := hour_from; fine_sign := 1;
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION node_rollup_edge(timestamptz) FROM PUBLIC;

-- As before, and the entries' deltas per slot; the entries are added up once, per slot,
-- node and bucket, and the hourly node rollups are sums of those groups.
CREATE OR REPLACE FUNCTION rollup_apply(p_signs integer[], p_started_at timestamp with time zone[], p_statuses text[], p_durations integer[], p_input_tokens integer[], p_output_tokens integer[], p_total_tokens integer[], p_traces jsonb[], p_failed_nodes jsonb[]) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    WITH r AS MATERIALIZED (
        SELECT u.sign, date_trunc('hour', u.started_at, 'UTC') AS hour,
               rollup_slot(u.started_at) AS slot, u.status, u.duration,
               u.input_tokens, u.output_tokens, u.total_tokens, u.trace, u.failed
        FROM unnest(p_signs, p_started_at, p_statuses, p_durations, p_input_tokens,
                    p_output_tokens, p_total_tokens, p_traces, p_failed_nodes)
             AS u(sign, started_at, status, duration, input_tokens, output_tokens,
                  total_tokens, trace, failed)
    ),
    runs AS (
        INSERT INTO execution_rollups_hourly (
            hour, runs, completed, failed, partial, running, interrupted, input_tokens,
            output_tokens, total_tokens)
        SELECT hour, sum(sign),
               coalesce(sum(sign) FILTER (WHERE status = 'completed'), 0),
               coalesce(sum(sign) FILTER (WHERE status = 'failed'), 0),
               coalesce(sum(sign) FILTER (WHERE status = 'partial'), 0),
               coalesce(sum(sign) FILTER (WHERE status = 'running'), 0),
               coalesce(sum(sign) FILTER (WHERE status = 'interrupted'), 0),
               coalesce(sum(sign * input_tokens::bigint), 0),
               coalesce(sum(sign * output_tokens::bigint), 0),
               coalesce(sum(sign * total_tokens::bigint), 0)
        FROM r
        GROUP BY hour
        ORDER BY hour
    ),
    run_durations AS (
        INSERT INTO execution_durations_hourly (hour, bucket, runs, duration_ms_sum)
        SELECT hour, duration_bucket(duration), sum(sign), sum(sign * duration::bigint)
        FROM r
        WHERE duration IS NOT NULL
        GROUP BY 1, 2
        HAVING sum(sign) <> 0
        ORDER BY 1, 2
    ),
    entries AS MATERIALIZED (
        SELECT r.sign, r.slot, e.*
        FROM r, trace_node_entries(r.trace) AS e
        WHERE r.trace IS NOT NULL
    ),
    -- The entries added up once, per slot, node and duration bucket: the 5-minute rows,
    -- and what the hourly node rollups add up (fewer rows than the entries).
    slot_groups AS MATERIALIZED (
        SELECT slot, date_trunc('hour', slot, 'UTC') AS hour, node,
               -- duration_bucket(NULL) is the top bucket, not NULL
               CASE WHEN duration_ms IS NOT NULL THEN duration_bucket(duration_ms) END
                   AS bucket,
               sum(sign) AS attempts,
               coalesce(sum(sign) FILTER (WHERE status = 'failed'), 0) AS failed_attempts,
               coalesce(sum(sign * duration_ms), 0) AS duration_ms_sum,
               sum(sign * coalesce(input_tokens, 0)) AS input_tokens,
               sum(sign * coalesce(output_tokens, 0)) AS output_tokens,
               sum(sign * coalesce(total_tokens, 0)) AS total_tokens
        FROM entries
        GROUP BY slot, node, 4
    ),
    node_counts AS (
        SELECT hour, node, attempts, failed_attempts, 0 AS failed_runs, input_tokens,
               output_tokens, total_tokens
        FROM slot_groups
        UNION ALL
        -- failed_nodes_breakdown: a node once per failed or partial run naming it
        SELECT r.hour, f.node, 0, 0, r.sign, 0, 0, 0
        FROM r, LATERAL (SELECT DISTINCT n.value AS node
                         FROM jsonb_array_elements_text(r.failed) AS n) AS f
        WHERE r.status IN ('failed', 'partial') AND jsonb_typeof(r.failed) = 'array'
    ),
    nodes AS (
        INSERT INTO node_rollups_hourly (
            hour, node, attempts, failed_attempts, failed_runs, input_tokens, output_tokens,
            total_tokens)
        SELECT hour, node, sum(attempts), sum(failed_attempts), sum(failed_runs),
               sum(input_tokens), sum(output_tokens), sum(total_tokens)
        FROM node_counts
        GROUP BY hour, node
        ORDER BY hour, node
    ),
    fine AS (
        INSERT INTO node_entries_5min (
            slot, node, bucket, attempts, failed_attempts, duration_ms_sum)
        SELECT slot, node, bucket, attempts, failed_attempts, duration_ms_sum
        FROM slot_groups
        WHERE attempts <> 0 OR failed_attempts <> 0 OR duration_ms_sum <> 0
        ORDER BY slot, node, bucket
    )
    INSERT INTO node_durations_hourly (hour, node, bucket, attempts, duration_ms_sum)
    SELECT hour, node, bucket, sum(attempts), sum(duration_ms_sum)
    FROM slot_groups
    WHERE bucket IS NOT NULL
    GROUP BY 1, 2, 3
    HAVING sum(attempts) <> 0
    ORDER BY 1, 2, 3;
    RETURN coalesce(cardinality(p_signs), 0);
END;
$$;

CREATE OR REPLACE FUNCTION compact_rollups() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET lock_timeout TO '2s'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    merged bigint := 0;
    n bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('execution_monitor.compact_rollups')) THEN
        RETURN 0;
    END IF;
    WITH gone AS (DELETE FROM execution_rollups_hourly WHERE NOT compacted RETURNING *)
    INSERT INTO execution_rollups_hourly AS t (hour, runs, completed, failed, partial, running, interrupted, input_tokens, output_tokens, total_tokens, compacted)
    SELECT hour, sum(runs), sum(completed), sum(failed), sum(partial), sum(running), sum(interrupted), sum(input_tokens), sum(output_tokens), sum(total_tokens), true
    FROM gone
    GROUP BY hour
    ORDER BY hour
    ON CONFLICT (hour) WHERE compacted DO UPDATE
        SET runs = t.runs + excluded.runs,
            completed = t.completed + excluded.completed,
            failed = t.failed + excluded.failed,
            partial = t.partial + excluded.partial,
            running = t.running + excluded.running,
            interrupted = t.interrupted + excluded.interrupted,
            input_tokens = t.input_tokens + excluded.input_tokens,
            output_tokens = t.output_tokens + excluded.output_tokens,
            total_tokens = t.total_tokens + excluded.total_tokens;
    GET DIAGNOSTICS n = ROW_COUNT;
    merged := merged + n;

    WITH gone AS (DELETE FROM execution_durations_hourly WHERE NOT compacted RETURNING *)
    INSERT INTO execution_durations_hourly AS t (hour, bucket, runs, duration_ms_sum, compacted)
    SELECT hour, bucket, sum(runs), sum(duration_ms_sum), true
    FROM gone
    GROUP BY hour, bucket
    ORDER BY hour, bucket
    ON CONFLICT (hour, bucket) WHERE compacted DO UPDATE
        SET runs = t.runs + excluded.runs,
            duration_ms_sum = t.duration_ms_sum + excluded.duration_ms_sum;
    GET DIAGNOSTICS n = ROW_COUNT;
    merged := merged + n;

    WITH gone AS (DELETE FROM node_rollups_hourly WHERE NOT compacted RETURNING *)
    INSERT INTO node_rollups_hourly AS t (hour, node, attempts, failed_attempts, failed_runs, input_tokens, output_tokens, total_tokens, compacted)
    SELECT hour, node, sum(attempts), sum(failed_attempts), sum(failed_runs), sum(input_tokens), sum(output_tokens), sum(total_tokens), true
    FROM gone
    GROUP BY hour, node
    ORDER BY hour, node
    ON CONFLICT (hour, node) WHERE compacted DO UPDATE
        SET attempts = t.attempts + excluded.attempts,
            failed_attempts = t.failed_attempts + excluded.failed_attempts,
            failed_runs = t.failed_runs + excluded.failed_runs,
            input_tokens = t.input_tokens + excluded.input_tokens,
            output_tokens = t.output_tokens + excluded.output_tokens,
            total_tokens = t.total_tokens + excluded.total_tokens;
    GET DIAGNOSTICS n = ROW_COUNT;
    merged := merged + n;

    WITH gone AS (DELETE FROM node_durations_hourly WHERE NOT compacted RETURNING *)
    INSERT INTO node_durations_hourly AS t (hour, node, bucket, attempts, duration_ms_sum, compacted)
    SELECT hour, node, bucket, sum(attempts), sum(duration_ms_sum), true
    FROM gone
    GROUP BY hour, node, bucket
    ORDER BY hour, node, bucket
    ON CONFLICT (hour, node, bucket) WHERE compacted DO UPDATE
        SET attempts = t.attempts + excluded.attempts,
            duration_ms_sum = t.duration_ms_sum + excluded.duration_ms_sum;
    GET DIAGNOSTICS n = ROW_COUNT;
    merged := merged + n;
    WITH gone AS (DELETE FROM node_entries_5min WHERE NOT compacted RETURNING *)
    INSERT INTO node_entries_5min AS t (slot, node, bucket, attempts, failed_attempts, duration_ms_sum, compacted)
    SELECT slot, node, bucket, sum(attempts), sum(failed_attempts), sum(duration_ms_sum), true
    FROM gone
    GROUP BY slot, node, bucket
    ORDER BY slot, node, bucket
    ON CONFLICT (slot, node, bucket) WHERE compacted DO UPDATE
        SET attempts = t.attempts + excluded.attempts,
            failed_attempts = t.failed_attempts + excluded.failed_attempts,
            duration_ms_sum = t.duration_ms_sum + excluded.duration_ms_sum;
    GET DIAGNOSTICS n = ROW_COUNT;
    merged := merged + n;
    RETURN merged;
END;
$$;

CREATE OR REPLACE FUNCTION rebuild_rollups() RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    hour_start timestamptz;
    counted bigint := 0;
    n bigint;
BEGIN
    TRUNCATE execution_rollups_hourly, execution_durations_hourly, node_rollups_hourly,
             node_durations_hourly, node_entries_5min;
    FOR hour_start IN
        SELECT DISTINCT date_trunc('hour', l.started_at, 'UTC') FROM execution_logs AS l ORDER BY 1
    LOOP
        SELECT rollup_apply(array_agg(1), array_agg(l.started_at), array_agg(l.status::text),
                            array_agg(l.total_duration_ms), array_agg(l.input_tokens),
                            array_agg(l.output_tokens), array_agg(l.total_tokens),
                            array_agg(l.execution_trace), array_agg(l.failed_nodes))
        INTO n
        FROM execution_logs AS l
        WHERE l.started_at >= hour_start AND l.started_at < hour_start + interval '1 hour';
        counted := counted + n;
    END LOOP;
    RETURN counted;
END;
$$;

CREATE OR REPLACE FUNCTION tg_execution_logs__rollup_truncate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    TRUNCATE execution_rollups_hourly, execution_durations_hourly, node_rollups_hourly,
             node_durations_hourly, node_entries_5min;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION maintain_execution_logs(p_retention_days integer DEFAULT 30, p_rollup_retention_days integer DEFAULT 400, p_ahead_days integer DEFAULT 3) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    SET lock_timeout TO '1s'
    AS $_$
DECLARE
    today date := (now() AT TIME ZONE 'UTC')::date;
    cutoff timestamptz;
    rollup_cutoff timestamptz;
    d date;
    part record;
    created text[] := '{}';
    dropped text[] := '{}';
    timed_out text[] := '{}';
    default_rows bigint;
    rollup_rows bigint := 0;
    n bigint;
BEGIN
    IF p_retention_days IS NULL OR p_retention_days < 1 THEN
        RAISE EXCEPTION 'maintain_execution_logs: the retention must be 1 day or more, got %',
            coalesce(p_retention_days::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_rollup_retention_days IS NULL OR p_rollup_retention_days < p_retention_days THEN
        RAISE EXCEPTION 'maintain_execution_logs: the rollups'' retention must be at least '
                        'the rows'' (% days), got %',
            p_retention_days, coalesce(p_rollup_retention_days::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_ahead_days IS NULL OR p_ahead_days NOT BETWEEN 0 AND 60 THEN
        RAISE EXCEPTION 'maintain_execution_logs: the days ahead must be between 0 and 60, got %',
            coalesce(p_ahead_days::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('execution_monitor.maintain_execution_logs')) THEN
        RETURN jsonb_build_object('skipped', true);
    END IF;
    cutoff := now() - make_interval(days => p_retention_days);
    rollup_cutoff := now() - make_interval(days => p_rollup_retention_days);

    FOR d IN SELECT g::date FROM generate_series(today, today + p_ahead_days, interval '1 day') AS g
    LOOP
        BEGIN
            IF create_execution_logs_partition(d) THEN
                created := created || ('execution_logs_p' || to_char(d, 'YYYYMMDD'));
            END IF;
        EXCEPTION WHEN lock_not_available THEN
            timed_out := timed_out || ('execution_logs_p' || to_char(d, 'YYYYMMDD'));
        END;
    END LOOP;

    -- The days wholly before the cutoff; only partitions of our own naming.
    FOR part IN
        SELECT c.relname, b.day_end
        FROM pg_inherits AS i
        JOIN pg_class AS c ON c.oid = i.inhrelid
        CROSS JOIN LATERAL (
            SELECT substring(pg_get_expr(c.relpartbound, c.oid)
                             FROM 'TO \(''([^'']+)''\)')::timestamptz AS day_end
        ) AS b
        WHERE i.inhparent = 'execution_logs'::regclass
          AND c.relname ~ '^execution_logs_p[0-9]{8}$'
          AND b.day_end <= cutoff
        ORDER BY b.day_end
    LOOP
        BEGIN
            -- in the writers' order, as create_execution_logs_partition does
            LOCK TABLE conversations IN SHARE ROW EXCLUSIVE MODE;
            EXECUTE format('DROP TABLE execution_monitor.%I', part.relname);
            dropped := dropped || part.relname::text;
        EXCEPTION WHEN lock_not_available THEN
            timed_out := timed_out || part.relname::text;
        END;
    END LOOP;

    -- From the partition itself, as a drop: the table's triggers (rollups) do not fire.
    DELETE FROM execution_logs_default AS l WHERE l.started_at < cutoff;
    GET DIAGNOSTICS default_rows = ROW_COUNT;

    DELETE FROM execution_rollups_hourly AS r WHERE r.hour < rollup_cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    rollup_rows := rollup_rows + n;
    DELETE FROM execution_durations_hourly AS r WHERE r.hour < rollup_cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    rollup_rows := rollup_rows + n;
    DELETE FROM node_rollups_hourly AS r WHERE r.hour < rollup_cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    rollup_rows := rollup_rows + n;
    DELETE FROM node_durations_hourly AS r WHERE r.hour < rollup_cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    rollup_rows := rollup_rows + n;
    -- The 5-minute slots stand for rows at a window's edge: kept as long as the rows
    -- of their day may be.
    DELETE FROM node_entries_5min AS r WHERE r.slot < date_trunc('day', cutoff, 'UTC');
    GET DIAGNOSTICS n = ROW_COUNT;
    rollup_rows := rollup_rows + n;

    RETURN jsonb_build_object(
        'created', to_jsonb(created),
        'dropped', to_jsonb(dropped),
        'timed_out', to_jsonb(timed_out),
        'default_rows_deleted', default_rows,
        'rollup_rows_deleted', rollup_rows);
END;
$_$;

-- Each edge: whole hours from the hourly rollups, whole slots of the partial hour from
-- node_entries_5min, rows for the partial slot. Without JIT: the planner takes each
-- trace for 100 entries (jsonb_array_elements' estimate), so half an hour of edge rows
-- at 750,000 runs a day was costed above jit_optimize_above_cost, and compiling the
-- query took 900 ms of a 1.2 s read; the read handles a few thousand rows, which JIT
-- never repays.
CREATE OR REPLACE FUNCTION node_performance_between(p_since timestamptz, p_until timestamptz)
RETURNS TABLE(node text, runs bigint, failures bigint, failure_rate numeric, avg_ms numeric,
              p50_ms numeric, p95_ms numeric, p99_ms numeric)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
SET jit = off
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    -- the window from p_since on, minus the one from p_until on
    s record := node_rollup_edge(coalesce(p_since, '-infinity'));
    u record := node_rollup_edge(coalesce(p_until, 'infinity'));
BEGIN
    RETURN QUERY
    WITH edge AS MATERIALIZED (
        -- Each edge by its own constant range (an index range scan): a join of the
        -- rows to a list of ranges is planned as a scan of the table.
        SELECT s.raw_sign AS sign, t.node, t.status, t.duration_ms
        FROM execution_logs AS l, trace_node_entries(l.execution_trace) AS t
        WHERE l.started_at >= s.raw_lo AND l.started_at < s.raw_hi
        UNION ALL
        SELECT -u.raw_sign, t.node, t.status, t.duration_ms
        FROM execution_logs AS l, trace_node_entries(l.execution_trace) AS t
        WHERE l.started_at >= u.raw_lo AND l.started_at < u.raw_hi
    ),
    slots AS MATERIALIZED (
        SELECT s.fine_sign AS sign, f.node, f.bucket, f.attempts, f.failed_attempts,
               f.duration_ms_sum
        FROM node_entries_5min AS f
        WHERE f.slot >= s.fine_lo AND f.slot < s.fine_hi
        UNION ALL
        SELECT -u.fine_sign, f.node, f.bucket, f.attempts, f.failed_attempts,
               f.duration_ms_sum
        FROM node_entries_5min AS f
        WHERE f.slot >= u.fine_lo AND f.slot < u.fine_hi
    ),
    counts AS (
        SELECT c.node, sum(c.attempts) AS attempts, sum(c.failed_attempts) AS failed_attempts
        FROM (
            SELECT r.node, r.attempts, r.failed_attempts
            FROM node_rollups_hourly AS r
            WHERE r.hour >= s.hour_from AND r.hour < u.hour_from
            UNION ALL
            SELECT f.node, f.sign * f.attempts, f.sign * f.failed_attempts
            FROM slots AS f
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
            WHERE r.hour >= s.hour_from AND r.hour < u.hour_from
            UNION ALL
            SELECT f.node, f.bucket, f.sign * f.attempts, f.sign * f.duration_ms_sum
            FROM slots AS f
            WHERE f.bucket IS NOT NULL
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

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
CREATE OR REPLACE FUNCTION node_performance_between(p_since timestamp with time zone, p_until timestamp with time zone) RETURNS TABLE(node text, runs bigint, failures bigint, failure_rate numeric, avg_ms numeric, p50_ms numeric, p95_ms numeric, p99_ms numeric)
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode TO 'force_custom_plan'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
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

CREATE OR REPLACE FUNCTION maintain_execution_logs(p_retention_days integer DEFAULT 30, p_rollup_retention_days integer DEFAULT 400, p_ahead_days integer DEFAULT 3) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    SET lock_timeout TO '1s'
    AS $_$
DECLARE
    today date := (now() AT TIME ZONE 'UTC')::date;
    cutoff timestamptz;
    rollup_cutoff timestamptz;
    d date;
    part record;
    created text[] := '{}';
    dropped text[] := '{}';
    timed_out text[] := '{}';
    default_rows bigint;
    rollup_rows bigint := 0;
    n bigint;
BEGIN
    IF p_retention_days IS NULL OR p_retention_days < 1 THEN
        RAISE EXCEPTION 'maintain_execution_logs: the retention must be 1 day or more, got %',
            coalesce(p_retention_days::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_rollup_retention_days IS NULL OR p_rollup_retention_days < p_retention_days THEN
        RAISE EXCEPTION 'maintain_execution_logs: the rollups'' retention must be at least '
                        'the rows'' (% days), got %',
            p_retention_days, coalesce(p_rollup_retention_days::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_ahead_days IS NULL OR p_ahead_days NOT BETWEEN 0 AND 60 THEN
        RAISE EXCEPTION 'maintain_execution_logs: the days ahead must be between 0 and 60, got %',
            coalesce(p_ahead_days::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('execution_monitor.maintain_execution_logs')) THEN
        RETURN jsonb_build_object('skipped', true);
    END IF;
    cutoff := now() - make_interval(days => p_retention_days);
    rollup_cutoff := now() - make_interval(days => p_rollup_retention_days);

    FOR d IN SELECT g::date FROM generate_series(today, today + p_ahead_days, interval '1 day') AS g
    LOOP
        BEGIN
            IF create_execution_logs_partition(d) THEN
                created := created || ('execution_logs_p' || to_char(d, 'YYYYMMDD'));
            END IF;
        EXCEPTION WHEN lock_not_available THEN
            timed_out := timed_out || ('execution_logs_p' || to_char(d, 'YYYYMMDD'));
        END;
    END LOOP;

    -- The days wholly before the cutoff; only partitions of our own naming.
    FOR part IN
        SELECT c.relname, b.day_end
        FROM pg_inherits AS i
        JOIN pg_class AS c ON c.oid = i.inhrelid
        CROSS JOIN LATERAL (
            SELECT substring(pg_get_expr(c.relpartbound, c.oid)
                             FROM 'TO \(''([^'']+)''\)')::timestamptz AS day_end
        ) AS b
        WHERE i.inhparent = 'execution_logs'::regclass
          AND c.relname ~ '^execution_logs_p[0-9]{8}$'
          AND b.day_end <= cutoff
        ORDER BY b.day_end
    LOOP
        BEGIN
            -- in the writers' order, as create_execution_logs_partition does
            LOCK TABLE conversations IN SHARE ROW EXCLUSIVE MODE;
            EXECUTE format('DROP TABLE execution_monitor.%I', part.relname);
            dropped := dropped || part.relname::text;
        EXCEPTION WHEN lock_not_available THEN
            timed_out := timed_out || part.relname::text;
        END;
    END LOOP;

    -- From the partition itself, as a drop: the table's triggers (rollups) do not fire.
    DELETE FROM execution_logs_default AS l WHERE l.started_at < cutoff;
    GET DIAGNOSTICS default_rows = ROW_COUNT;

    DELETE FROM execution_rollups_hourly AS r WHERE r.hour < rollup_cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    rollup_rows := rollup_rows + n;
    DELETE FROM execution_durations_hourly AS r WHERE r.hour < rollup_cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    rollup_rows := rollup_rows + n;
    DELETE FROM node_rollups_hourly AS r WHERE r.hour < rollup_cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    rollup_rows := rollup_rows + n;
    DELETE FROM node_durations_hourly AS r WHERE r.hour < rollup_cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    rollup_rows := rollup_rows + n;

    RETURN jsonb_build_object(
        'created', to_jsonb(created),
        'dropped', to_jsonb(dropped),
        'timed_out', to_jsonb(timed_out),
        'default_rows_deleted', default_rows,
        'rollup_rows_deleted', rollup_rows);
END;
$_$;

CREATE OR REPLACE FUNCTION tg_execution_logs__rollup_truncate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    TRUNCATE execution_rollups_hourly, execution_durations_hourly, node_rollups_hourly,
             node_durations_hourly;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION rebuild_rollups() RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    hour_start timestamptz;
    counted bigint := 0;
    n bigint;
BEGIN
    TRUNCATE execution_rollups_hourly, execution_durations_hourly, node_rollups_hourly,
             node_durations_hourly;
    FOR hour_start IN
        SELECT DISTINCT date_trunc('hour', l.started_at, 'UTC') FROM execution_logs AS l ORDER BY 1
    LOOP
        SELECT rollup_apply(array_agg(1), array_agg(l.started_at), array_agg(l.status::text),
                            array_agg(l.total_duration_ms), array_agg(l.input_tokens),
                            array_agg(l.output_tokens), array_agg(l.total_tokens),
                            array_agg(l.execution_trace), array_agg(l.failed_nodes))
        INTO n
        FROM execution_logs AS l
        WHERE l.started_at >= hour_start AND l.started_at < hour_start + interval '1 hour';
        counted := counted + n;
    END LOOP;
    RETURN counted;
END;
$$;

CREATE OR REPLACE FUNCTION compact_rollups() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET lock_timeout TO '2s'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    merged bigint := 0;
    n bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('execution_monitor.compact_rollups')) THEN
        RETURN 0;
    END IF;
    WITH gone AS (DELETE FROM execution_rollups_hourly WHERE NOT compacted RETURNING *)
    INSERT INTO execution_rollups_hourly AS t (hour, runs, completed, failed, partial, running, interrupted, input_tokens, output_tokens, total_tokens, compacted)
    SELECT hour, sum(runs), sum(completed), sum(failed), sum(partial), sum(running), sum(interrupted), sum(input_tokens), sum(output_tokens), sum(total_tokens), true
    FROM gone
    GROUP BY hour
    ORDER BY hour
    ON CONFLICT (hour) WHERE compacted DO UPDATE
        SET runs = t.runs + excluded.runs,
            completed = t.completed + excluded.completed,
            failed = t.failed + excluded.failed,
            partial = t.partial + excluded.partial,
            running = t.running + excluded.running,
            interrupted = t.interrupted + excluded.interrupted,
            input_tokens = t.input_tokens + excluded.input_tokens,
            output_tokens = t.output_tokens + excluded.output_tokens,
            total_tokens = t.total_tokens + excluded.total_tokens;
    GET DIAGNOSTICS n = ROW_COUNT;
    merged := merged + n;

    WITH gone AS (DELETE FROM execution_durations_hourly WHERE NOT compacted RETURNING *)
    INSERT INTO execution_durations_hourly AS t (hour, bucket, runs, duration_ms_sum, compacted)
    SELECT hour, bucket, sum(runs), sum(duration_ms_sum), true
    FROM gone
    GROUP BY hour, bucket
    ORDER BY hour, bucket
    ON CONFLICT (hour, bucket) WHERE compacted DO UPDATE
        SET runs = t.runs + excluded.runs,
            duration_ms_sum = t.duration_ms_sum + excluded.duration_ms_sum;
    GET DIAGNOSTICS n = ROW_COUNT;
    merged := merged + n;

    WITH gone AS (DELETE FROM node_rollups_hourly WHERE NOT compacted RETURNING *)
    INSERT INTO node_rollups_hourly AS t (hour, node, attempts, failed_attempts, failed_runs, input_tokens, output_tokens, total_tokens, compacted)
    SELECT hour, node, sum(attempts), sum(failed_attempts), sum(failed_runs), sum(input_tokens), sum(output_tokens), sum(total_tokens), true
    FROM gone
    GROUP BY hour, node
    ORDER BY hour, node
    ON CONFLICT (hour, node) WHERE compacted DO UPDATE
        SET attempts = t.attempts + excluded.attempts,
            failed_attempts = t.failed_attempts + excluded.failed_attempts,
            failed_runs = t.failed_runs + excluded.failed_runs,
            input_tokens = t.input_tokens + excluded.input_tokens,
            output_tokens = t.output_tokens + excluded.output_tokens,
            total_tokens = t.total_tokens + excluded.total_tokens;
    GET DIAGNOSTICS n = ROW_COUNT;
    merged := merged + n;

    WITH gone AS (DELETE FROM node_durations_hourly WHERE NOT compacted RETURNING *)
    INSERT INTO node_durations_hourly AS t (hour, node, bucket, attempts, duration_ms_sum, compacted)
    SELECT hour, node, bucket, sum(attempts), sum(duration_ms_sum), true
    FROM gone
    GROUP BY hour, node, bucket
    ORDER BY hour, node, bucket
    ON CONFLICT (hour, node, bucket) WHERE compacted DO UPDATE
        SET attempts = t.attempts + excluded.attempts,
            duration_ms_sum = t.duration_ms_sum + excluded.duration_ms_sum;
    GET DIAGNOSTICS n = ROW_COUNT;
    merged := merged + n;
    RETURN merged;
END;
$$;

CREATE OR REPLACE FUNCTION rollup_apply(p_signs integer[], p_started_at timestamp with time zone[], p_statuses text[], p_durations integer[], p_input_tokens integer[], p_output_tokens integer[], p_total_tokens integer[], p_traces jsonb[], p_failed_nodes jsonb[]) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    WITH r AS MATERIALIZED (
        SELECT u.sign, date_trunc('hour', u.started_at, 'UTC') AS hour, u.status, u.duration,
               u.input_tokens, u.output_tokens, u.total_tokens, u.trace, u.failed
        FROM unnest(p_signs, p_started_at, p_statuses, p_durations, p_input_tokens,
                    p_output_tokens, p_total_tokens, p_traces, p_failed_nodes)
             AS u(sign, started_at, status, duration, input_tokens, output_tokens,
                  total_tokens, trace, failed)
    ),
    runs AS (
        INSERT INTO execution_rollups_hourly (
            hour, runs, completed, failed, partial, running, interrupted, input_tokens,
            output_tokens, total_tokens)
        SELECT hour, sum(sign),
               coalesce(sum(sign) FILTER (WHERE status = 'completed'), 0),
               coalesce(sum(sign) FILTER (WHERE status = 'failed'), 0),
               coalesce(sum(sign) FILTER (WHERE status = 'partial'), 0),
               coalesce(sum(sign) FILTER (WHERE status = 'running'), 0),
               coalesce(sum(sign) FILTER (WHERE status = 'interrupted'), 0),
               coalesce(sum(sign * input_tokens::bigint), 0),
               coalesce(sum(sign * output_tokens::bigint), 0),
               coalesce(sum(sign * total_tokens::bigint), 0)
        FROM r
        GROUP BY hour
        ORDER BY hour
    ),
    run_durations AS (
        INSERT INTO execution_durations_hourly (hour, bucket, runs, duration_ms_sum)
        SELECT hour, duration_bucket(duration), sum(sign), sum(sign * duration::bigint)
        FROM r
        WHERE duration IS NOT NULL
        GROUP BY 1, 2
        HAVING sum(sign) <> 0
        ORDER BY 1, 2
    ),
    entries AS MATERIALIZED (
        SELECT r.sign, r.hour, e.*
        FROM r, trace_node_entries(r.trace) AS e
        WHERE r.trace IS NOT NULL
    ),
    node_counts AS (
        SELECT hour, node, sign AS attempts,
               CASE WHEN status = 'failed' THEN sign ELSE 0 END AS failed_attempts,
               0 AS failed_runs,
               sign * coalesce(input_tokens, 0) AS input_tokens,
               sign * coalesce(output_tokens, 0) AS output_tokens,
               sign * coalesce(total_tokens, 0) AS total_tokens
        FROM entries
        UNION ALL
        -- failed_nodes_breakdown: a node once per failed or partial run naming it
        SELECT r.hour, f.node, 0, 0, r.sign, 0, 0, 0
        FROM r, LATERAL (SELECT DISTINCT n.value AS node
                         FROM jsonb_array_elements_text(r.failed) AS n) AS f
        WHERE r.status IN ('failed', 'partial') AND jsonb_typeof(r.failed) = 'array'
    ),
    nodes AS (
        INSERT INTO node_rollups_hourly (
            hour, node, attempts, failed_attempts, failed_runs, input_tokens, output_tokens,
            total_tokens)
        SELECT hour, node, sum(attempts), sum(failed_attempts), sum(failed_runs),
               sum(input_tokens), sum(output_tokens), sum(total_tokens)
        FROM node_counts
        GROUP BY hour, node
        ORDER BY hour, node
    )
    INSERT INTO node_durations_hourly (hour, node, bucket, attempts, duration_ms_sum)
    SELECT hour, node, duration_bucket(duration_ms), sum(sign), sum(sign * duration_ms)
    FROM entries
    WHERE duration_ms IS NOT NULL
    GROUP BY 1, 2, 3
    HAVING sum(sign) <> 0
    ORDER BY 1, 2, 3;
    RETURN coalesce(cardinality(p_signs), 0);
END;
$$;

DROP FUNCTION node_rollup_edge(timestamptz);
DROP FUNCTION rollup_slot(timestamptz);
DROP TABLE node_entries_5min;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;
