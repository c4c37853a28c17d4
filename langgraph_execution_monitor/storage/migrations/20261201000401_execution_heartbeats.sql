-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- A run that takes longer than the stale threshold, or a run of another replica, is not
-- abandoned: its process still holds it. Each writer keeps the runs it saw start and
-- not finish, and stamps them here every little while; the stale sweep closes only the
-- runs with no recent stamp (a run never stamped counts from its start). A table of its
-- own: no update of execution_logs (no notification, no bloat, no lock taken against
-- log_batch), one small row per live run.
CREATE TABLE execution_heartbeats (
    execution_id text PRIMARY KEY,
    last_seen_at timestamptz NOT NULL
);

-- Stamp these runs as alive now; returns how many were stamped.
CREATE FUNCTION heartbeat_executions(p_ids text[]) RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, execution_monitor, public
AS $$
DECLARE
    stamped integer;
BEGIN
    INSERT INTO execution_heartbeats AS h (execution_id, last_seen_at)
    SELECT DISTINCT id, now()
    FROM unnest(p_ids) AS id
    WHERE id IS NOT NULL
    ORDER BY id  -- the same lock order in every call: replicas cannot deadlock
    ON CONFLICT (execution_id) DO UPDATE SET last_seen_at = excluded.last_seen_at;
    GET DIAGNOSTICS stamped = ROW_COUNT;
    RETURN stamped;
END;
$$;

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

DROP FUNCTION heartbeat_executions(text[]);
DROP TABLE execution_heartbeats;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;
