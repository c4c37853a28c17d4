-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- The trigram index holds finished runs only. Every write of a row version that the
-- index holds adds its trigrams (about 75 for a start, 110 for a finish, half of them
-- from the UUID's random hex, each a different key): measured by bench.write_cost, the
-- index was three quarters of a batch of starts' server CPU and two thirds of a batch
-- of finishes'. A start is a running row that its finish replaces moments later (the
-- finish's UPDATE is not HOT: `status` is indexed), so its trigrams were written to be
-- dead soon after. Now a start does no trigram-index work, and a finish as much as
-- before. A search still finds running runs: execution_search_hit() (migration
-- 20261207000600) reads them through the (status, started_at) index and checks their
-- text, in one BitmapOr with this index. Every search of a window checks each run
-- running in it: they are the runs per second times a run's duration (the stale sweep
-- closes the ones whose process died); with 2,000 of them spread over a day of 200,000
-- runs, a rare text's listing went from 18.6 to 32.6 ms. The planner ignores a partial
-- index's statistics: migration 20261207000601 gives the search text its own.
--
-- The index is built again on every partition while writes wait (as migration
-- 20261201000502 said: minutes on millions of rows; the writer buffers meanwhile). On
-- a large table, build it by hand first, under this name and definition: CREATE INDEX
-- ... ON ONLY execution_logs, then per partition CREATE INDEX CONCURRENTLY and ALTER
-- INDEX idx_execution_search_finished ATTACH PARTITION; this migration then only drops
-- the old index. New day partitions get it when they are attached, as every index.
DROP INDEX idx_execution_search_prefix;
CREATE INDEX IF NOT EXISTS idx_execution_search_finished ON execution_logs
    USING gin (execution_search_text_v2(
        id, conversation_id, user_id, request_message, response_message, error_summary,
        failed_nodes) gin_trgm_ops)
    -- PostgreSQL's default pending list (4 MB) rather than 512 kB: GIN merges its
    -- pending entries into the index a key at a time, and the ids' random hex spreads a
    -- list's entries over thousands of keys, so a longer list merges more entries per
    -- key visited (bench.write_cost, 1,000-run batches: the finished-rows index with a
    -- 512 kB list cost 187 ms of server CPU per 1,000 runs, with 4 MB 114; every row at
    -- 512 kB, as before, 260). A search scans the pending list: with 2,500 finished runs
    -- in it (834 pages), a rare text's listing took the same time as with it empty.
    WITH (gin_pending_list_limit = 4096)
    WHERE status <> 'running';

SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
DROP INDEX idx_execution_search_finished;
CREATE INDEX idx_execution_search_prefix ON execution_logs
    USING gin (execution_search_text_v2(
        id, conversation_id, user_id, request_message, response_message, error_summary,
        failed_nodes) gin_trgm_ops)
    WITH (gin_pending_list_limit = 512);
SET LOCAL search_path TO DEFAULT;
