-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- A stale close is a guess (the run's process probably died). Mark it in the row, so
-- that the run's real finish, if it still arrives, replaces it (log_batch_v3) and the
-- row says so: `closed_stale_at` when the sweep closed it, `stale_close_replaced_at`
-- when a real finish took its place.
ALTER TABLE execution_logs
    ADD COLUMN closed_stale_at timestamptz,
    ADD COLUMN stale_close_replaced_at timestamptz;

CREATE OR REPLACE FUNCTION close_stale_executions(p_older_than interval DEFAULT interval '1 hour')
RETURNS integer
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
SET search_path = pg_catalog, execution_monitor, public
AS $$
DECLARE
    closed integer;
BEGIN
    IF p_older_than IS NULL OR p_older_than <= interval '0' THEN
        RAISE EXCEPTION 'close_stale_executions: the age must be positive, got %',
            coalesce(p_older_than::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- Same turn-taking as log_batch: change_seq grows in commit order.
    PERFORM pg_advisory_xact_lock(hashtext('execution_logs_change_seq'));

    UPDATE execution_logs
    SET status = 'failed',
        completed_at = now(),
        closed_stale_at = now(),
        total_duration_ms = least(round(extract(epoch FROM now() - started_at) * 1000),
                                  2147483647)::integer,
        error_summary = format('Execution abandoned: still running after %s; its process '
                               'probably stopped before logging the finish', p_older_than),
        change_seq = nextval('execution_logs_change_seq')
    WHERE status = 'running'
      AND started_at < now() - p_older_than;

    GET DIAGNOSTICS closed = ROW_COUNT;
    RETURN closed;
END;
$$;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
CREATE OR REPLACE FUNCTION close_stale_executions(p_older_than interval DEFAULT interval '1 hour')
RETURNS integer
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
SET search_path = pg_catalog, execution_monitor, public
AS $$
DECLARE
    closed integer;
BEGIN
    IF p_older_than IS NULL OR p_older_than <= interval '0' THEN
        RAISE EXCEPTION 'close_stale_executions: the age must be positive, got %',
            coalesce(p_older_than::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- Same turn-taking as log_batch: change_seq grows in commit order.
    PERFORM pg_advisory_xact_lock(hashtext('execution_logs_change_seq'));

    UPDATE execution_logs
    SET status = 'failed',
        completed_at = now(),
        total_duration_ms = least(round(extract(epoch FROM now() - started_at) * 1000),
                                  2147483647)::integer,
        error_summary = format('Execution abandoned: still running after %s; its process '
                               'probably stopped before logging the finish', p_older_than),
        change_seq = nextval('execution_logs_change_seq')
    WHERE status = 'running'
      AND started_at < now() - p_older_than;

    GET DIAGNOSTICS closed = ROW_COUNT;
    RETURN closed;
END;
$$;

ALTER TABLE execution_logs
    DROP COLUMN stale_close_replaced_at,
    DROP COLUMN closed_stale_at;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;
