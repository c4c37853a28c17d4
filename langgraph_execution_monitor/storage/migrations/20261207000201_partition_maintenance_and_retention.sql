-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- The partitions' upkeep, in one function that the writer calls every
-- PARTITION_MAINTENANCE_INTERVAL_S (from whichever process gets there first) and that
-- pg_cron can call where it is installed:
--   * the days from today (UTC) to p_ahead_days ahead get their partition, so that
--     rows never wait in the default partition (rows that did move into theirs);
--   * a day's partition is dropped once all of it is older than p_retention_days (a
--     drop is no DELETE: the rollups keep counting its runs, and no NOTIFY fires); so
--     are the default partition's rows past the retention;
--   * the hourly rollups drop their hours older than p_rollup_retention_days, which
--     must be at least the rows' retention (the stats read rollups for whole hours).
-- Only one call works at a time (a transaction advisory lock: the others return
-- {"skipped": true} at once). Each creation and drop waits at most lock_timeout for
-- its lock (a DROP locks the whole table for a moment: a long read in progress would
-- otherwise queue every writer behind it); what timed out is listed and tried again
-- at the next call. Returns what it did, as JSON.
CREATE FUNCTION maintain_execution_logs(
    p_retention_days integer DEFAULT 30,
    p_rollup_retention_days integer DEFAULT 400,
    p_ahead_days integer DEFAULT 3
) RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, execution_monitor, pg_temp
SET lock_timeout = '1s'
AS $$
DECLARE
    today date := (now() AT TIME ZONE 'UTC')::date;
    cutoff timestamptz;
    rollup_cutoff timestamptz;
    d date;
    part record;
    created text[] := '{}';
    dropped text[] := '{}';
    timed_out text[] := '{}';
    default_rows bigint;
    rollup_rows bigint := 0;
    n bigint;
BEGIN
    IF p_retention_days IS NULL OR p_retention_days < 1 THEN
        RAISE EXCEPTION 'maintain_execution_logs: the retention must be 1 day or more, got %',
            coalesce(p_retention_days::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_rollup_retention_days IS NULL OR p_rollup_retention_days < p_retention_days THEN
        RAISE EXCEPTION 'maintain_execution_logs: the rollups'' retention must be at least '
                        'the rows'' (% days), got %',
            p_retention_days, coalesce(p_rollup_retention_days::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_ahead_days IS NULL OR p_ahead_days NOT BETWEEN 0 AND 60 THEN
        RAISE EXCEPTION 'maintain_execution_logs: the days ahead must be between 0 and 60, got %',
            coalesce(p_ahead_days::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('execution_monitor.maintain_execution_logs')) THEN
        RETURN jsonb_build_object('skipped', true);
    END IF;
    cutoff := now() - make_interval(days => p_retention_days);
    rollup_cutoff := now() - make_interval(days => p_rollup_retention_days);

    FOR d IN SELECT g::date FROM generate_series(today, today + p_ahead_days, interval '1 day') AS g
    LOOP
        BEGIN
            IF create_execution_logs_partition(d) THEN
                created := created || ('execution_logs_p' || to_char(d, 'YYYYMMDD'));
            END IF;
        EXCEPTION WHEN lock_not_available THEN
            timed_out := timed_out || ('execution_logs_p' || to_char(d, 'YYYYMMDD'));
        END;
    END LOOP;

    -- The days wholly before the cutoff; only partitions of our own naming.
    FOR part IN
        SELECT c.relname, b.day_end
        FROM pg_inherits AS i
        JOIN pg_class AS c ON c.oid = i.inhrelid
        CROSS JOIN LATERAL (
            SELECT substring(pg_get_expr(c.relpartbound, c.oid)
                             FROM 'TO \(''([^'']+)''\)')::timestamptz AS day_end
        ) AS b
        WHERE i.inhparent = 'execution_logs'::regclass
          AND c.relname ~ '^execution_logs_p[0-9]{8}$'
          AND b.day_end <= cutoff
        ORDER BY b.day_end
    LOOP
        BEGIN
            -- in the writers' order, as create_execution_logs_partition does
            LOCK TABLE conversations IN SHARE ROW EXCLUSIVE MODE;
            EXECUTE format('DROP TABLE execution_monitor.%I', part.relname);
            dropped := dropped || part.relname::text;
        EXCEPTION WHEN lock_not_available THEN
            timed_out := timed_out || part.relname::text;
        END;
    END LOOP;

    -- From the partition itself, as a drop: the table's triggers (rollups) do not fire.
    DELETE FROM execution_logs_default AS l WHERE l.started_at < cutoff;
    GET DIAGNOSTICS default_rows = ROW_COUNT;

    DELETE FROM execution_rollups_hourly AS r WHERE r.hour < rollup_cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    rollup_rows := rollup_rows + n;
    DELETE FROM execution_durations_hourly AS r WHERE r.hour < rollup_cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    rollup_rows := rollup_rows + n;
    DELETE FROM node_rollups_hourly AS r WHERE r.hour < rollup_cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    rollup_rows := rollup_rows + n;
    DELETE FROM node_durations_hourly AS r WHERE r.hour < rollup_cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    rollup_rows := rollup_rows + n;

    RETURN jsonb_build_object(
        'created', to_jsonb(created),
        'dropped', to_jsonb(dropped),
        'timed_out', to_jsonb(timed_out),
        'default_rows_deleted', default_rows,
        'rollup_rows_deleted', rollup_rows);
END;
$$;
REVOKE EXECUTE ON FUNCTION maintain_execution_logs(integer, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION maintain_execution_logs(integer, integer, integer)
    TO execution_monitor_writer;

SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
DROP FUNCTION maintain_execution_logs(integer, integer, integer);
SET LOCAL search_path TO DEFAULT;
