-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- The per-node read is small by construction (whole hours of rollups, at most six
-- 5-minute slots and 2.5 minutes of rows at each edge), yet the planner gave its
-- slots a Gather: starting the workers was 5-7 ms of a 12 ms read at 10,000,000 runs
-- (5 ms without them), more on a busy machine. Its reads stay in the backend.
ALTER FUNCTION node_performance_between(timestamptz, timestamptz)
    SET max_parallel_workers_per_gather = 0;
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
ALTER FUNCTION node_performance_between(timestamptz, timestamptz)
    RESET max_parallel_workers_per_gather;
SET LOCAL search_path TO DEFAULT;
