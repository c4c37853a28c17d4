-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- The stale sweep without the global lock, as log_batch_v5 (20261207000102): it records
-- its transaction's id with each row it closes, and gives up on a row lock after 2 s
-- (lock_not_available; the writer's maintenance tries again on its next round) rather
-- than wait behind a session that holds a run. Same signature and result; CREATE OR
-- REPLACE keeps the grants, SECURITY DEFINER and the search_path are given again.
CREATE OR REPLACE FUNCTION close_stale_executions(p_older_than interval DEFAULT interval '1 hour')
RETURNS integer
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
SET lock_timeout = '2s'
SECURITY DEFINER
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
DECLARE
    closed integer;
BEGIN
    IF p_older_than IS NULL OR p_older_than <= interval '0' THEN
        RAISE EXCEPTION 'close_stale_executions: the age must be positive, got %',
            coalesce(p_older_than::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    UPDATE execution_logs AS l
    SET status = 'failed',
        completed_at = now(),
        closed_stale_at = now(),
        total_duration_ms = least(round(extract(epoch FROM now() - started_at) * 1000),
                                  2147483647)::integer,
        error_summary = format('Execution abandoned: still running and no sign of its '
                               'process for %s; it probably stopped before logging the '
                               'finish', p_older_than),
        change_seq = nextval('execution_logs_change_seq'),
        change_xid = pg_current_xact_id()
    WHERE l.status = 'running'
      AND l.started_at < now() - p_older_than
      AND NOT EXISTS (SELECT 1 FROM execution_heartbeats AS h
                      WHERE h.execution_id = l.id AND h.last_seen_at >= now() - p_older_than);
    GET DIAGNOSTICS closed = ROW_COUNT;

    -- Stamps no live run needs: too old, or of a run that is not running.
    DELETE FROM execution_heartbeats AS h
    WHERE h.last_seen_at < now() - p_older_than
       OR NOT EXISTS (SELECT 1 FROM execution_logs AS l
                      WHERE l.id = h.execution_id AND l.status = 'running');
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
SECURITY DEFINER
SET search_path = pg_catalog, execution_monitor, pg_temp
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

    UPDATE execution_logs AS l
    SET status = 'failed',
        completed_at = now(),
        closed_stale_at = now(),
        total_duration_ms = least(round(extract(epoch FROM now() - started_at) * 1000),
                                  2147483647)::integer,
        error_summary = format('Execution abandoned: still running and no sign of its '
                               'process for %s; it probably stopped before logging the '
                               'finish', p_older_than),
        change_seq = nextval('execution_logs_change_seq')
    WHERE l.status = 'running'
      AND l.started_at < now() - p_older_than
      AND NOT EXISTS (SELECT 1 FROM execution_heartbeats AS h
                      WHERE h.execution_id = l.id AND h.last_seen_at >= now() - p_older_than);
    GET DIAGNOSTICS closed = ROW_COUNT;

    -- Stamps no live run needs: too old, or of a run that is not running.
    DELETE FROM execution_heartbeats AS h
    WHERE h.last_seen_at < now() - p_older_than
       OR NOT EXISTS (SELECT 1 FROM execution_logs AS l
                      WHERE l.id = h.execution_id AND l.status = 'running');
    RETURN closed;
END;
$$;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;
