-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- The read API's limits, in one place: the SQL checks read them here, the API's
-- validation reads langgraph_execution_monitor/limits.py, and a test fails when
-- the two differ. IMMUTABLE, so a call folds to a constant when a query is
-- planned. `search_prefix_chars` is part of the search index's expression:
-- changing it means rebuilding idx_execution_search_prefix.
CREATE FUNCTION monitoring_limits() RETURNS jsonb
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

CREATE FUNCTION monitoring_limit(p_name text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (monitoring_limits() ->> p_name)::integer;

-- The released checks, reading the numbers from there (same messages).
CREATE OR REPLACE FUNCTION check_page(p_limit integer, p_offset integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, execution_monitor, public
AS $$
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND monitoring_limit('page_limit_max') THEN
        RAISE EXCEPTION 'limit must be between 1 and %, got %',
            monitoring_limit('page_limit_max'), coalesce(p_limit::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_offset IS NULL OR p_offset < 0 THEN
        RAISE EXCEPTION 'offset must be 0 or more, got %', coalesce(p_offset::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION check_hours(p_hours integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, execution_monitor, public
AS $$
BEGIN
    IF p_hours IS NULL OR p_hours NOT BETWEEN 1 AND monitoring_limit('hours_max') THEN
        RAISE EXCEPTION 'hours must be between 1 and %, got %',
            monitoring_limit('hours_max'), coalesce(p_hours::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;

-- Back to the session's path before dbmate records the version: a bare `dbmate up`
-- records it in an unqualified schema_migrations, which must not resolve here.
RESET search_path;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
CREATE OR REPLACE FUNCTION check_hours(p_hours integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, execution_monitor, public
AS $$
BEGIN
    IF p_hours IS NULL OR p_hours NOT BETWEEN 1 AND 168 THEN
        RAISE EXCEPTION 'hours must be between 1 and 168, got %', coalesce(p_hours::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION check_page(p_limit integer, p_offset integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, execution_monitor, public
AS $$
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'limit must be between 1 and 200, got %', coalesce(p_limit::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_offset IS NULL OR p_offset < 0 THEN
        RAISE EXCEPTION 'offset must be 0 or more, got %', coalesce(p_offset::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;

DROP FUNCTION monitoring_limit(text);
DROP FUNCTION monitoring_limits();

RESET search_path;
