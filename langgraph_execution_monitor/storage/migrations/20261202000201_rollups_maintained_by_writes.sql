-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- The write path keeps the hourly rollups: statement triggers on execution_logs add what
-- the statement's new rows contribute and subtract what its old rows did, from the
-- transition tables, in the writing statement's own transaction. So:
--  * a retried batch, or a finish arriving twice, changes no row (the upsert's WHERE)
--    and so no rollup: nothing counts twice;
--  * a finish before its start, a real finish replacing a stale close, a start arriving
--    after its finish: each changes a row from one state to another, and the rollups
--    move by exactly the difference (old row out, new row in), whatever the order;
--  * two writer connections writing the same run: the second upsert waits for the first
--    one's row lock, then sees the committed row, and its transition tables hold the
--    row versions it really replaced, so the deltas add up (a snapshot read taken
--    before the upsert would not see the other writer's row);
--  * every writer (log_batch v1-v3, log_start/log_finish, close_stale_executions, a
--    psql UPDATE or DELETE) is covered, not only the newest function.
-- Rollup rows are upserted in key order within each statement. A bulk load with triggers
-- disabled (session_replication_role = replica) must call rebuild_rollups() after.
-- Dropping or detaching a partition (retention) fires no trigger: rollups outlive rows.

-- Adds p_signs[i] (+1 or -1) times the contribution of each row to the rollups; returns
-- how many rows it applied.
CREATE FUNCTION rollup_apply(
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
SET search_path = pg_catalog, execution_monitor, public
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

CREATE FUNCTION tg_execution_logs__rollup_insert() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, execution_monitor, public
AS $$
BEGIN
    PERFORM rollup_apply(array_agg(1), array_agg(n.started_at), array_agg(n.status::text),
                         array_agg(n.total_duration_ms), array_agg(n.input_tokens),
                         array_agg(n.output_tokens), array_agg(n.total_tokens),
                         array_agg(n.execution_trace), array_agg(n.failed_nodes))
    FROM new_rows AS n
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

CREATE FUNCTION tg_execution_logs__rollup_update() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, execution_monitor, public
AS $$
BEGIN
    PERFORM rollup_apply(array_agg(c.sign), array_agg(c.started_at), array_agg(c.status::text),
                         array_agg(c.total_duration_ms), array_agg(c.input_tokens),
                         array_agg(c.output_tokens), array_agg(c.total_tokens),
                         array_agg(c.execution_trace), array_agg(c.failed_nodes))
    FROM (SELECT 1 AS sign, n.started_at, n.status, n.total_duration_ms, n.input_tokens,
                 n.output_tokens, n.total_tokens, n.execution_trace, n.failed_nodes
          FROM new_rows AS n
          UNION ALL
          SELECT -1, o.started_at, o.status, o.total_duration_ms, o.input_tokens,
                 o.output_tokens, o.total_tokens, o.execution_trace, o.failed_nodes
          FROM old_rows AS o) AS c
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

CREATE FUNCTION tg_execution_logs__rollup_delete() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, execution_monitor, public
AS $$
BEGIN
    PERFORM rollup_apply(array_agg(-1), array_agg(o.started_at), array_agg(o.status::text),
                         array_agg(o.total_duration_ms), array_agg(o.input_tokens),
                         array_agg(o.output_tokens), array_agg(o.total_tokens),
                         array_agg(o.execution_trace), array_agg(o.failed_nodes))
    FROM old_rows AS o
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

CREATE FUNCTION tg_execution_logs__rollup_truncate() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, execution_monitor, public
AS $$
BEGIN
    TRUNCATE execution_rollups_hourly, execution_durations_hourly, node_rollups_hourly,
             node_durations_hourly;
    RETURN NULL;
END;
$$;

CREATE TRIGGER execution_logs_rollup_insert
    AFTER INSERT ON execution_logs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tg_execution_logs__rollup_insert();
CREATE TRIGGER execution_logs_rollup_update
    AFTER UPDATE ON execution_logs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tg_execution_logs__rollup_update();
CREATE TRIGGER execution_logs_rollup_delete
    AFTER DELETE ON execution_logs
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tg_execution_logs__rollup_delete();
CREATE TRIGGER execution_logs_rollup_truncate
    AFTER TRUNCATE ON execution_logs
    FOR EACH STATEMENT EXECUTE FUNCTION tg_execution_logs__rollup_truncate();

-- The rollups computed again from the rows, an hour of rows at a time (the backfill, and
-- after a bulk load that bypassed the triggers). The TRUNCATE's lock comes first: a writer
-- still adding to the old rollups commits before the rows are read, one that writes later
-- waits and adds its difference to the rebuilt ones. Returns the rows counted.
CREATE FUNCTION rebuild_rollups() RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, execution_monitor, public
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

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
DROP FUNCTION rebuild_rollups();
DROP TRIGGER execution_logs_rollup_truncate ON execution_logs;
DROP TRIGGER execution_logs_rollup_delete ON execution_logs;
DROP TRIGGER execution_logs_rollup_update ON execution_logs;
DROP TRIGGER execution_logs_rollup_insert ON execution_logs;
DROP FUNCTION tg_execution_logs__rollup_truncate();
DROP FUNCTION tg_execution_logs__rollup_delete();
DROP FUNCTION tg_execution_logs__rollup_update();
DROP FUNCTION tg_execution_logs__rollup_insert();
DROP FUNCTION rollup_apply(integer[], timestamptz[], text[], integer[], integer[], integer[],
                           integer[], jsonb[], jsonb[]);

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;
