-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- log_batch_v4: log_batch_v3's events as one JSON array, one array of its 16 values per
-- event, in v3's parameter order (the trace, failed nodes and input as JSON values, not
-- strings). The writer encodes a batch with one call into C (orjson) instead of
-- sixteen arrays that asyncpg inspects element by element: on a 5-node run that was
-- about as much of the writer's CPU as converting the run. The events go to
-- log_batch_v3 as its arrays, so its checks, errors and stale-close rule are the ones
-- that apply. A JSON null is SQL NULL; a non-finite time arrives as null (JSON has no
-- NaN) and is refused as missing; an event that is not an array of 16 values is
-- refused (invalid_parameter_value) before anything is written.
CREATE FUNCTION log_batch_v4(p_events jsonb, OUT written integer, OUT replaced_stale integer)
LANGUAGE plpgsql
SET search_path = pg_catalog, execution_monitor, public
AS $$
DECLARE
    bad bigint;
BEGIN
    IF p_events IS NULL OR jsonb_typeof(p_events) <> 'array' THEN
        RAISE EXCEPTION 'log_batch_v4: the events must be a JSON array, got %',
            coalesce(jsonb_typeof(p_events), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT t.ord INTO bad
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(e, ord)
    WHERE jsonb_typeof(t.e) <> 'array' OR jsonb_array_length(t.e) <> 16
    ORDER BY t.ord
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'log_batch_v4: event % of % is not an array of 16 values',
            bad, jsonb_array_length(p_events)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT v3.written, v3.replaced_stale
    INTO written, replaced_stale
    FROM (
        SELECT
            coalesce(array_agg(e ->> 0 ORDER BY ord), '{}'),
            coalesce(array_agg(e ->> 1 ORDER BY ord), '{}'),
            coalesce(array_agg(e ->> 2 ORDER BY ord), '{}'),
            coalesce(array_agg(e ->> 3 ORDER BY ord), '{}'),
            coalesce(array_agg((e ->> 4)::double precision ORDER BY ord), '{}'),
            coalesce(array_agg(e ->> 5 ORDER BY ord), '{}'),
            coalesce(array_agg((e ->> 6)::double precision ORDER BY ord), '{}'),
            coalesce(array_agg(e ->> 7 ORDER BY ord), '{}'),
            coalesce(array_agg(nullif(e -> 8, 'null') ORDER BY ord), '{}'),
            coalesce(array_agg(nullif(e -> 9, 'null') ORDER BY ord), '{}'),
            coalesce(array_agg(e ->> 10 ORDER BY ord), '{}'),
            coalesce(array_agg(nullif(e -> 11, 'null') ORDER BY ord), '{}'),
            coalesce(array_agg((e ->> 12)::integer ORDER BY ord), '{}'),
            coalesce(array_agg((e ->> 13)::integer ORDER BY ord), '{}'),
            coalesce(array_agg((e ->> 14)::integer ORDER BY ord), '{}'),
            coalesce(array_agg((e ->> 15)::integer ORDER BY ord), '{}')
        FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(e, ord)
    ) AS a(ids, conversation_ids, user_ids, request_messages, started_at, statuses,
           completed_at, response_messages, execution_traces, failed_nodes, error_summaries,
           inputs, input_tokens, output_tokens, total_tokens, llm_calls),
    LATERAL log_batch_v3(ids, conversation_ids, user_ids, request_messages, started_at,
                         statuses, completed_at, response_messages, execution_traces,
                         failed_nodes, error_summaries, inputs, input_tokens, output_tokens,
                         total_tokens, llm_calls) AS v3;
END;
$$;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
DROP FUNCTION log_batch_v4(jsonb);

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;
