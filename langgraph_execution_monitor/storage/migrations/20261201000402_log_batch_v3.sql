-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- log_batch_v3: log_batch_v2's arrays, checked, and a real finish replaces a stale close.
--  * Its input is checked before anything is written: arrays of different lengths, an
--    event with no id, user, request, status or start, or a finish with no end raise
--    `null_value_not_allowed` / `invalid_parameter_value` (an unknown status: the one
--    check_status), naming the event. One bad event fails the batch, so that the
--    writer's split isolates it (class 22) and writes the rest.
--  * A finish arriving for a row the stale sweep closed (closed_stale_at set) replaces
--    that close once: the row takes the real outcome, keeps closed_stale_at and gets
--    stale_close_replaced_at. Returns the rows written and, of those, the stale closes
--    replaced.
-- log_batch_v2 stays for writers of the previous release during a rolling deploy.
CREATE FUNCTION log_batch_v3(
    p_ids text[],
    p_conversation_ids text[],
    p_user_ids text[],
    p_request_messages text[],
    p_started_at double precision[],
    p_statuses text[],
    p_completed_at double precision[],
    p_response_messages text[],
    p_execution_traces jsonb[],
    p_failed_nodes jsonb[],
    p_error_summaries text[],
    p_inputs jsonb[],
    p_input_tokens integer[],
    p_output_tokens integer[],
    p_total_tokens integer[],
    p_llm_calls integer[],
    OUT written integer,
    OUT replaced_stale integer
)
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
SET search_path = pg_catalog, execution_monitor, public
AS $$
DECLARE
    lengths integer[] := ARRAY[
        cardinality(p_ids), cardinality(p_conversation_ids), cardinality(p_user_ids),
        cardinality(p_request_messages), cardinality(p_started_at), cardinality(p_statuses),
        cardinality(p_completed_at), cardinality(p_response_messages),
        cardinality(p_execution_traces), cardinality(p_failed_nodes),
        cardinality(p_error_summaries), cardinality(p_inputs), cardinality(p_input_tokens),
        cardinality(p_output_tokens), cardinality(p_total_tokens), cardinality(p_llm_calls)];
    bad record;
    v_status text;
