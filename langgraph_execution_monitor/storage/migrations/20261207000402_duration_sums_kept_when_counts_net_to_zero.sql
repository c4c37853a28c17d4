-- migrate:up
-- The duration histograms dropped a batch's group whose count netted to zero: a run
-- closed as stale whose real finish falls in the stale close's duration bucket takes
-- one run out of the bucket and puts one back, and the group's duration sum (the real
-- duration minus the stale one) was lost with it, so averages kept the stale duration.
-- Groups are now kept while their count or their sum is not zero. (Rollups already
-- off by it are put right by `SELECT execution_monitor.rebuild_rollups()`.)
CREATE OR REPLACE FUNCTION execution_monitor.rollup_apply(p_signs integer[], p_started_at timestamp with time zone[], p_statuses text[], p_durations integer[], p_input_tokens integer[], p_output_tokens integer[], p_total_tokens integer[], p_traces jsonb[], p_failed_nodes jsonb[]) RETURNS integer
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
        -- A run whose stale close is replaced by its real finish in the same bucket
        -- nets the count to zero, not the sum: keep the group for its sum.
        HAVING sum(sign) <> 0 OR sum(sign * duration::bigint) <> 0
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
    HAVING sum(attempts) <> 0 OR sum(duration_ms_sum) <> 0
    ORDER BY 1, 2, 3;
    RETURN coalesce(cardinality(p_signs), 0);
END;
$$;

-- migrate:down
CREATE OR REPLACE FUNCTION execution_monitor.rollup_apply(p_signs integer[], p_started_at timestamp with time zone[], p_statuses text[], p_durations integer[], p_input_tokens integer[], p_output_tokens integer[], p_total_tokens integer[], p_traces jsonb[], p_failed_nodes jsonb[]) RETURNS integer
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
