-- migrate:up transaction:false
-- `q` in list_executions_v2: trigrams of the bounded search text
-- (execution_search_text_v2, the same expression the listing filters on).
-- Built CONCURRENTLY, so that on a table of millions of rows the writer is not
-- blocked for minutes. dbmate sends a file as one query, and CONCURRENTLY must be
-- its only statement (names qualified: no SET LOCAL outside a transaction). A
-- build that fails leaves an invalid index behind: drop it, then migrate again.
CREATE INDEX CONCURRENTLY idx_execution_search_prefix ON execution_monitor.execution_logs
    USING gin (execution_monitor.execution_search_text_v2(
        id, conversation_id, user_id, request_message, response_message, error_summary,
        failed_nodes) gin_trgm_ops)
    -- New rows wait in GIN's pending list until a vacuum or a flush, and every
    -- search scans that list: a smaller list (default 4 MB) keeps a search right
    -- after a burst of writes fast, for slightly more frequent flushes.
    WITH (gin_pending_list_limit = 512);

-- migrate:down
DROP INDEX execution_monitor.idx_execution_search_prefix;