BEGIN
    IF array_position(lengths, NULL) IS NOT NULL
       OR EXISTS (SELECT 1 FROM unnest(lengths) AS n WHERE n <> lengths[1]) THEN
        RAISE EXCEPTION 'log_batch_v3: the 16 arrays must have the same length, got % '
                        '(NULL: an array missing)', lengths
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT e.ord, e.id,
           CASE WHEN e.id IS NULL THEN 'no id'
                WHEN e.user_id IS NULL THEN 'no user_id'
                WHEN e.request_message IS NULL THEN 'no request_message'
                WHEN e.status IS NULL THEN 'no status'
                WHEN e.started_at IS NULL THEN 'no started_at'
                WHEN e.started_at IN ('NaN', 'Infinity', '-Infinity') THEN 'started_at not finite'
                WHEN e.status <> 'running' AND e.completed_at IS NULL
                    THEN 'a finish (' || e.status || ') with no completed_at'
                WHEN e.completed_at IN ('NaN', 'Infinity', '-Infinity')
                    THEN 'completed_at not finite'
           END AS problem
    INTO bad
    FROM unnest(p_ids, p_user_ids, p_request_messages, p_statuses, p_started_at,
                p_completed_at) WITH ORDINALITY
         AS e(id, user_id, request_message, status, started_at, completed_at, ord)
    WHERE e.id IS NULL OR e.user_id IS NULL OR e.request_message IS NULL
       OR e.status IS NULL OR e.started_at IS NULL
       OR e.started_at IN ('NaN', 'Infinity', '-Infinity')
       OR (e.status <> 'running' AND e.completed_at IS NULL)
       OR e.completed_at IN ('NaN', 'Infinity', '-Infinity')
    ORDER BY e.ord
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'log_batch_v3: event % of % (id %): %',
            bad.ord, lengths[1], coalesce(bad.id, 'NULL'), bad.problem
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    FOR v_status IN SELECT DISTINCT s FROM unnest(p_statuses) AS s LOOP
        PERFORM check_status(v_status);  -- the one list of statuses (and the table's check)
    END LOOP;

    -- Writers take turns so that change_seq grows in commit order (see log_batch).
    PERFORM pg_advisory_xact_lock(hashtext('execution_logs_change_seq'));

    INSERT INTO conversations (id, user_id)
    SELECT DISTINCT ON (c.id) c.id, c.user_id
    FROM unnest(p_conversation_ids, p_user_ids) AS c(id, user_id)
    WHERE c.id IS NOT NULL
    ORDER BY c.id
    ON CONFLICT (id) DO NOTHING;

    WITH events AS (
        SELECT *
        FROM unnest(p_ids, p_conversation_ids, p_user_ids, p_request_messages, p_started_at,
                    p_statuses, p_completed_at, p_response_messages, p_execution_traces,
                    p_failed_nodes, p_error_summaries, p_inputs, p_input_tokens,
                    p_output_tokens, p_total_tokens, p_llm_calls)
             WITH ORDINALITY
             AS e(id, conversation_id, user_id, request_message, started_at, status,
                  completed_at, response_message, execution_trace, failed_nodes,
                  error_summary, input, input_tokens, output_tokens, total_tokens, llm_calls,
                  ord)
    ),
    one_per_run AS (
        -- A finish carries everything its start does, so it wins.
        SELECT DISTINCT ON (id) *
        FROM events
        ORDER BY id, (status <> 'running') DESC, ord DESC
    ),
    changed AS (
        INSERT INTO execution_logs AS l (
            id, conversation_id, user_id, request_message, status, started_at, completed_at,
            total_duration_ms, response_message, execution_trace, failed_nodes, error_summary,
            input, input_tokens, output_tokens, total_tokens, llm_calls)
        SELECT id, conversation_id, user_id, request_message, status,
               to_timestamp(started_at), to_timestamp(completed_at),
               CASE WHEN completed_at IS NOT NULL
                    THEN greatest(0, round((completed_at - started_at) * 1000))::integer END,
               response_message, execution_trace, coalesce(failed_nodes, '[]'::jsonb),
               error_summary, input, input_tokens, output_tokens, total_tokens, llm_calls
        FROM one_per_run
        ORDER BY id  -- the same lock order in every batch: concurrent writers cannot deadlock
        ON CONFLICT (id) DO UPDATE
            SET status = excluded.status,
                completed_at = excluded.completed_at,
                total_duration_ms = excluded.total_duration_ms,
                response_message = excluded.response_message,
                execution_trace = excluded.execution_trace,
                failed_nodes = excluded.failed_nodes,
                error_summary = excluded.error_summary,
                input = coalesce(excluded.input, l.input),
                input_tokens = excluded.input_tokens,
                output_tokens = excluded.output_tokens,
                total_tokens = excluded.total_tokens,
                llm_calls = excluded.llm_calls,
                stale_close_replaced_at = CASE WHEN l.status = 'running'
                                               THEN l.stale_close_replaced_at ELSE now() END,
                change_seq = nextval('execution_logs_change_seq')
            WHERE excluded.status <> 'running'
              AND (l.status = 'running'
                   OR (l.closed_stale_at IS NOT NULL AND l.stale_close_replaced_at IS NULL))
        RETURNING l.stale_close_replaced_at = now() AS replaced
    )
    SELECT count(*)::integer, (count(*) FILTER (WHERE replaced))::integer
    INTO written, replaced_stale
    FROM changed;
END;
$$;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
DROP FUNCTION log_batch_v3(text[], text[], text[], text[], double precision[], text[],
                           double precision[], text[], jsonb[], jsonb[], text[], jsonb[],
                           integer[], integer[], integer[], integer[]);

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;
