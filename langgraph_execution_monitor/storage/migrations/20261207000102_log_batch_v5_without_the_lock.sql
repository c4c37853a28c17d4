-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- log_batch_v5: log_batch_v4's events (one JSON array, one array of 16 values per event)
-- with log_batch_v3's checks, errors and stale-close rule, and no global lock. Writers
-- no longer take turns (pg_advisory_xact_lock) so that change_seq grows in commit
-- order: each changed row records its transaction's id in change_xid (the INSERT's
-- default, and the upsert's SET), and readers order changes by (change_xid, change_seq)
-- below the change horizon (20261207000100, 20261207000101). Two writers now run side
-- by side; they lock the same rows in the same order (by id), so they cannot deadlock on
-- them.
--
-- lock_timeout: a writer that waits for a row another session holds (a run written in
-- a transaction left open, a stale sweep on the same rows) gives up after 2 s with
-- lock_not_available (55P03), which the writer retries with backoff, instead of sitting
-- behind that session until a timeout far larger.
--
-- log_batch_v4 (and v3, v2, log_batch) stay, still taking the lock, for writers of the
-- previous releases during a rolling deploy (their rows get change_xid from the column's
-- default and the trigger of 20261207000100).
CREATE FUNCTION log_batch_v5(p_events jsonb, OUT written integer, OUT replaced_stale integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET plan_cache_mode = force_custom_plan
SET lock_timeout = '2s'
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
DECLARE
    p_ids text[];
    p_conversation_ids text[];
    p_user_ids text[];
    p_request_messages text[];
    p_started_at double precision[];
    p_statuses text[];
    p_completed_at double precision[];
    p_response_messages text[];
    p_execution_traces jsonb[];
    p_failed_nodes jsonb[];
    p_error_summaries text[];
    p_inputs jsonb[];
    p_input_tokens integer[];
    p_output_tokens integer[];
    p_total_tokens integer[];
    p_llm_calls integer[];
    bad_event bigint;
    bad record;
    v_status text;
BEGIN
    IF p_events IS NULL OR jsonb_typeof(p_events) <> 'array' THEN
        RAISE EXCEPTION 'log_batch_v5: the events must be a JSON array, got %',
            coalesce(jsonb_typeof(p_events), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT t.ord INTO bad_event
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(e, ord)
    WHERE jsonb_typeof(t.e) <> 'array' OR jsonb_array_length(t.e) <> 16
    ORDER BY t.ord
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'log_batch_v5: event % of % is not an array of 16 values',
            bad_event, jsonb_array_length(p_events)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT coalesce(array_agg(e ->> 0 ORDER BY ord), '{}'),
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
    INTO p_ids, p_conversation_ids, p_user_ids, p_request_messages, p_started_at, p_statuses,
         p_completed_at, p_response_messages, p_execution_traces, p_failed_nodes,
         p_error_summaries, p_inputs, p_input_tokens, p_output_tokens, p_total_tokens,
         p_llm_calls
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(e, ord);

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
        RAISE EXCEPTION 'log_batch_v5: event % of % (id %): %',
            bad.ord, cardinality(p_ids), coalesce(bad.id, 'NULL'), bad.problem
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    FOR v_status IN SELECT DISTINCT s FROM unnest(p_statuses) AS s LOOP
        PERFORM check_status(v_status);  -- the one list of statuses (and the table's check)
    END LOOP;

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
                change_seq = nextval('execution_logs_change_seq'),
                change_xid = pg_current_xact_id()
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
REVOKE EXECUTE ON FUNCTION log_batch_v5(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION log_batch_v5(jsonb) TO execution_monitor_writer;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
DROP FUNCTION log_batch_v5(jsonb);

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;
