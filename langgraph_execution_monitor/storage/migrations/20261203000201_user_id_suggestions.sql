-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- The suggestions' limit joins the read API's limits (limits.py mirrors it; the other
-- numbers, search_prefix_chars of the search index's expression among them, unchanged).
CREATE OR REPLACE FUNCTION monitoring_limits() RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN jsonb_build_object(
    'page_limit_max', 200,
    'hours_max', 168,
    'hours_default', 24,
    'offset_max', 10000,
    'total_cap', 10000,
    'search_max_chars', 200,
    'search_prefix_chars', 1000,
    'search_scan_rows', 2000,
    'id_max_chars', 255,
    'user_suggestions_max', 50);

-- The user filter's suggestions: distinct user ids starting with a prefix, in the
-- order of idx_execution_user_prefix (bytes, as varchar_pattern_ops sorts), at most
-- p_limit of them. A loose index scan: each id is one probe of that index for the
-- first id after the previous one, so the cost is the ids returned, not the runs
-- they have.
CREATE FUNCTION user_id_suggestions(p_prefix text DEFAULT '', p_limit integer DEFAULT 20)
RETURNS jsonb
LANGUAGE plpgsql STABLE
-- Planned with the pattern's value, which the index's range condition needs.
SET plan_cache_mode = force_custom_plan
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
DECLARE
    pattern text := like_prefix_pattern(coalesce(p_prefix, ''));
    found jsonb;
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND monitoring_limit('user_suggestions_max') THEN
        RAISE EXCEPTION 'limit must be between 1 and %, got %',
            monitoring_limit('user_suggestions_max'), coalesce(p_limit::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF length(p_prefix) > monitoring_limit('id_max_chars') THEN
        RAISE EXCEPTION 'prefix must be at most % characters, got %',
            monitoring_limit('id_max_chars'), length(p_prefix)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    WITH RECURSIVE ids(user_id) AS (
        (SELECT l.user_id::text
         FROM execution_logs AS l
         WHERE l.user_id LIKE pattern
         ORDER BY l.user_id USING ~<~
         LIMIT 1)
        UNION ALL
        SELECT (SELECT l.user_id::text
                FROM execution_logs AS l
                WHERE l.user_id LIKE pattern AND l.user_id ~>~ ids.user_id
                ORDER BY l.user_id USING ~<~
                LIMIT 1)
        FROM ids
        WHERE ids.user_id IS NOT NULL
    )
    SELECT coalesce(jsonb_agg(s.user_id ORDER BY s.n), '[]'::jsonb) INTO found
    FROM (SELECT ids.user_id, row_number() OVER () AS n
          FROM ids WHERE ids.user_id IS NOT NULL LIMIT p_limit) AS s;
    RETURN jsonb_build_object('prefix', coalesce(p_prefix, ''), 'users', found);
END;
$$;

REVOKE EXECUTE ON FUNCTION user_id_suggestions(text, integer) FROM PUBLIC;
ALTER FUNCTION user_id_suggestions(text, integer) SECURITY DEFINER;
GRANT EXECUTE ON FUNCTION user_id_suggestions(text, integer) TO execution_monitor_reader;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
DROP FUNCTION user_id_suggestions(text, integer);
CREATE OR REPLACE FUNCTION monitoring_limits() RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN jsonb_build_object(
    'page_limit_max', 200,
    'hours_max', 168,
    'hours_default', 24,
    'offset_max', 10000,
    'total_cap', 10000,
    'search_max_chars', 200,
    'search_prefix_chars', 1000,
    'search_scan_rows', 2000,
    'id_max_chars', 255);

SET LOCAL search_path TO DEFAULT;
