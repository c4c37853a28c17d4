-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- GET /logs/export for the listing's filters as list_executions_v2 takes them: the
-- window as `hours` or `since` / `until` (filter_window), `user_id_prefix`, and the
-- search over execution_search_text_v2 (ids, error summary and failed nodes too).
-- export_executions stays as it was, for the previous release during a rolling deploy.
CREATE FUNCTION export_executions_v2(
    p_status text DEFAULT NULL,
    p_user_id text DEFAULT NULL,
    p_conversation_id text DEFAULT NULL,
    p_hours integer DEFAULT NULL,
    p_q text DEFAULT NULL,
    p_before_started_at timestamptz DEFAULT NULL,
    p_before_id text DEFAULT NULL,
    p_limit integer DEFAULT 1000,
    p_since timestamptz DEFAULT NULL,
    p_until timestamptz DEFAULT NULL,
    p_user_id_prefix text DEFAULT NULL
)
RETURNS TABLE (started_at timestamptz, id text, execution jsonb)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
DECLARE
    w record := filter_window(p_hours, p_since, p_until);
    pattern text := CASE WHEN p_q <> '' THEN like_pattern(p_q) END;
    user_pattern text := CASE WHEN p_user_id_prefix <> '' THEN like_prefix_pattern(p_user_id_prefix) END;
BEGIN
    PERFORM check_status(p_status);
    PERFORM check_search(p_q);
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'limit must be between 1 and 10000, got %', coalesce(p_limit::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT l.started_at, l.id::text, execution_summary_json(l)
    FROM execution_logs AS l
    WHERE (w.since IS NULL OR l.started_at >= w.since)
      AND (w.until IS NULL OR l.started_at < w.until)
      AND (p_before_started_at IS NULL
           OR (l.started_at, l.id) < (p_before_started_at, coalesce(p_before_id, '')))
      AND (p_status IS NULL OR l.status = p_status)
      AND (p_user_id IS NULL OR l.user_id = p_user_id)
      AND (user_pattern IS NULL OR l.user_id LIKE user_pattern)
      AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
      AND (pattern IS NULL
           OR execution_search_text_v2(l.id, l.conversation_id, l.user_id,
                                       l.request_message, l.response_message,
                                       l.error_summary, l.failed_nodes)
              ILIKE pattern)
    ORDER BY l.started_at DESC, l.id DESC
    LIMIT p_limit;
END;
$$;

REVOKE EXECUTE ON FUNCTION
    export_executions_v2(text, text, text, integer, text, timestamptz, text, integer,
                         timestamptz, timestamptz, text)
FROM PUBLIC;
ALTER FUNCTION export_executions_v2(text, text, text, integer, text, timestamptz, text, integer,
                                    timestamptz, timestamptz, text)
    SECURITY DEFINER;
GRANT EXECUTE ON FUNCTION
    export_executions_v2(text, text, text, integer, text, timestamptz, text, integer,
                         timestamptz, timestamptz, text)
TO execution_monitor_reader;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
DROP FUNCTION export_executions_v2(text, text, text, integer, text, timestamptz, text, integer,
                                   timestamptz, timestamptz, text);

SET LOCAL search_path TO DEFAULT;
