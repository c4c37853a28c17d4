-- migrate:up transaction:false
-- `user_id_prefix` in list_executions_v2: LIKE 'prefix%' can use a btree only
-- under the C collation, or with pattern_ops (equality keeps the seed's
-- idx_execution_user_date). CONCURRENTLY and alone in its file, as the search index.
CREATE INDEX CONCURRENTLY idx_execution_user_prefix ON execution_monitor.execution_logs
    (user_id varchar_pattern_ops, started_at);

-- migrate:down
DROP INDEX execution_monitor.idx_execution_user_prefix;
