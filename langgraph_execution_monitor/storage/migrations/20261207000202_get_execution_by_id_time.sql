-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- get_execution on the partitioned table: an id alone cannot say which day's
-- partition holds the run, so the lookup would open every partition's key. A UUIDv7
-- (the library's own ids) carries the time it was made, which is the run's start
-- give or take the moment between minting and starting: the lookup reads only the
-- partitions of that time +- 1 hour. Any other id (a caller's own, LangChain's uuid4
-- run_id), a UUIDv7 of an implausible time, or one minted long before its run started
-- is looked up in every partition.

-- The time a version-7 UUID carries (its first 48 bits: Unix milliseconds), or NULL
-- for any other text.
CREATE FUNCTION execution_id_time(p_id text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN p_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
    THEN to_timestamp(('x' || lpad(left(replace(p_id, '-', ''), 12), 16, '0'))::bit(64)::bigint
                      / 1000.0)
END;
REVOKE EXECUTE ON FUNCTION execution_id_time(text) FROM PUBLIC;

-- Same result as before; the latest start when a caller reused an id under two start
-- times. Planning is most of a lookup's cost on a partitioned table (about 0.05 ms
-- per partition), so the plan cache is left to choose: the lookup within the id's
-- time gets a custom plan (its generic plan would count every partition), where only
-- that time's partitions are planned; the lookup in every partition gets a generic
-- plan, made once per session (the plan is the same for any id).
CREATE OR REPLACE FUNCTION get_execution(p_id text) RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
DECLARE
    id_time timestamptz := execution_id_time(p_id);
    -- bounds computed here, so that the planner sees constants (timestamptz minus an
    -- interval is not immutable: in the query it would prune only when executed)
    near_from timestamptz;
    near_until timestamptz;
    found jsonb;
BEGIN
    IF id_time NOT BETWEEN timestamptz '2000-01-01 00:00Z' AND now() + interval '1 day' THEN
        id_time := NULL;  -- not a time a run of ours started at
    END IF;
    near_from := id_time - interval '1 hour';
    near_until := id_time + interval '1 hour';
    SELECT execution_summary_json(l)
           || jsonb_build_object('execution_trace', coalesce(l.execution_trace, '[]'::jsonb),
                                 'input', l.input)
    INTO found
    FROM execution_logs AS l
    WHERE l.id = p_id
      AND (id_time IS NULL OR (l.started_at >= near_from AND l.started_at < near_until))
    ORDER BY l.started_at DESC
    LIMIT 1;
    IF found IS NULL AND id_time IS NOT NULL THEN
        -- minted long before (or after) its run started: every partition
        SELECT execution_summary_json(l)
               || jsonb_build_object('execution_trace', coalesce(l.execution_trace, '[]'::jsonb),
                                     'input', l.input)
        INTO found
        FROM execution_logs AS l
        WHERE l.id = p_id
        ORDER BY l.started_at DESC
        LIMIT 1;
    END IF;
    RETURN found;
END;
$$;

SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
-- As 20261201000003 made it (with 20261202000301's settings); CREATE OR REPLACE keeps
-- the grants.
CREATE OR REPLACE FUNCTION get_execution(p_id text) RETURNS jsonb
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, execution_monitor, pg_temp
BEGIN ATOMIC
    SELECT execution_summary_json(l)
           || jsonb_build_object('execution_trace', coalesce(l.execution_trace, '[]'::jsonb),
                                 'input', l.input)
    FROM execution_logs l
    WHERE l.id = p_id;
END;
DROP FUNCTION execution_id_time(text);
SET LOCAL search_path TO DEFAULT;
