-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- The first release's trigram index over the whole request and response text is
-- dropped. Nothing the API runs reads it (the listing, the export and the filtered
-- stats search execution_search_text_v2, whose index covers a bounded prefix of more
-- fields), yet every start and finish paid for it: with 2 KB responses it was 37% of
-- a batch's server time (500 runs: 237 ms with it, 150 ms without), and its cost grew
-- with the messages' length. The first release's list_executions and
-- export_executions keep their `q`: it filters the window's rows without an index.
DROP INDEX IF EXISTS idx_execution_search_text;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
CREATE INDEX IF NOT EXISTS idx_execution_search_text ON execution_logs
    USING gin (execution_search_text(request_message, response_message) gin_trgm_ops);

SET LOCAL search_path TO DEFAULT;
