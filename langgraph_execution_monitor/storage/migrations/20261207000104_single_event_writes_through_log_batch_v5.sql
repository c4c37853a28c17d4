-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- log_start and log_finish (single events from psql) write through log_batch_v5, without
-- the global lock: a psql session left open after `SELECT log_start(...)` no longer
-- stalls every writer. Same signatures, checks and results (the rows written). A JSON
-- null is SQL NULL to log_batch_v5, so the events are the ones log_batch_v3 received.
-- CREATE OR REPLACE keeps the owner and the grants; SECURITY DEFINER and the
-- search_path are given again.
CREATE OR REPLACE FUNCTION log_start(
    p_id text,
    p_user_id text,
    p_request_message text,
    p_conversation_id text DEFAULT NULL,
    p_started_at timestamptz DEFAULT now()
) RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, execution_monitor, pg_temp
RETURN (log_batch_v5(jsonb_build_array(jsonb_build_array(
    p_id, p_conversation_id, p_user_id, p_request_message,
    extract(epoch FROM p_started_at)::double precision, 'running', NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL)))).written;

CREATE OR REPLACE FUNCTION log_finish(
    p_id text,
    p_status text,
    p_user_id text,
    p_request_message text,
    p_started_at timestamptz,
    p_response_message text DEFAULT NULL,
    p_execution_trace jsonb DEFAULT '[]'::jsonb,
    p_failed_nodes jsonb DEFAULT '[]'::jsonb,
    p_error_summary text DEFAULT NULL,
    p_conversation_id text DEFAULT NULL,
    p_completed_at timestamptz DEFAULT now()
) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
BEGIN
    IF p_status IS NULL OR p_status NOT IN ('completed', 'failed', 'partial', 'interrupted') THEN
        RAISE EXCEPTION 'log_finish: status must be completed, failed, partial or '
                        'interrupted, got %', coalesce(p_status, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN (log_batch_v5(jsonb_build_array(jsonb_build_array(
        p_id, p_conversation_id, p_user_id, p_request_message,
        extract(epoch FROM p_started_at)::double precision, p_status,
        extract(epoch FROM p_completed_at)::double precision, p_response_message,
        p_execution_trace, p_failed_nodes, p_error_summary, NULL, NULL, NULL, NULL,
        NULL)))).written;
END;
$$;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
CREATE OR REPLACE FUNCTION log_start(
    p_id text,
    p_user_id text,
    p_request_message text,
    p_conversation_id text DEFAULT NULL,
    p_started_at timestamptz DEFAULT now()
) RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, execution_monitor, pg_temp
RETURN (log_batch_v3(
    ARRAY[p_id], ARRAY[p_conversation_id], ARRAY[p_user_id], ARRAY[p_request_message],
    ARRAY[extract(epoch FROM p_started_at)::double precision], ARRAY['running'],
    ARRAY[NULL::double precision], ARRAY[NULL::text], ARRAY[NULL::jsonb], ARRAY[NULL::jsonb],
    ARRAY[NULL::text], ARRAY[NULL::jsonb], ARRAY[NULL::integer], ARRAY[NULL::integer],
    ARRAY[NULL::integer], ARRAY[NULL::integer])).written;

CREATE OR REPLACE FUNCTION log_finish(
    p_id text,
    p_status text,
    p_user_id text,
    p_request_message text,
    p_started_at timestamptz,
    p_response_message text DEFAULT NULL,
    p_execution_trace jsonb DEFAULT '[]'::jsonb,
    p_failed_nodes jsonb DEFAULT '[]'::jsonb,
    p_error_summary text DEFAULT NULL,
    p_conversation_id text DEFAULT NULL,
    p_completed_at timestamptz DEFAULT now()
) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
BEGIN
    IF p_status IS NULL OR p_status NOT IN ('completed', 'failed', 'partial', 'interrupted') THEN
        RAISE EXCEPTION 'log_finish: status must be completed, failed, partial or '
                        'interrupted, got %', coalesce(p_status, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN (log_batch_v3(
        ARRAY[p_id], ARRAY[p_conversation_id], ARRAY[p_user_id], ARRAY[p_request_message],
        ARRAY[extract(epoch FROM p_started_at)::double precision], ARRAY[p_status],
        ARRAY[extract(epoch FROM p_completed_at)::double precision], ARRAY[p_response_message],
        ARRAY[p_execution_trace], ARRAY[p_failed_nodes], ARRAY[p_error_summary],
        ARRAY[NULL::jsonb], ARRAY[NULL::integer], ARRAY[NULL::integer], ARRAY[NULL::integer],
        ARRAY[NULL::integer])).written;
END;
$$;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;
