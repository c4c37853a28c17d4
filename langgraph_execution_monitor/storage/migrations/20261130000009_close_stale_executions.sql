-- migrate:up
-- A process that dies mid-run leaves its row `running`. This closes such rows
-- as failed (the app calls it periodically; psql users can too).
CREATE FUNCTION close_stale_executions(p_older_than interval DEFAULT interval '1 hour')
RETURNS integer
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
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

-- migrate:down
DROP FUNCTION close_stale_executions(interval);
