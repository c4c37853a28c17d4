-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- Readers of the change order (change_xid, change_seq): the live stream's fan-out and a
-- client resuming with Last-Event-ID.
--
-- change_horizon(): a transaction id below which no change can still appear. A change
-- becomes readable when its transaction commits; one whose transaction id is below the
-- snapshot's xmin was written by a transaction that has ended, and a transaction that
-- writes later gets a larger id. So reading only changes below the horizon, in
-- (change_xid, change_seq) order, gives a prefix that never grows in the middle: a
-- cursor is exact, however writers interleave and commit.
--
-- xmin is the oldest transaction still running in the whole cluster: a long transaction
-- in another database (a bulk load, a CREATE DATABASE) would hold the stream back for no
-- reason. A running transaction known to belong to another database (its backend's
-- datid in pg_stat_activity, which any role may read) cannot write our table, so it is
-- skipped; one not found there (it just ended, a prepared transaction) still counts.
-- The snapshot is the calling statement's (pg_current_snapshot, both times), the one
-- it reads rows with.
CREATE FUNCTION change_horizon() RETURNS xid8
LANGUAGE sql STABLE
SET search_path = pg_catalog, execution_monitor, pg_temp
-- A string body, parsed when called: a SQL-standard body would store
-- pg_stat_get_activity's column list of this server's version, which the next major
-- version's dump and restore (or pg_upgrade) would not match.
AS $$
SELECT least(
    pg_snapshot_xmax(pg_current_snapshot()),
    (SELECT min(x.xid)
     FROM pg_snapshot_xip(pg_current_snapshot()) AS x(xid)
     WHERE NOT EXISTS (SELECT FROM pg_stat_get_activity(NULL) AS a
                       WHERE a.backend_xid = x.xid::xid
                         AND a.datid <> (SELECT d.oid FROM pg_database AS d
                                         WHERE d.datname = current_database()))));
$$;
REVOKE EXECUTE ON FUNCTION change_horizon() FROM PUBLIC;

-- Changes after the cursor (p_after_xid, p_after_seq), below the horizon, in change
-- order, with the stream's filters. Rows written before change_xid existed (NULL) have
-- xid 0: the index's expression.
CREATE FUNCTION executions_changed_since_v2(
    p_after_xid xid8,
    p_after_seq bigint,
    p_status text DEFAULT NULL,
    p_user_id text DEFAULT NULL,
    p_conversation_id text DEFAULT NULL,
    p_limit integer DEFAULT 1000
) RETURNS TABLE (change_xid xid8, change_seq bigint, execution jsonb)
LANGUAGE sql STABLE SECURITY DEFINER
SET plan_cache_mode = force_custom_plan
SET search_path = pg_catalog, execution_monitor, pg_temp
BEGIN ATOMIC
    SELECT coalesce(l.change_xid, '0'::xid8), l.change_seq, execution_summary_json(l)
    FROM execution_logs AS l
    WHERE (coalesce(l.change_xid, '0'::xid8), l.change_seq) > (p_after_xid, p_after_seq)
      AND coalesce(l.change_xid, '0'::xid8) < change_horizon()
      AND (p_status IS NULL OR l.status = p_status)
      AND (p_user_id IS NULL OR l.user_id = p_user_id)
      AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
    ORDER BY coalesce(l.change_xid, '0'::xid8), l.change_seq
    LIMIT p_limit;
END;
REVOKE EXECUTE ON FUNCTION executions_changed_since_v2(xid8, bigint, text, text, text, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION executions_changed_since_v2(xid8, bigint, text, text, text, integer)
    TO execution_monitor_reader;

-- Where the change order stands: the newest change below the horizon (where a fresh
-- listener starts, and where a reset sends a client; every change not yet readable sorts
-- after it), and the newest change written (committed, readable or not: a cursor past it
-- is one this database never gave). (0, 0) when there is none.
CREATE FUNCTION latest_change_position(
    OUT change_xid xid8, OUT change_seq bigint, OUT written_xid xid8, OUT written_seq bigint
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, execution_monitor, pg_temp
BEGIN ATOMIC
    SELECT coalesce(r.change_xid, '0'::xid8), coalesce(r.change_seq, 0),
           coalesce(w.change_xid, '0'::xid8), coalesce(w.change_seq, 0)
    FROM (SELECT 1) AS one
    LEFT JOIN LATERAL (
        SELECT coalesce(l.change_xid, '0'::xid8) AS change_xid, l.change_seq
        FROM execution_logs AS l
        WHERE coalesce(l.change_xid, '0'::xid8) < change_horizon()
        ORDER BY coalesce(l.change_xid, '0'::xid8) DESC, l.change_seq DESC
        LIMIT 1
    ) AS r ON true
    LEFT JOIN LATERAL (
        SELECT coalesce(l.change_xid, '0'::xid8) AS change_xid, l.change_seq
        FROM execution_logs AS l
        ORDER BY coalesce(l.change_xid, '0'::xid8) DESC, l.change_seq DESC
        LIMIT 1
    ) AS w ON true;
END;
REVOKE EXECUTE ON FUNCTION latest_change_position() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION latest_change_position() TO execution_monitor_reader;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
DROP FUNCTION latest_change_position();
DROP FUNCTION executions_changed_since_v2(xid8, bigint, text, text, text, integer);
DROP FUNCTION change_horizon();

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;
