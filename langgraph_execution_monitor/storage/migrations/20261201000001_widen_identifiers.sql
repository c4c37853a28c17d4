-- migrate:up
-- Real thread ids (LangGraph's configurable.thread_id) and run ids are often longer
-- than a UUID: execution and conversation ids take up to 255 characters, like user_id.
-- A longer varchar needs no table rewrite, but the SQL-standard function bodies and
-- the view that read these columns must be dropped and created again around it.
DROP VIEW recent_executions;
DROP FUNCTION executions_changed_since(bigint, text, text, text, integer);
DROP FUNCTION executions_by_ids(text[]);
DROP FUNCTION get_execution(text);
DROP FUNCTION execution_summary_json(execution_logs);

ALTER TABLE conversations ALTER COLUMN id TYPE varchar(255);
ALTER TABLE execution_logs
    ALTER COLUMN id TYPE varchar(255),
    ALTER COLUMN conversation_id TYPE varchar(255);

CREATE FUNCTION execution_summary_json(l execution_logs) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
RETURN jsonb_build_object(
    'id', l.id,
    'conversation_id', l.conversation_id,
    'user_id', l.user_id,
    'request_message', l.request_message,
    'response_message', l.response_message,
    'status', l.status,
    'started_at', iso_utc(l.started_at),
    'completed_at', iso_utc(l.completed_at),
    'total_duration_ms', l.total_duration_ms,
    'failed_nodes', coalesce(l.failed_nodes, '[]'::jsonb),
    'error_summary', l.error_summary);

CREATE FUNCTION get_execution(p_id text) RETURNS jsonb
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT execution_summary_json(l)
           || jsonb_build_object('execution_trace', coalesce(l.execution_trace, '[]'::jsonb))
    FROM execution_logs l
    WHERE l.id = p_id;
END;

CREATE FUNCTION executions_by_ids(p_ids text[])
RETURNS TABLE (change_seq bigint, execution jsonb)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT l.change_seq, execution_summary_json(l)
    FROM execution_logs l
    WHERE l.id = ANY (p_ids)
    ORDER BY l.change_seq;
END;

CREATE FUNCTION executions_changed_since(
    p_change_seq bigint,
    p_status text DEFAULT NULL,
    p_user_id text DEFAULT NULL,
    p_conversation_id text DEFAULT NULL,
    p_limit integer DEFAULT 1000
) RETURNS TABLE (change_seq bigint, execution jsonb)
LANGUAGE sql STABLE
SET plan_cache_mode = force_custom_plan
BEGIN ATOMIC
    SELECT l.change_seq, execution_summary_json(l)
    FROM execution_logs l
    WHERE l.change_seq > p_change_seq
      AND (p_status IS NULL OR l.status = p_status)
      AND (p_user_id IS NULL OR l.user_id = p_user_id)
      AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
    ORDER BY l.change_seq
    LIMIT p_limit;
END;

CREATE VIEW recent_executions AS
SELECT id,
       conversation_id,
       user_id,
       left(request_message, 120) AS request_excerpt,
       status,
       started_at,
       completed_at,
       total_duration_ms,
       failed_nodes,
       error_summary
FROM execution_logs
ORDER BY started_at DESC, id DESC;

-- migrate:down
-- Narrowing fails if longer ids were stored since: delete or shorten them first.
DROP VIEW recent_executions;
DROP FUNCTION executions_changed_since(bigint, text, text, text, integer);
DROP FUNCTION executions_by_ids(text[]);
DROP FUNCTION get_execution(text);
DROP FUNCTION execution_summary_json(execution_logs);

ALTER TABLE execution_logs
    ALTER COLUMN id TYPE varchar(36),
    ALTER COLUMN conversation_id TYPE varchar(36);
ALTER TABLE conversations ALTER COLUMN id TYPE varchar(36);

CREATE FUNCTION execution_summary_json(l execution_logs) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
RETURN jsonb_build_object(
    'id', l.id,
    'conversation_id', l.conversation_id,
    'user_id', l.user_id,
    'request_message', l.request_message,
    'response_message', l.response_message,
    'status', l.status,
    'started_at', iso_utc(l.started_at),
    'completed_at', iso_utc(l.completed_at),
    'total_duration_ms', l.total_duration_ms,
    'failed_nodes', coalesce(l.failed_nodes, '[]'::jsonb),
    'error_summary', l.error_summary);

CREATE FUNCTION get_execution(p_id text) RETURNS jsonb
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT execution_summary_json(l)
           || jsonb_build_object('execution_trace', coalesce(l.execution_trace, '[]'::jsonb))
    FROM execution_logs l
    WHERE l.id = p_id;
END;

CREATE FUNCTION executions_by_ids(p_ids text[])
RETURNS TABLE (change_seq bigint, execution jsonb)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT l.change_seq, execution_summary_json(l)
    FROM execution_logs l
    WHERE l.id = ANY (p_ids)
    ORDER BY l.change_seq;
END;

CREATE FUNCTION executions_changed_since(
    p_change_seq bigint,
    p_status text DEFAULT NULL,
    p_user_id text DEFAULT NULL,
    p_conversation_id text DEFAULT NULL,
    p_limit integer DEFAULT 1000
) RETURNS TABLE (change_seq bigint, execution jsonb)
LANGUAGE sql STABLE
SET plan_cache_mode = force_custom_plan
BEGIN ATOMIC
    SELECT l.change_seq, execution_summary_json(l)
    FROM execution_logs l
    WHERE l.change_seq > p_change_seq
      AND (p_status IS NULL OR l.status = p_status)
      AND (p_user_id IS NULL OR l.user_id = p_user_id)
      AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
    ORDER BY l.change_seq
    LIMIT p_limit;
END;

CREATE VIEW recent_executions AS
SELECT id,
       conversation_id,
       user_id,
       left(request_message, 120) AS request_excerpt,
       status,
       started_at,
       completed_at,
       total_duration_ms,
       failed_nodes,
       error_summary
FROM execution_logs
ORDER BY started_at DESC, id DESC;
