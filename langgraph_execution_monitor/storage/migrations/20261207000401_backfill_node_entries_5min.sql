-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- The 5-minute node rollups of the rows written before the write path kept them: every
-- trace expanded once (35 s for 1,600,000 runs on a busy 2-core machine: plan 3-4
-- minutes per 10 million). Writers wait meanwhile (SHARE lock): a run written during the
-- backfill would be counted by its trigger and again here, or by neither. A writer's
-- batch that waits past its command timeout is retried (README, "When writes fail").
LOCK TABLE execution_logs IN SHARE MODE;
TRUNCATE node_entries_5min;
INSERT INTO node_entries_5min (
    slot, node, bucket, attempts, failed_attempts, duration_ms_sum, compacted)
SELECT rollup_slot(l.started_at), t.node,
       CASE WHEN t.duration_ms IS NOT NULL THEN duration_bucket(t.duration_ms) END,
       count(*), count(*) FILTER (WHERE t.status = 'failed'),
       coalesce(sum(t.duration_ms), 0), true
FROM execution_logs AS l, trace_node_entries(l.execution_trace) AS t
GROUP BY 1, 2, 3;
ANALYZE node_entries_5min;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
TRUNCATE node_entries_5min;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;
