-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- The rollups without a hot row. The write path upserted one row per hour (and per hour
-- and node, and bucket) in every writing transaction: the current hour's rows were
-- locked by every batch until its commit, so writers took turns on them as they did on
-- the global lock, and a session left open after a write (`SELECT log_start(...)` in a
-- transaction) stalled every writer. Now the write path only appends deltas (rows with
-- compacted = false): an INSERT never waits for another writer's uncommitted row. The
-- reads already add up every row of a key (sum ... GROUP BY), so their answers do not
-- change; compact_rollups() folds the deltas into one compacted row per key now and
-- then (the writer's maintenance), so that the reads stay short.
--
-- Rows present before this migration are compacted ones. The unique keys hold for the
-- compacted rows only; the reads by hour get an index on hour, and the compaction one on
-- the deltas.
ALTER TABLE execution_rollups_hourly ADD COLUMN compacted boolean NOT NULL DEFAULT true;
ALTER TABLE execution_rollups_hourly ALTER COLUMN compacted SET DEFAULT false;
ALTER TABLE execution_rollups_hourly DROP CONSTRAINT execution_rollups_hourly_pkey;
CREATE UNIQUE INDEX execution_rollups_hourly_compacted ON execution_rollups_hourly (hour) WHERE compacted;
CREATE INDEX execution_rollups_hourly_hour ON execution_rollups_hourly (hour);
CREATE INDEX execution_rollups_hourly_deltas ON execution_rollups_hourly (hour) WHERE NOT compacted;

ALTER TABLE execution_durations_hourly ADD COLUMN compacted boolean NOT NULL DEFAULT true;
ALTER TABLE execution_durations_hourly ALTER COLUMN compacted SET DEFAULT false;
ALTER TABLE execution_durations_hourly DROP CONSTRAINT execution_durations_hourly_pkey;
CREATE UNIQUE INDEX execution_durations_hourly_compacted ON execution_durations_hourly (hour, bucket) WHERE compacted;
CREATE INDEX execution_durations_hourly_hour ON execution_durations_hourly (hour);
CREATE INDEX execution_durations_hourly_deltas ON execution_durations_hourly (hour) WHERE NOT compacted;

ALTER TABLE node_rollups_hourly ADD COLUMN compacted boolean NOT NULL DEFAULT true;
ALTER TABLE node_rollups_hourly ALTER COLUMN compacted SET DEFAULT false;
ALTER TABLE node_rollups_hourly DROP CONSTRAINT node_rollups_hourly_key;
CREATE UNIQUE INDEX node_rollups_hourly_compacted ON node_rollups_hourly (hour, node) NULLS NOT DISTINCT WHERE compacted;
CREATE INDEX node_rollups_hourly_hour ON node_rollups_hourly (hour);
CREATE INDEX node_rollups_hourly_deltas ON node_rollups_hourly (hour) WHERE NOT compacted;

ALTER TABLE node_durations_hourly ADD COLUMN compacted boolean NOT NULL DEFAULT true;
ALTER TABLE node_durations_hourly ALTER COLUMN compacted SET DEFAULT false;
ALTER TABLE node_durations_hourly DROP CONSTRAINT node_durations_hourly_key;
CREATE UNIQUE INDEX node_durations_hourly_compacted ON node_durations_hourly (hour, node, bucket) NULLS NOT DISTINCT WHERE compacted;
CREATE INDEX node_durations_hourly_hour ON node_durations_hourly (hour);
CREATE INDEX node_durations_hourly_deltas ON node_durations_hourly (hour) WHERE NOT compacted;

-- As before, with INSERTs where there were upserts (the key order is kept: harmless).
CREATE OR REPLACE FUNCTION rollup_apply(
    p_signs integer[],
    p_started_at timestamptz[],
    p_statuses text[],
    p_durations integer[],
    p_input_tokens integer[],
    p_output_tokens integer[],
    p_total_tokens integer[],
    p_traces jsonb[],
    p_failed_nodes jsonb[]
)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, execution_monitor, pg_temp
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

-- Folds the deltas into the compacted rows, one per key; returns the compacted rows
-- written. Writers never touch a compacted row, so the compaction waits for none of
-- them, and they not for it; a delta committed meanwhile is folded next time. One
-- compaction at a time: a second caller returns 0 at once.
CREATE FUNCTION compact_rollups() RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET lock_timeout = '2s'
SET search_path = pg_catalog, execution_monitor, pg_temp
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
REVOKE EXECUTE ON FUNCTION compact_rollups() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION compact_rollups() TO execution_monitor_writer;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
-- One row per key again, then the keys.
SELECT compact_rollups();
DROP FUNCTION compact_rollups();
CREATE OR REPLACE FUNCTION rollup_apply(
    p_signs integer[],
    p_started_at timestamptz[],
    p_statuses text[],
    p_durations integer[],
    p_input_tokens integer[],
    p_output_tokens integer[],
    p_total_tokens integer[],
    p_traces jsonb[],
    p_failed_nodes jsonb[]
)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, execution_monitor, pg_temp
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
        INSERT INTO execution_rollups_hourly AS t (
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
        ON CONFLICT (hour) DO UPDATE
            SET runs = t.runs + excluded.runs,
                completed = t.completed + excluded.completed,
                failed = t.failed + excluded.failed,
                partial = t.partial + excluded.partial,
                running = t.running + excluded.running,
                interrupted = t.interrupted + excluded.interrupted,
                input_tokens = t.input_tokens + excluded.input_tokens,
                output_tokens = t.output_tokens + excluded.output_tokens,
                total_tokens = t.total_tokens + excluded.total_tokens
    ),
    run_durations AS (
        INSERT INTO execution_durations_hourly AS t (hour, bucket, runs, duration_ms_sum)
        SELECT hour, duration_bucket(duration), sum(sign), sum(sign * duration::bigint)
        FROM r
        WHERE duration IS NOT NULL
        GROUP BY 1, 2
        HAVING sum(sign) <> 0
        ORDER BY 1, 2
        ON CONFLICT (hour, bucket) DO UPDATE
            SET runs = t.runs + excluded.runs,
                duration_ms_sum = t.duration_ms_sum + excluded.duration_ms_sum
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
        INSERT INTO node_rollups_hourly AS t (
            hour, node, attempts, failed_attempts, failed_runs, input_tokens, output_tokens,
            total_tokens)
        SELECT hour, node, sum(attempts), sum(failed_attempts), sum(failed_runs),
               sum(input_tokens), sum(output_tokens), sum(total_tokens)
        FROM node_counts
        GROUP BY hour, node
        ORDER BY hour, node
        ON CONFLICT (hour, node) DO UPDATE
            SET attempts = t.attempts + excluded.attempts,
                failed_attempts = t.failed_attempts + excluded.failed_attempts,
                failed_runs = t.failed_runs + excluded.failed_runs,
                input_tokens = t.input_tokens + excluded.input_tokens,
                output_tokens = t.output_tokens + excluded.output_tokens,
                total_tokens = t.total_tokens + excluded.total_tokens
    )
    INSERT INTO node_durations_hourly AS t (hour, node, bucket, attempts, duration_ms_sum)
    SELECT hour, node, duration_bucket(duration_ms), sum(sign), sum(sign * duration_ms)
    FROM entries
    WHERE duration_ms IS NOT NULL
    GROUP BY 1, 2, 3
    HAVING sum(sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (hour, node, bucket) DO UPDATE
        SET attempts = t.attempts + excluded.attempts,
            duration_ms_sum = t.duration_ms_sum + excluded.duration_ms_sum;
    RETURN coalesce(cardinality(p_signs), 0);
END;
$$;

DROP INDEX node_durations_hourly_deltas;
DROP INDEX node_durations_hourly_hour;
DROP INDEX node_durations_hourly_compacted;
ALTER TABLE node_durations_hourly DROP COLUMN compacted;
ALTER TABLE node_durations_hourly ADD CONSTRAINT node_durations_hourly_key UNIQUE NULLS NOT DISTINCT (hour, node, bucket);

DROP INDEX node_rollups_hourly_deltas;
DROP INDEX node_rollups_hourly_hour;
DROP INDEX node_rollups_hourly_compacted;
ALTER TABLE node_rollups_hourly DROP COLUMN compacted;
ALTER TABLE node_rollups_hourly ADD CONSTRAINT node_rollups_hourly_key UNIQUE NULLS NOT DISTINCT (hour, node);

DROP INDEX execution_durations_hourly_deltas;
DROP INDEX execution_durations_hourly_hour;
DROP INDEX execution_durations_hourly_compacted;
ALTER TABLE execution_durations_hourly DROP COLUMN compacted;
ALTER TABLE execution_durations_hourly ADD CONSTRAINT execution_durations_hourly_pkey PRIMARY KEY (hour, bucket);

DROP INDEX execution_rollups_hourly_deltas;
DROP INDEX execution_rollups_hourly_hour;
DROP INDEX execution_rollups_hourly_compacted;
ALTER TABLE execution_rollups_hourly DROP COLUMN compacted;
ALTER TABLE execution_rollups_hourly ADD CONSTRAINT execution_rollups_hourly_pkey PRIMARY KEY (hour);

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;
