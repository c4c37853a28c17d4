-- migrate:up
-- The listing's rows for an export: the same filters as list_executions, newest
-- first, a page at a time after a (started_at, id) cursor, so that an export of any
-- size is read in bounded pages without OFFSET.
SET LOCAL search_path = execution_monitor, public;

CREATE FUNCTION export_executions(
    p_status text DEFAULT NULL,
    p_user_id text DEFAULT NULL,
    p_conversation_id text DEFAULT NULL,
    p_hours integer DEFAULT 24,
    p_q text DEFAULT NULL,
    p_before_started_at timestamptz DEFAULT NULL,
    p_before_id text DEFAULT NULL,
    p_limit integer DEFAULT 1000
)
RETURNS TABLE (started_at timestamptz, id text, execution jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, execution_monitor, public
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    pattern text;
BEGIN
    PERFORM check_status(p_status);
    PERFORM check_hours(p_hours);
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'limit must be between 1 and 10000, got %', coalesce(p_limit::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    pattern := CASE WHEN p_q <> '' THEN like_pattern(p_q) END;
    RETURN QUERY
    SELECT l.started_at, l.id::text, execution_summary_json(l)
    FROM execution_logs l
    WHERE l.started_at >= now() - make_interval(hours => p_hours)
      AND (p_before_started_at IS NULL
           OR (l.started_at, l.id) < (p_before_started_at, coalesce(p_before_id, '')))
      AND (p_status IS NULL OR l.status = p_status)
      AND (p_user_id IS NULL OR l.user_id = p_user_id)
      AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
      AND (pattern IS NULL
           OR execution_search_text(l.request_message, l.response_message) ILIKE pattern)
    ORDER BY l.started_at DESC, l.id DESC
    LIMIT p_limit;
END;
$$;

-- dbmate records the migration in this transaction, finding its table through
-- current_schema(): give it back the connection's search_path first.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
DROP FUNCTION export_executions(text, text, text, integer, text, timestamptz, text, integer);

SET LOCAL search_path TO DEFAULT;
