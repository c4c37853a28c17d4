-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- Hourly rollups of execution_logs, so that the stats and the per-node view read a few
-- rows per hour instead of scanning the window (the write path keeps them: next
-- migration). The hour is date_trunc('hour', started_at), in UTC for a timestamptz.
--
-- Durations are kept as a log-scale histogram: bucket 0 holds values below 1 ms, bucket
-- k >= 1 holds [2^((k-1)/8), 2^(k/8)) ms. Each bucket keeps its count and the exact sum
-- of its values, so averages are exact, and a percentile is read as percentile_cont does
-- (linear between the two order statistics around the rank), each order statistic
-- replaced by the mean of its bucket. Stated error: for values of 1 ms and more the
-- estimate is within a factor 2^(1/8) (9.05%) of the exact percentile_cont; below 1 ms,
-- within 1 ms; a bucket holding one distinct value gives it exactly.

-- Per hour: runs by status, and token sums.
CREATE TABLE execution_rollups_hourly (
    hour timestamptz PRIMARY KEY,
    runs bigint NOT NULL DEFAULT 0,
    completed bigint NOT NULL DEFAULT 0,
    failed bigint NOT NULL DEFAULT 0,
    partial bigint NOT NULL DEFAULT 0,
    running bigint NOT NULL DEFAULT 0,
    interrupted bigint NOT NULL DEFAULT 0,
    input_tokens bigint NOT NULL DEFAULT 0,
    output_tokens bigint NOT NULL DEFAULT 0,
    total_tokens bigint NOT NULL DEFAULT 0
);

-- Per hour: the histogram of total_duration_ms (runs that have one).
CREATE TABLE execution_durations_hourly (
    hour timestamptz NOT NULL,
    bucket smallint NOT NULL,
    runs bigint NOT NULL DEFAULT 0,
    duration_ms_sum bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, bucket)
);

-- Per hour and node (a trace entry's `node`, or a name in failed_nodes; NULL when an
-- entry has none, as the raw view groups it): trace entries (attempts), failed entries,
-- failed runs naming the node in failed_nodes (once per run), and the entries' tokens.
CREATE TABLE node_rollups_hourly (
    hour timestamptz NOT NULL,
    node text,
    attempts bigint NOT NULL DEFAULT 0,
    failed_attempts bigint NOT NULL DEFAULT 0,
    failed_runs bigint NOT NULL DEFAULT 0,
    input_tokens numeric NOT NULL DEFAULT 0,
    output_tokens numeric NOT NULL DEFAULT 0,
    total_tokens numeric NOT NULL DEFAULT 0,
    CONSTRAINT node_rollups_hourly_key UNIQUE NULLS NOT DISTINCT (hour, node)
);

-- Per hour and node: the histogram of the entries' execution_time_ms.
CREATE TABLE node_durations_hourly (
    hour timestamptz NOT NULL,
    node text,
    bucket smallint NOT NULL,
    attempts bigint NOT NULL DEFAULT 0,
    duration_ms_sum numeric NOT NULL DEFAULT 0,
    CONSTRAINT node_durations_hourly_key UNIQUE NULLS NOT DISTINCT (hour, node, bucket)
);

-- The histogram's bucket of a duration in ms (NULL for NULL).
CREATE FUNCTION duration_bucket(p_ms numeric) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN p_ms < 1 THEN 0
            ELSE least(1 + floor(8 * ln(p_ms::double precision) / ln(2::double precision)),
                       400)::smallint
       END;

-- A JSON number, or a string holding one, as numeric; anything else NULL (the write path
-- must not fail on a malformed trace entry).
CREATE FUNCTION jsonb_number(p_value jsonb) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE jsonb_typeof(p_value)
           WHEN 'number' THEN p_value::numeric
           WHEN 'string' THEN
               CASE WHEN p_value #>> '{}' ~ '^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]{1,4})?\s*$'
                    THEN (p_value #>> '{}')::numeric END
       END;

-- What one run contributes per node: its trace entries (node, status, execution_time_ms,
-- tokens), as node_performance has always read them.
CREATE FUNCTION trace_node_entries(p_trace jsonb)
RETURNS TABLE (node text, status text, duration_ms numeric, input_tokens numeric,
               output_tokens numeric, total_tokens numeric)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT e.value ->> 'node', e.value ->> 'status', jsonb_number(e.value -> 'execution_time_ms'),
           jsonb_number(e.value -> 'tokens' -> 'input'),
           jsonb_number(e.value -> 'tokens' -> 'output'),
           jsonb_number(e.value -> 'tokens' -> 'total')
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_trace) = 'array' THEN p_trace
                                   ELSE '[]'::jsonb END) AS e;
END;

-- The percentile (0..1) of a histogram given as parallel arrays sorted by bucket (counts
-- and sums per bucket), as percentile_cont reads it, within the error stated above.
CREATE FUNCTION histogram_percentile(p_counts numeric[], p_sums numeric[],
                                     p_fraction double precision)
RETURNS numeric
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, execution_monitor, public
AS $$
DECLARE
    n numeric := 0;
    position numeric;
    low_rank numeric;
    high_rank numeric;
    seen numeric := 0;
    low_value numeric;
    high_value numeric;
    i integer;
BEGIN
    FOR i IN 1 .. coalesce(cardinality(p_counts), 0) LOOP
        IF p_counts[i] > 0 THEN
            n := n + p_counts[i];
        END IF;
    END LOOP;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    position := p_fraction::numeric * (n - 1);  -- 0-based rank, as percentile_cont
    low_rank := floor(position);
    high_rank := ceil(position);
    FOR i IN 1 .. cardinality(p_counts) LOOP
        CONTINUE WHEN p_counts[i] <= 0;
        IF low_value IS NULL AND low_rank < seen + p_counts[i] THEN
            low_value := p_sums[i] / p_counts[i];
        END IF;
        IF high_rank < seen + p_counts[i] THEN
            high_value := p_sums[i] / p_counts[i];
            EXIT;
        END IF;
        seen := seen + p_counts[i];
    END LOOP;
    RETURN low_value + (position - low_rank) * (high_value - low_value);
END;
$$;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
DROP FUNCTION histogram_percentile(numeric[], numeric[], double precision);
DROP FUNCTION trace_node_entries(jsonb);
DROP FUNCTION jsonb_number(jsonb);
DROP FUNCTION duration_bucket(numeric);
DROP TABLE node_durations_hourly;
DROP TABLE node_rollups_hourly;
DROP TABLE execution_durations_hourly;
DROP TABLE execution_rollups_hourly;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;
