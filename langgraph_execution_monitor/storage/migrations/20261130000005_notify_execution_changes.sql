-- migrate:up
-- Live side: every statement that inserts or finishes executions announces
-- them on the channel `execution_events`, once per statement (not per row: a
-- notifying commit takes a global lock). Payload: a JSON array of
-- [execution_id, status, change_seq] triples, at most 100 per message so a
-- message stays far below PostgreSQL's 8000-byte limit. Listeners fetch the
-- rows by id.
CREATE FUNCTION tg_execution_logs__notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('execution_events', chunk.payload)
    FROM (
        SELECT jsonb_agg(jsonb_build_array(id, status, change_seq) ORDER BY change_seq)::text
               AS payload
        FROM (SELECT id, status, change_seq, (row_number() OVER () - 1) / 100 AS chunk_no
              FROM changed_rows) AS numbered
        GROUP BY chunk_no
    ) AS chunk;
    RETURN NULL;
END;
$$;

-- Transition tables are not allowed on INSERT OR UPDATE triggers: one each.
CREATE TRIGGER execution_logs_notify_insert
    AFTER INSERT ON execution_logs
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tg_execution_logs__notify();

CREATE TRIGGER execution_logs_notify_update
    AFTER UPDATE ON execution_logs
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tg_execution_logs__notify();

-- migrate:down
DROP TRIGGER execution_logs_notify_update ON execution_logs;
DROP TRIGGER execution_logs_notify_insert ON execution_logs;
DROP FUNCTION tg_execution_logs__notify();
