-- Every statement the Python side runs. Each starts with `-- name: <name>` and
-- a one-line description; app/storage/queries.py loads them once and wraps each
-- in a typed method. The logic lives in the SQL functions of db/migrations.

-- name: log_batch
-- Write a batch of start/finish events (parallel arrays); returns rows written.
SELECT execution_monitor.log_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

-- name: log_batch_v2
-- Write a batch with inputs and token totals (parallel arrays); returns rows written.
SELECT execution_monitor.log_batch_v2($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16);

-- name: log_batch_v3
-- Write a checked batch (log_batch_v2's arrays); returns rows written and stale closes replaced.
SELECT written, replaced_stale
FROM execution_monitor.log_batch_v3($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16);

-- name: heartbeat_executions
-- Stamp these runs as alive (their process still holds them); returns how many.
SELECT execution_monitor.heartbeat_executions($1);

-- name: list_executions
-- The filtered listing with its total, as the seed's JSON.
SELECT execution_monitor.list_executions($1, $2, $3, $4, $5, $6, $7)::text;

-- name: list_executions_v2
-- The listing for any window: keyset cursor, bounded offset, capped total, wider search.
SELECT execution_monitor.list_executions_v2(
    p_status => $1, p_user_id => $2, p_conversation_id => $3, p_hours => $4, p_limit => $5,
    p_offset => $6, p_q => $7, p_since => $8, p_until => $9, p_before => $10,
    p_user_id_prefix => $11)::text;

-- name: monitoring_limits
-- The read API's limits as the SQL checks see them (mirrors limits.py).
SELECT execution_monitor.monitoring_limits()::text;

-- name: get_execution
-- One execution with its trace, or NULL.
SELECT execution_monitor.get_execution($1)::text;

-- name: list_conversation_executions
-- A conversation's executions, oldest first.
SELECT execution_monitor.list_conversation_executions($1, $2, $3)::text;

-- name: execution_stats
-- Totals, success rate, durations and failed-node breakdown for a window.
SELECT execution_monitor.execution_stats($1)::text;

-- name: node_performance
-- Per-node runs, failures and duration percentiles for a window.
SELECT execution_monitor.node_performance_json($1)::text;

-- name: error_groups
-- Failures grouped by fingerprint (node, exception type, normalised message) for a window.
SELECT execution_monitor.error_groups_json($1)::text;

-- name: list_threads
-- A page of conversations with turns, failures, last activity, p50/p99 and tokens.
SELECT execution_monitor.list_threads($1, $2, $3, $4)::text;

-- name: executions_by_ids
-- Listing rows for the ids a notification announced, in change order.
SELECT change_seq, execution::text FROM execution_monitor.executions_by_ids($1);

-- name: latest_change_seq
-- The newest change_seq (past it, an integer Last-Event-ID was never given here).
SELECT execution_monitor.latest_change_seq();

-- name: close_stale_executions
-- Close runs still `running` after this many seconds as failed; returns how many.
SELECT execution_monitor.close_stale_executions(make_interval(secs => $1));

-- name: maintain_execution_logs
-- Day partitions made ahead, those past $1 days dropped, rollup hours past $2 days
-- deleted (one caller at a time: the others are skipped); what it did, as JSON.
SELECT execution_monitor.maintain_execution_logs($1, $2)::text;

-- name: ping
-- Is the database reachable?
SELECT 1;

-- name: prefer_lz4_compression
-- This session compresses large values (traces, inputs) with lz4 where the server
-- was built with it; elsewhere nothing changes (pglz).
SELECT set_config('default_toast_compression', 'lz4', false)
FROM pg_settings
WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals);

-- name: log_batch_v4
-- Write a checked batch as one JSON array of events (v3's 16 values each); as v3 returns.
SELECT written, replaced_stale
FROM execution_monitor.log_batch_v4($1::jsonb);

-- name: execution_stats_filtered
-- execution_stats for the listing's filters and any window (rollups when only a start is given).
SELECT execution_monitor.execution_stats_filtered(
    p_hours => $1, p_since => $2, p_until => $3, p_status => $4, p_user_id => $5,
    p_user_id_prefix => $6, p_conversation_id => $7, p_q => $8)::text;

-- name: node_performance_filtered
-- node_performance_json for the listing's filters and any window.
SELECT execution_monitor.node_performance_filtered(
    p_hours => $1, p_since => $2, p_until => $3, p_status => $4, p_user_id => $5,
    p_user_id_prefix => $6, p_conversation_id => $7, p_q => $8)::text;

-- name: user_id_suggestions
-- Distinct user ids starting with a prefix, at most a limit (the user filter's suggestions).
SELECT execution_monitor.user_id_suggestions($1, $2)::text;

-- name: export_executions_v2
-- A page of export rows for list_executions_v2's filters, after a (started_at, id) cursor.
SELECT started_at, id, execution::text FROM execution_monitor.export_executions_v2(
    p_status => $1, p_user_id => $2, p_conversation_id => $3, p_hours => $4, p_q => $5,
    p_before_started_at => $6, p_before_id => $7, p_limit => $8, p_since => $9, p_until => $10,
    p_user_id_prefix => $11);

-- name: error_groups_window
-- error_groups_json for any window (hours, or since / until), with wider buckets past hours_max.
SELECT execution_monitor.error_groups_window_json(p_hours => $1, p_since => $2, p_until => $3)::text;

-- name: list_threads_v2
-- list_threads for any window, one user or a user-id prefix.
SELECT execution_monitor.list_threads_v2(
    p_hours => $1, p_since => $2, p_until => $3, p_user_id => $4, p_user_id_prefix => $5,
    p_limit => $6, p_offset => $7)::text;

-- name: log_batch_v5
-- log_batch_v4 without the global lock (changes ordered by transaction id); as v4 returns.
SELECT written, replaced_stale
FROM execution_monitor.log_batch_v5($1::jsonb);

-- name: executions_changed_since_v2
-- Rows changed after a (change_xid, change_seq) cursor, below the change horizon, with its filters.
SELECT change_xid, change_seq, execution::text
FROM execution_monitor.executions_changed_since_v2($1, $2, $3, $4, $5, $6);

-- name: latest_change_position
-- The newest change below the change horizon (where a fresh listener starts), and the newest written.
SELECT change_xid, change_seq, written_xid, written_seq
FROM execution_monitor.latest_change_position();

-- name: compact_rollups
-- Fold the rollups' deltas into one row per key (writer maintenance); returns rows written.
SELECT execution_monitor.compact_rollups();
