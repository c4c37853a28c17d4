-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- The change order without a global lock (the outbox technique): each change records the
-- id of the transaction that wrote it (change_xid) beside its change_seq, and readers
-- deliver changes in (change_xid, change_seq) order, only those below the change horizon
-- (next migration): every transaction that could still add a change below it has ended,
-- so nothing can appear behind a reader's cursor later. Writers no longer need to take
-- turns so that change_seq grows in commit order.
--
-- Rows written before this migration have no change_xid (NULL), and readers take it as
-- 0: among them change_seq is the commit order (their writers took the lock), and every
-- later change sorts after them. NULL rather than a default of 0: no row is rewritten,
-- and a column with a default cannot be added while functions with SQL bodies use the
-- table's row type (execution_summary_json). New rows get the default.
ALTER TABLE execution_logs ADD COLUMN change_xid xid8;
ALTER TABLE execution_logs ALTER COLUMN change_xid SET DEFAULT pg_current_xact_id();

-- Live-stream reads: changes after a (change_xid, change_seq) cursor, in that order.
CREATE INDEX idx_execution_change_xid_seq
    ON execution_logs ((coalesce(change_xid, '0'::xid8)), change_seq);

-- A writer that bumps change_seq and leaves change_xid as it was (log_batch v1-v4 of the
-- previous releases, during a rolling deploy; a psql UPDATE) gets its transaction's id
-- here. The new writers set change_xid themselves, so the WHEN is false for their rows
-- and no function is called on the hot path.
CREATE FUNCTION tg_execution_logs__change_xid() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
BEGIN
    NEW.change_xid := pg_current_xact_id();
    RETURN NEW;
END;
$$;
REVOKE EXECUTE ON FUNCTION tg_execution_logs__change_xid() FROM PUBLIC;

CREATE TRIGGER execution_logs_change_xid
    BEFORE UPDATE ON execution_logs
    FOR EACH ROW
    WHEN (NEW.change_seq IS DISTINCT FROM OLD.change_seq
          AND NEW.change_xid IS NOT DISTINCT FROM OLD.change_xid)
    EXECUTE FUNCTION tg_execution_logs__change_xid();

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
DROP TRIGGER execution_logs_change_xid ON execution_logs;
DROP FUNCTION tg_execution_logs__change_xid();
DROP INDEX idx_execution_change_xid_seq;
ALTER TABLE execution_logs DROP COLUMN change_xid;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;
