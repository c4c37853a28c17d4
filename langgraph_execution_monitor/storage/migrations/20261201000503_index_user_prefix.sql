-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- `user_id_prefix` in list_executions_v2: LIKE 'prefix%' can use a btree only
-- under the C collation, or with pattern_ops (equality keeps the seed's
-- idx_execution_user_date). On a large table, build it by hand first,
-- CONCURRENTLY (see ..._index_search_prefix).
CREATE INDEX IF NOT EXISTS idx_execution_user_prefix ON execution_logs
    (user_id varchar_pattern_ops, started_at);

RESET search_path;

-- migrate:down
DROP INDEX execution_monitor.idx_execution_user_prefix;
