-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- `q` in list_executions_v2: trigrams of the bounded search text
-- (execution_search_text_v2, the same expression the listing filters on).
--
-- A plain CREATE INDEX blocks writes to the table while it builds (minutes on
-- millions of rows; the writer buffers, then drops and counts). CONCURRENTLY
-- cannot run here: it waits for every open transaction, including a migrating
-- process waiting for dbmate's lock, which deadlocks processes that start at once.
-- On a large table, build it by hand first, with the same name and definition and
-- CONCURRENTLY; this migration then finds it and skips the build.
CREATE INDEX IF NOT EXISTS idx_execution_search_prefix ON execution_logs
    USING gin (execution_search_text_v2(
        id, conversation_id, user_id, request_message, response_message, error_summary,
        failed_nodes) gin_trgm_ops)
    -- New rows wait in GIN's pending list until a vacuum or a flush, and every
    -- search scans that list: a smaller list (default 4 MB) keeps a search right
    -- after a burst of writes fast, for slightly more frequent flushes.
    WITH (gin_pending_list_limit = 512);

-- Back to the session's path before dbmate records the version (see ..._monitoring_limits).
RESET search_path;

-- migrate:down
DROP INDEX execution_monitor.idx_execution_search_prefix;
