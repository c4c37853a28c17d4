-- migrate:up
-- A statement of finishes of started runs (the writer's usual batch when a run outlasts
-- the flush interval) replaces running rows that each added one run and one running run
-- to their hour and nothing else (no duration, trace, tokens or failed nodes: what a
-- statement of starts alone adds, migration 20261207000403). Those are taken back with
-- one INSERT per hour, and rollup_apply reads the new rows alone: the old ones were half
-- of its rows, and its array building, unnesting and grouping went through them for
-- nothing. Any other statement (a stale close replaced, a retried finish, psql) goes
-- through rollup_apply with both sides, as before. The hour then gets two delta rows,
-- which the reads add up and compact_rollups() folds as any others.
CREATE OR REPLACE FUNCTION execution_monitor.tg_execution_logs__rollup_update() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    IF NOT EXISTS (
        SELECT FROM old_rows AS o
        WHERE o.status <> 'running' OR o.execution_trace IS NOT NULL
           OR o.total_duration_ms IS NOT NULL OR o.input_tokens IS NOT NULL
           OR o.output_tokens IS NOT NULL OR o.total_tokens IS NOT NULL
    ) THEN
        INSERT INTO execution_rollups_hourly (hour, runs, running)
        SELECT date_trunc('hour', o.started_at, 'UTC'), -count(*), -count(*)
        FROM old_rows AS o
        GROUP BY 1
        ORDER BY 1;
        PERFORM rollup_apply(array_agg(1), array_agg(n.started_at), array_agg(n.status::text),
                             array_agg(n.total_duration_ms), array_agg(n.input_tokens),
                             array_agg(n.output_tokens), array_agg(n.total_tokens),
                             array_agg(n.execution_trace), array_agg(n.failed_nodes))
        FROM new_rows AS n
        HAVING count(*) > 0;
        RETURN NULL;
    END IF;
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

-- migrate:down
CREATE OR REPLACE FUNCTION execution_monitor.tg_execution_logs__rollup_update()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
AS $function$
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
$function$

;
