-- migrate:up
-- The newest change_seq (where a fresh live-stream listener starts), as a function:
-- the read API's role reads through functions and views, never the table itself
-- (migration 20261202000301). Same answer as the query it replaces: 0 when no row.
CREATE FUNCTION execution_monitor.latest_change_seq() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce(max(change_seq), 0) FROM execution_monitor.execution_logs;
END;

-- migrate:down
DROP FUNCTION execution_monitor.latest_change_seq();
