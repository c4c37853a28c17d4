-- migrate:up
-- Failures grouped by a fingerprint: the failing node, the exception type and the
-- message with its variable parts replaced (quoted values, ids, numbers), so that
-- the same error across 500 runs is one row with a count, not 500 rows.
SET LOCAL search_path = execution_monitor, public;

-- 'user 42 not found in "db-7"' and 'user 7 not found in "db-1"' read the same.
CREATE FUNCTION error_message_pattern(p_message text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN regexp_replace(
         regexp_replace(
           regexp_replace(
             regexp_replace(
               regexp_replace(left(coalesce(p_message, ''), 2000),
                              $re$'[^']*'$re$, $s$'?'$s$, 'g'),
               $re$"[^"]*"$re$, $s$"?"$s$, 'g'),
             '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}',
             '<id>', 'g'),
           '\m(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{12,}\M', '<id>', 'g'),
         '[0-9]+(\.[0-9]+)?', '<n>', 'g');

-- A group's key: the node, the type and the pattern, hashed to a short stable id.
CREATE FUNCTION error_fingerprint(p_node text, p_error_type text, p_message text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN left(md5(concat_ws(chr(31), coalesce(p_node, ''), coalesce(p_error_type, ''),
                          error_message_pattern(p_message))), 16);

-- One row per failure of the window: every failed trace entry of a failed or partial
-- run, and a failed run with no failed entry (it raised outside any node, or was
-- closed as stale) under node NULL with its error summary.
CREATE FUNCTION error_occurrences(p_hours integer DEFAULT 24)
RETURNS TABLE (
    execution_id text,
    user_id text,
    node text,
    error_type text,
    message text,
    failed_at timestamptz
)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, execution_monitor, public
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
    PERFORM check_hours(p_hours);
    RETURN QUERY
    WITH failing AS (
        SELECT l.id, l.user_id, l.started_at, l.completed_at, l.error_summary, l.execution_trace
        FROM execution_logs l
        WHERE l.started_at >= now() - make_interval(hours => p_hours)
          AND l.status IN ('failed', 'partial')
    ),
    entries AS (
        SELECT f.id, f.user_id, e.value AS entry, f.started_at, f.completed_at
        FROM failing f
        CROSS JOIN LATERAL jsonb_array_elements(
            CASE WHEN jsonb_typeof(f.execution_trace) = 'array' THEN f.execution_trace
                 ELSE '[]'::jsonb END) AS e(value)
        WHERE e.value ->> 'status' = 'failed'
    )
    SELECT en.id::text, en.user_id::text, en.entry ->> 'node', en.entry ->> 'error_type',
           coalesce(en.entry ->> 'error', ''),
           coalesce(CASE WHEN en.entry ->> 'timestamp' ~ '^\d{4}-\d\d-\d\dT'
                         THEN (en.entry ->> 'timestamp')::timestamptz END,
                    en.completed_at, en.started_at)
    FROM entries en
    UNION ALL
    SELECT f.id::text, f.user_id::text, NULL::text, NULL::text, coalesce(f.error_summary, '')::text,
           coalesce(f.completed_at, f.started_at)
    FROM failing f
    WHERE NOT EXISTS (
        SELECT 1
        FROM jsonb_array_elements(
            CASE WHEN jsonb_typeof(f.execution_trace) = 'array' THEN f.execution_trace
                 ELSE '[]'::jsonb END) AS e(value)
        WHERE e.value ->> 'status' = 'failed');
END;
$$;

-- The groups of a window, most frequent first, for psql: count of failures, runs and
-- users, first and last seen, hourly counts oldest first (one per hour of the window),
-- and the newest runs' ids (at most 20).
CREATE FUNCTION error_groups(p_hours integer DEFAULT 24)
RETURNS TABLE (
    fingerprint text,
    node text,
    error_type text,
    pattern text,
    last_message text,
    failures bigint,
    runs bigint,
    users bigint,
    affected_users text[],
    first_seen timestamptz,
    last_seen timestamptz,
    hourly integer[],
    recent_execution_ids text[]
)
LANGUAGE sql STABLE
SET search_path = pg_catalog, execution_monitor, public
BEGIN ATOMIC
    WITH o AS (
        SELECT occ.*, error_fingerprint(occ.node, occ.error_type, occ.message) AS fp,
               -- the hour bucket, 0 = the oldest hour of the window
               greatest(0, least(p_hours - 1, p_hours - 1 - floor(
                   extract(epoch FROM (now() - occ.failed_at)) / 3600)::integer)) AS bucket
        FROM error_occurrences(p_hours) AS occ
    ),
    g AS (
        SELECT o.fp,
               min(o.node) AS node,
               min(o.error_type) AS error_type,
               min(error_message_pattern(o.message)) AS pattern,
               (array_agg(o.message ORDER BY o.failed_at DESC))[1] AS last_message,
               count(*) AS failures,
               count(DISTINCT o.execution_id) AS runs,
               count(DISTINCT o.user_id) AS users,
               (array_agg(DISTINCT o.user_id))[1:10] AS affected_users,
               min(o.failed_at) AS first_seen,
               max(o.failed_at) AS last_seen
        FROM o
        GROUP BY o.fp
    )
    SELECT g.fp, g.node, g.error_type, g.pattern, g.last_message, g.failures, g.runs, g.users,
           g.affected_users, g.first_seen, g.last_seen,
           (SELECT array_agg(coalesce(c.n, 0)::integer ORDER BY h.i)
            FROM generate_series(0, p_hours - 1) AS h(i)
            LEFT JOIN (SELECT o.bucket, count(*) AS n FROM o WHERE o.fp = g.fp GROUP BY o.bucket) c
                   ON c.bucket = h.i),
           (SELECT array_agg(r.execution_id ORDER BY r.last DESC)
            FROM (SELECT o.execution_id, max(o.failed_at) AS last
                  FROM o WHERE o.fp = g.fp
                  GROUP BY o.execution_id
                  ORDER BY last DESC
                  LIMIT 20) r)
    FROM g
    ORDER BY g.failures DESC, g.last_seen DESC, g.fp;
END;

-- GET /errors: the groups as JSON.
CREATE FUNCTION error_groups_json(p_hours integer DEFAULT 24) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, execution_monitor, public
BEGIN ATOMIC
    SELECT jsonb_build_object(
        'time_range_hours', p_hours,
        'groups', coalesce(jsonb_agg(jsonb_build_object(
            'fingerprint', g.fingerprint,
            'node', g.node,
            'error_type', g.error_type,
            'pattern', g.pattern,
            'last_message', g.last_message,
            'failures', g.failures,
            'runs', g.runs,
            'users', g.users,
            'affected_users', to_jsonb(g.affected_users),
            'first_seen', iso_utc(g.first_seen),
            'last_seen', iso_utc(g.last_seen),
            'hourly', to_jsonb(g.hourly),
            'recent_execution_ids', to_jsonb(g.recent_execution_ids))
            ORDER BY g.failures DESC, g.last_seen DESC, g.fingerprint), '[]'::jsonb))
    FROM error_groups(p_hours) AS g;
END;

-- dbmate records the migration in this transaction, finding its table through
-- current_schema(): give it back the connection's search_path first.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
DROP FUNCTION error_groups_json(integer);
DROP FUNCTION error_groups(integer);
DROP FUNCTION error_occurrences(integer);
DROP FUNCTION error_fingerprint(text, text, text);
DROP FUNCTION error_message_pattern(text);

SET LOCAL search_path TO DEFAULT;
