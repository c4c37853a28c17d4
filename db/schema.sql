\restrict dbmate

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: execution_monitor; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA execution_monitor;


--
-- Name: pg_trgm; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;


--
-- Name: EXTENSION pg_trgm; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON EXTENSION pg_trgm IS 'text similarity measurement and index searching based on trigrams';


--
-- Name: change_horizon(); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.change_horizon() RETURNS xid8
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
SELECT least(
    pg_snapshot_xmax(pg_current_snapshot()),
    (SELECT min(x.xid)
     FROM pg_snapshot_xip(pg_current_snapshot()) AS x(xid)
     WHERE NOT EXISTS (SELECT FROM pg_stat_get_activity(NULL) AS a
                       WHERE a.backend_xid = x.xid::xid
                         AND a.datid <> (SELECT d.oid FROM pg_database AS d
                                         WHERE d.datname = current_database()))));
$$;


--
-- Name: check_hours(integer); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.check_hours(p_hours integer) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    IF p_hours IS NULL OR p_hours NOT BETWEEN 1 AND monitoring_limit('hours_max') THEN
        RAISE EXCEPTION 'hours must be between 1 and %, got %',
            monitoring_limit('hours_max'), coalesce(p_hours::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;


--
-- Name: check_page(integer, integer); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.check_page(p_limit integer, p_offset integer) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
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


--
-- Name: check_search(text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.check_search(p_q text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    IF length(p_q) > monitoring_limit('search_max_chars') THEN
        RAISE EXCEPTION 'q must be at most % characters, got %',
            monitoring_limit('search_max_chars'), length(p_q)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;


--
-- Name: check_status(text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.check_status(p_status text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    IF p_status IS NOT NULL
       AND p_status NOT IN ('running', 'completed', 'failed', 'partial', 'interrupted') THEN
        RAISE EXCEPTION 'status must be one of running, completed, failed, partial, interrupted, got %',
            p_status
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;


--
-- Name: close_stale_executions(interval); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.close_stale_executions(p_older_than interval DEFAULT '01:00:00'::interval) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET plan_cache_mode TO 'force_custom_plan'
    SET lock_timeout TO '2s'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    closed integer;
BEGIN
    IF p_older_than IS NULL OR p_older_than <= interval '0' THEN
        RAISE EXCEPTION 'close_stale_executions: the age must be positive, got %',
            coalesce(p_older_than::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    UPDATE execution_logs AS l
    SET status = 'failed',
        completed_at = now(),
        closed_stale_at = now(),
        total_duration_ms = least(round(extract(epoch FROM now() - started_at) * 1000),
                                  2147483647)::integer,
        error_summary = format('Execution abandoned: still running and no sign of its '
                               'process for %s; it probably stopped before logging the '
                               'finish', p_older_than),
        change_seq = nextval('execution_logs_change_seq'),
        change_xid = pg_current_xact_id()
    WHERE l.status = 'running'
      AND l.started_at < now() - p_older_than
      AND NOT EXISTS (SELECT 1 FROM execution_heartbeats AS h
                      WHERE h.execution_id = l.id AND h.last_seen_at >= now() - p_older_than);
    GET DIAGNOSTICS closed = ROW_COUNT;

    -- Stamps no live run needs: too old, or of a run that is not running.
    DELETE FROM execution_heartbeats AS h
    WHERE h.last_seen_at < now() - p_older_than
       OR NOT EXISTS (SELECT 1 FROM execution_logs AS l
                      WHERE l.id = h.execution_id AND l.status = 'running');
    RETURN closed;
END;
$$;


--
-- Name: compact_rollups(); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.compact_rollups() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET lock_timeout TO '2s'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    merged bigint := 0;
    n bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('execution_monitor.compact_rollups')) THEN
        RETURN 0;
    END IF;
    WITH gone AS (DELETE FROM execution_rollups_hourly WHERE NOT compacted RETURNING *)
    INSERT INTO execution_rollups_hourly AS t (hour, runs, completed, failed, partial, running, interrupted, input_tokens, output_tokens, total_tokens, compacted)
    SELECT hour, sum(runs), sum(completed), sum(failed), sum(partial), sum(running), sum(interrupted), sum(input_tokens), sum(output_tokens), sum(total_tokens), true
    FROM gone
    GROUP BY hour
    ORDER BY hour
    ON CONFLICT (hour) WHERE compacted DO UPDATE
        SET runs = t.runs + excluded.runs,
            completed = t.completed + excluded.completed,
            failed = t.failed + excluded.failed,
            partial = t.partial + excluded.partial,
            running = t.running + excluded.running,
            interrupted = t.interrupted + excluded.interrupted,
            input_tokens = t.input_tokens + excluded.input_tokens,
            output_tokens = t.output_tokens + excluded.output_tokens,
            total_tokens = t.total_tokens + excluded.total_tokens;
    GET DIAGNOSTICS n = ROW_COUNT;
    merged := merged + n;

    WITH gone AS (DELETE FROM execution_durations_hourly WHERE NOT compacted RETURNING *)
    INSERT INTO execution_durations_hourly AS t (hour, bucket, runs, duration_ms_sum, compacted)
    SELECT hour, bucket, sum(runs), sum(duration_ms_sum), true
    FROM gone
    GROUP BY hour, bucket
    ORDER BY hour, bucket
    ON CONFLICT (hour, bucket) WHERE compacted DO UPDATE
        SET runs = t.runs + excluded.runs,
            duration_ms_sum = t.duration_ms_sum + excluded.duration_ms_sum;
    GET DIAGNOSTICS n = ROW_COUNT;
    merged := merged + n;

    WITH gone AS (DELETE FROM node_rollups_hourly WHERE NOT compacted RETURNING *)
    INSERT INTO node_rollups_hourly AS t (hour, node, attempts, failed_attempts, failed_runs, input_tokens, output_tokens, total_tokens, compacted)
    SELECT hour, node, sum(attempts), sum(failed_attempts), sum(failed_runs), sum(input_tokens), sum(output_tokens), sum(total_tokens), true
    FROM gone
    GROUP BY hour, node
    ORDER BY hour, node
    ON CONFLICT (hour, node) WHERE compacted DO UPDATE
        SET attempts = t.attempts + excluded.attempts,
            failed_attempts = t.failed_attempts + excluded.failed_attempts,
            failed_runs = t.failed_runs + excluded.failed_runs,
            input_tokens = t.input_tokens + excluded.input_tokens,
            output_tokens = t.output_tokens + excluded.output_tokens,
            total_tokens = t.total_tokens + excluded.total_tokens;
    GET DIAGNOSTICS n = ROW_COUNT;
    merged := merged + n;

    WITH gone AS (DELETE FROM node_durations_hourly WHERE NOT compacted RETURNING *)
    INSERT INTO node_durations_hourly AS t (hour, node, bucket, attempts, duration_ms_sum, compacted)
    SELECT hour, node, bucket, sum(attempts), sum(duration_ms_sum), true
    FROM gone
    GROUP BY hour, node, bucket
    ORDER BY hour, node, bucket
    ON CONFLICT (hour, node, bucket) WHERE compacted DO UPDATE
        SET attempts = t.attempts + excluded.attempts,
            duration_ms_sum = t.duration_ms_sum + excluded.duration_ms_sum;
    GET DIAGNOSTICS n = ROW_COUNT;
    merged := merged + n;
    WITH gone AS (DELETE FROM node_entries_5min WHERE NOT compacted RETURNING *)
    INSERT INTO node_entries_5min AS t (slot, node, bucket, attempts, failed_attempts, duration_ms_sum, compacted)
    SELECT slot, node, bucket, sum(attempts), sum(failed_attempts), sum(duration_ms_sum), true
    FROM gone
    GROUP BY slot, node, bucket
    ORDER BY slot, node, bucket
    ON CONFLICT (slot, node, bucket) WHERE compacted DO UPDATE
        SET attempts = t.attempts + excluded.attempts,
            failed_attempts = t.failed_attempts + excluded.failed_attempts,
            duration_ms_sum = t.duration_ms_sum + excluded.duration_ms_sum;
    GET DIAGNOSTICS n = ROW_COUNT;
    merged := merged + n;
    RETURN merged;
END;
$$;


--
-- Name: count_listed_executions(timestamp with time zone, timestamp with time zone, text, text, text, text, text, integer); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.count_listed_executions(p_since timestamp with time zone, p_until timestamp with time zone, p_status text, p_user_id text, p_user_pattern text, p_conversation_id text, p_pattern text, p_cap integer) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode TO 'force_custom_plan'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    counted bigint;
BEGIN
    SELECT count(*) INTO counted
    FROM (
        SELECT
        FROM execution_logs l
        WHERE (p_since IS NULL OR l.started_at >= p_since)
          AND (p_until IS NULL OR l.started_at < p_until)
          AND (p_status IS NULL OR l.status = p_status)
          AND (p_user_id IS NULL OR l.user_id = p_user_id)
          AND (p_user_pattern IS NULL OR l.user_id LIKE p_user_pattern)
          AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
          AND (p_pattern IS NULL
               OR execution_search_text_v2(l.id, l.conversation_id, l.user_id,
                                           l.request_message, l.response_message,
                                           l.error_summary, l.failed_nodes)
                  ILIKE p_pattern)
        LIMIT p_cap + 1
    ) AS matching;
    RETURN counted;
END;
$$;


--
-- Name: create_execution_logs_partition(date); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.create_execution_logs_partition(p_day date) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $_$
DECLARE
    name text := 'execution_logs_p' || to_char(p_day, 'YYYYMMDD');
    day_start timestamptz := p_day::timestamp AT TIME ZONE 'UTC';
    day_end timestamptz := (p_day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF p_day IS NULL THEN
        RAISE EXCEPTION 'create_execution_logs_partition: the day must not be NULL'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF to_regclass(format('execution_monitor.%I', name)) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- Attaching checks the foreign key, which locks conversations; a writer locks
    -- conversations before execution_logs. Taking it first, as writers do, waits for
    -- the writes in flight instead of deadlocking with one (and holds new ones back
    -- until this transaction ends).
    LOCK TABLE execution_monitor.conversations IN SHARE ROW EXCLUSIVE MODE;
    -- A query planned before the attach reads the partitions it knew of: rows moved
    -- out of the default partition under it would vanish from its view. When there
    -- are rows to move, no query runs meanwhile (a moment: they are a day's
    -- stragglers); an empty day is attached beside running queries.
    IF EXISTS (SELECT FROM execution_monitor.execution_logs_default AS d
               WHERE d.started_at >= day_start AND d.started_at < day_end) THEN
        LOCK TABLE execution_monitor.execution_logs IN ACCESS EXCLUSIVE MODE;
    END IF;
    EXECUTE format(
        'CREATE TABLE execution_monitor.%I (LIKE execution_monitor.execution_logs'
        ' INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION)'
        -- the table's own settings: an update of a recent day must be vacuumed soon
        ' WITH (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02)',
        name);
    EXECUTE format(
        'WITH moved AS (DELETE FROM execution_monitor.execution_logs_default AS d'
        '               WHERE d.started_at >= $1 AND d.started_at < $2 RETURNING d.*)'
        ' INSERT INTO execution_monitor.%I SELECT * FROM moved', name)
        USING day_start, day_end;
    EXECUTE format(
        'ALTER TABLE execution_monitor.execution_logs ATTACH PARTITION execution_monitor.%I'
        ' FOR VALUES FROM (%L) TO (%L)', name, day_start, day_end);
    RETURN true;
END;
$_$;


--
-- Name: decode_listing_cursor(text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.decode_listing_cursor(p_cursor text, OUT started_at timestamp with time zone, OUT id text) RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    body jsonb;
    padded text := translate(p_cursor, '-_', '+/');
BEGIN
    BEGIN
        padded := padded || repeat('=', (4 - length(padded) % 4) % 4);
        body := convert_from(decode(padded, 'base64'), 'UTF8')::jsonb;
        IF jsonb_typeof(body) = 'array' AND jsonb_array_length(body) = 3
           AND body ->> 0 = '1' THEN
            started_at := (body ->> 1)::timestamptz;
            id := body ->> 2;
        END IF;
    EXCEPTION WHEN data_exception THEN  -- base64, UTF-8, JSON or timestamp
        started_at := NULL;
    END;
    IF started_at IS NULL OR id IS NULL THEN
        RAISE EXCEPTION 'before must be a next_cursor returned by the listing, unchanged'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;


--
-- Name: duration_bucket(numeric); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.duration_bucket(p_ms numeric) RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN (p_ms < (1)::numeric) THEN 0 ELSE ((LEAST(((1)::double precision + floor((((8)::double precision * ln((p_ms)::double precision)) / ln((2)::double precision)))), (400)::double precision))::smallint)::integer END;


--
-- Name: encode_listing_cursor(timestamp with time zone, text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.encode_listing_cursor(p_started_at timestamp with time zone, p_id text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN rtrim(translate(encode(convert_to((jsonb_build_array(1, to_char((p_started_at AT TIME ZONE 'UTC'::text), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'::text), p_id))::text, 'UTF8'::name), 'base64'::text), '+/
'::text, '-_'::text), '='::text);


--
-- Name: error_message_pattern(text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.error_message_pattern(p_message text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace("left"(COALESCE(p_message, ''::text), 2000), '''[^'']*'''::text, '''?'''::text, 'g'::text), '"[^"]*"'::text, '"?"'::text, 'g'::text), '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'::text, '<id>'::text, 'g'::text), '\m(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{12,}\M'::text, '<id>'::text, 'g'::text), '[0-9]+(\.[0-9]+)?'::text, '<n>'::text, 'g'::text);


--
-- Name: error_fingerprint(text, text, text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.error_fingerprint(p_node text, p_error_type text, p_message text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN "left"(md5(concat_ws(chr(31), COALESCE(p_node, ''::text), COALESCE(p_error_type, ''::text), execution_monitor.error_message_pattern(p_message))), 16);


--
-- Name: error_occurrences(integer); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.error_occurrences(p_hours integer DEFAULT 24) RETURNS TABLE(execution_id text, user_id text, node text, error_type text, message text, failed_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    SET plan_cache_mode TO 'force_custom_plan'
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


--
-- Name: error_groups(integer); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.error_groups(p_hours integer DEFAULT 24) RETURNS TABLE(fingerprint text, node text, error_type text, pattern text, last_message text, failures bigint, runs bigint, users bigint, affected_users text[], first_seen timestamp with time zone, last_seen timestamp with time zone, hourly integer[], recent_execution_ids text[])
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    BEGIN ATOMIC
 WITH o AS (
          SELECT occ.execution_id,
             occ.user_id,
             occ.node,
             occ.error_type,
             occ.message,
             occ.failed_at,
             execution_monitor.error_fingerprint(occ.node, occ.error_type, occ.message) AS fp,
             GREATEST(0, LEAST((error_groups.p_hours - 1), ((error_groups.p_hours - 1) - (floor((EXTRACT(epoch FROM (now() - occ.failed_at)) / (3600)::numeric)))::integer))) AS bucket
            FROM execution_monitor.error_occurrences(error_groups.p_hours) occ(execution_id, user_id, node, error_type, message, failed_at)
         ), g AS (
          SELECT o.fp,
             min(o.node) AS node,
             min(o.error_type) AS error_type,
             min(execution_monitor.error_message_pattern(o.message)) AS pattern,
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
  SELECT g.fp,
     g.node,
     g.error_type,
     g.pattern,
     g.last_message,
     g.failures,
     g.runs,
     g.users,
     g.affected_users,
     g.first_seen,
     g.last_seen,
     ( SELECT array_agg((COALESCE(c.n, (0)::bigint))::integer ORDER BY h.i) AS array_agg
            FROM (generate_series(0, (error_groups.p_hours - 1)) h(i)
              LEFT JOIN ( SELECT o.bucket,
                     count(*) AS n
                    FROM o
                   WHERE (o.fp = g.fp)
                   GROUP BY o.bucket) c ON ((c.bucket = h.i)))) AS array_agg,
     ( SELECT array_agg(r.execution_id ORDER BY r.last DESC) AS array_agg
            FROM ( SELECT o.execution_id,
                     max(o.failed_at) AS last
                    FROM o
                   WHERE (o.fp = g.fp)
                   GROUP BY o.execution_id
                   ORDER BY (max(o.failed_at)) DESC
                  LIMIT 20) r) AS array_agg
    FROM g
   ORDER BY g.failures DESC, g.last_seen DESC, g.fp;
END;


--
-- Name: iso_utc(timestamp with time zone); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.iso_utc(ts timestamp with time zone) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN to_char((ts AT TIME ZONE 'UTC'::text), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'::text);


--
-- Name: error_groups_json(integer); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.error_groups_json(p_hours integer DEFAULT 24) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    BEGIN ATOMIC
 SELECT jsonb_build_object('time_range_hours', error_groups_json.p_hours, 'groups', COALESCE(jsonb_agg(jsonb_build_object('fingerprint', g.fingerprint, 'node', g.node, 'error_type', g.error_type, 'pattern', g.pattern, 'last_message', g.last_message, 'failures', g.failures, 'runs', g.runs, 'users', g.users, 'affected_users', to_jsonb(g.affected_users), 'first_seen', execution_monitor.iso_utc(g.first_seen), 'last_seen', execution_monitor.iso_utc(g.last_seen), 'hourly', to_jsonb(g.hourly), 'recent_execution_ids', to_jsonb(g.recent_execution_ids)) ORDER BY g.failures DESC, g.last_seen DESC, g.fingerprint), '[]'::jsonb)) AS jsonb_build_object
    FROM execution_monitor.error_groups(error_groups_json.p_hours) g(fingerprint, node, error_type, pattern, last_message, failures, runs, users, affected_users, first_seen, last_seen, hourly, recent_execution_ids);
END;


--
-- Name: error_groups_window_json(integer, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.error_groups_window_json(p_hours integer DEFAULT NULL::integer, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    w record := filter_window(p_hours, p_since, p_until);
    window_end timestamptz := coalesce(w.until, now());
    window_start timestamptz;
    buckets integer;
    width double precision;  -- seconds
    groups jsonb;
BEGIN
    SELECT greatest(w.since, min(l.started_at)) INTO window_start
    FROM execution_logs l
    WHERE (w.since IS NULL OR l.started_at >= w.since)
      AND (w.until IS NULL OR l.started_at < w.until);
    window_start := coalesce(window_start, w.since, window_end - interval '1 hour');
    buckets := least(monitoring_limit('hours_max'),
                     greatest(1, ceil(extract(epoch FROM window_end - window_start) / 3600)))::integer;
    width := greatest(3600, extract(epoch FROM window_end - window_start) / buckets);

    WITH o AS (
        SELECT occ.*, error_fingerprint(occ.node, occ.error_type, occ.message) AS fp,
               -- the bucket, 0 = the oldest of the window
               greatest(0, least(buckets - 1, buckets - 1 - floor(
                   extract(epoch FROM (window_end - occ.failed_at)) / width)::integer)) AS bucket
        FROM error_occurrences_window(w.since, w.until) AS occ
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
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'fingerprint', g.fp,
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
               'hourly', (SELECT to_jsonb(array_agg(coalesce(c.n, 0)::integer ORDER BY h.i))
                          FROM generate_series(0, buckets - 1) AS h(i)
                          LEFT JOIN (SELECT o.bucket, count(*) AS n
                                     FROM o WHERE o.fp = g.fp GROUP BY o.bucket) c
                                 ON c.bucket = h.i),
               'recent_execution_ids', (SELECT to_jsonb(array_agg(r.execution_id ORDER BY r.last DESC))
                                        FROM (SELECT o.execution_id, max(o.failed_at) AS last
                                              FROM o WHERE o.fp = g.fp
                                              GROUP BY o.execution_id
                                              ORDER BY last DESC
                                              LIMIT 20) r))
               ORDER BY g.failures DESC, g.last_seen DESC, g.fp), '[]'::jsonb)
    INTO groups
    FROM g;

    RETURN filter_window_json(w.since, w.until)
        || jsonb_build_object('bucket_hours', round((width / 3600)::numeric, 3), 'groups', groups);
END;
$$;


--
-- Name: error_occurrences_window(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.error_occurrences_window(p_since timestamp with time zone, p_until timestamp with time zone) RETURNS TABLE(execution_id text, user_id text, node text, error_type text, message text, failed_at timestamp with time zone)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
BEGIN
    RETURN QUERY
    WITH failing AS (
        SELECT l.id, l.user_id, l.started_at, l.completed_at, l.error_summary, l.execution_trace
        FROM execution_logs l
        WHERE (p_since IS NULL OR l.started_at >= p_since)
          AND (p_until IS NULL OR l.started_at < p_until)
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


--
-- Name: execution_id_time(text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.execution_id_time(p_id text) RETURNS timestamp with time zone
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN (p_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'::text) THEN to_timestamp((((((('x'::text || lpad("left"(replace(p_id, '-'::text, ''::text), 12), 16, '0'::text)))::bit(64))::bigint)::numeric / 1000.0))::double precision) ELSE NULL::timestamp with time zone END;


--
-- Name: execution_search_text(text, text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.execution_search_text(request_message text, response_message text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ((request_message || '
'::text) || COALESCE(response_message, ''::text));


--
-- Name: monitoring_limits(); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.monitoring_limits() RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN jsonb_build_object('page_limit_max', 200, 'hours_max', 168, 'hours_default', 24, 'offset_max', 10000, 'total_cap', 10000, 'search_max_chars', 200, 'search_prefix_chars', 1000, 'search_scan_rows', 2000, 'id_max_chars', 255, 'user_suggestions_max', 50);


--
-- Name: monitoring_limit(text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.monitoring_limit(p_name text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ((execution_monitor.monitoring_limits() ->> p_name))::integer;


--
-- Name: execution_search_text_v2(text, text, text, text, text, text, jsonb); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.execution_search_text_v2(p_id text, p_conversation_id text, p_user_id text, p_request_message text, p_response_message text, p_error_summary text, p_failed_nodes jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ((((((((((((COALESCE(p_id, ''::text) || '
'::text) || COALESCE(p_conversation_id, ''::text)) || '
'::text) || COALESCE(p_user_id, ''::text)) || '
'::text) || COALESCE("left"(p_request_message, execution_monitor.monitoring_limit('search_prefix_chars'::text)), ''::text)) || '
'::text) || COALESCE("left"(p_response_message, execution_monitor.monitoring_limit('search_prefix_chars'::text)), ''::text)) || '
'::text) || COALESCE("left"(p_error_summary, execution_monitor.monitoring_limit('search_prefix_chars'::text)), ''::text)) || '
'::text) || COALESCE("left"((p_failed_nodes)::text, execution_monitor.monitoring_limit('search_prefix_chars'::text)), ''::text));


--
-- Name: execution_stats(integer); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.execution_stats(p_hours integer DEFAULT 24) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    PERFORM check_hours(p_hours);
    RETURN jsonb_build_object('time_range_hours', p_hours)
           || execution_stats_since(now() - make_interval(hours => p_hours));
END;
$$;


--
-- Name: execution_stats_between(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.execution_stats_between(p_since timestamp with time zone, p_until timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode TO 'force_custom_plan'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    w record := rollup_window_between(p_since, p_until);
    t record;
    d record;
BEGIN
    SELECT coalesce(sum(p.runs), 0)::bigint AS runs,
           coalesce(sum(p.completed), 0)::bigint AS completed,
           coalesce(sum(p.failed), 0)::bigint AS failed,
           coalesce(sum(p.partial), 0)::bigint AS partial,
           coalesce(sum(p.running), 0)::bigint AS running,
           coalesce(sum(p.interrupted), 0)::bigint AS interrupted,
           coalesce(sum(p.input_tokens), 0)::bigint AS input_tokens,
           coalesce(sum(p.output_tokens), 0)::bigint AS output_tokens,
           coalesce(sum(p.total_tokens), 0)::bigint AS total_tokens
    INTO t
    FROM (
        SELECT r.runs, r.completed, r.failed, r.partial, r.running, r.interrupted,
               r.input_tokens, r.output_tokens, r.total_tokens
        FROM execution_rollups_hourly AS r
        WHERE r.hour >= w.rollup_from AND r.hour < w.rollup_until
        UNION ALL
        SELECT w.since_sign * count(*),
               w.since_sign * count(*) FILTER (WHERE l.status = 'completed'),
               w.since_sign * count(*) FILTER (WHERE l.status = 'failed'),
               w.since_sign * count(*) FILTER (WHERE l.status = 'partial'),
               w.since_sign * count(*) FILTER (WHERE l.status = 'running'),
               w.since_sign * count(*) FILTER (WHERE l.status = 'interrupted'),
               w.since_sign * coalesce(sum(l.input_tokens), 0),
               w.since_sign * coalesce(sum(l.output_tokens), 0),
               w.since_sign * coalesce(sum(l.total_tokens), 0)
        FROM execution_logs AS l
        WHERE l.started_at >= w.since_lo AND l.started_at < w.since_hi
        UNION ALL
        SELECT w.until_sign * count(*),
               w.until_sign * count(*) FILTER (WHERE l.status = 'completed'),
               w.until_sign * count(*) FILTER (WHERE l.status = 'failed'),
               w.until_sign * count(*) FILTER (WHERE l.status = 'partial'),
               w.until_sign * count(*) FILTER (WHERE l.status = 'running'),
               w.until_sign * count(*) FILTER (WHERE l.status = 'interrupted'),
               w.until_sign * coalesce(sum(l.input_tokens), 0),
               w.until_sign * coalesce(sum(l.output_tokens), 0),
               w.until_sign * coalesce(sum(l.total_tokens), 0)
        FROM execution_logs AS l
        WHERE l.started_at >= w.until_lo AND l.started_at < w.until_hi
    ) AS p;

    SELECT array_agg(h.runs ORDER BY h.bucket) AS counts,
           array_agg(h.duration_ms_sum ORDER BY h.bucket) AS sums,
           sum(h.runs) AS timed, sum(h.duration_ms_sum) AS total_ms
    INTO d
    FROM (
        SELECT b.bucket, sum(b.runs) AS runs, sum(b.duration_ms_sum) AS duration_ms_sum
        FROM (
            SELECT r.bucket, r.runs, r.duration_ms_sum
            FROM execution_durations_hourly AS r
            WHERE r.hour >= w.rollup_from AND r.hour < w.rollup_until
            UNION ALL
            SELECT duration_bucket(l.total_duration_ms), w.since_sign,
                   w.since_sign * l.total_duration_ms
            FROM execution_logs AS l
            WHERE l.started_at >= w.since_lo AND l.started_at < w.since_hi
              AND l.total_duration_ms IS NOT NULL
            UNION ALL
            SELECT duration_bucket(l.total_duration_ms), w.until_sign,
                   w.until_sign * l.total_duration_ms
            FROM execution_logs AS l
            WHERE l.started_at >= w.until_lo AND l.started_at < w.until_hi
              AND l.total_duration_ms IS NOT NULL
        ) AS b
        GROUP BY b.bucket
        HAVING sum(b.runs) > 0
    ) AS h;

    RETURN jsonb_build_object(
        'total_executions', t.runs,
        'by_status', jsonb_build_object(
            'completed', t.completed,
            'failed', t.failed,
            'partial', t.partial,
            'running', t.running,
            'interrupted', t.interrupted),
        'success_rate', CASE WHEN t.runs = 0 THEN 0.0
                             ELSE round(100.0 * t.completed / t.runs, 2) END,
        'avg_duration_ms', round(d.total_ms::numeric / d.timed)::integer,
        'p95_duration_ms', round(histogram_percentile(d.counts, d.sums, 0.95))::integer,
        'input_tokens', t.input_tokens,
        'output_tokens', t.output_tokens,
        'total_tokens', t.total_tokens,
        'failed_nodes_breakdown',
        (SELECT coalesce(jsonb_object_agg(b.node, b.failed_runs), '{}'::jsonb)
         FROM failed_nodes_breakdown_between(p_since, p_until) AS b));
END;
$$;


--
-- Name: execution_stats_filtered(integer, timestamp with time zone, timestamp with time zone, text, text, text, text, text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.execution_stats_filtered(p_hours integer DEFAULT NULL::integer, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone, p_status text DEFAULT NULL::text, p_user_id text DEFAULT NULL::text, p_user_id_prefix text DEFAULT NULL::text, p_conversation_id text DEFAULT NULL::text, p_q text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET plan_cache_mode TO 'force_custom_plan'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    w record := filter_window(p_hours, p_since, p_until);
    pattern text := CASE WHEN p_q <> '' THEN like_pattern(p_q) END;
    user_pattern text := CASE WHEN p_user_id_prefix <> '' THEN like_prefix_pattern(p_user_id_prefix) END;
    result jsonb;
BEGIN
    PERFORM check_status(p_status);
    PERFORM check_search(p_q);
    IF p_status IS NULL AND p_user_id IS NULL AND user_pattern IS NULL
       AND p_conversation_id IS NULL AND pattern IS NULL THEN
        RETURN filter_window_json(w.since, w.until) || execution_stats_between(w.since, w.until);
    END IF;

    WITH m AS MATERIALIZED (
        SELECT l.status, l.total_duration_ms, l.input_tokens, l.output_tokens, l.total_tokens,
               l.failed_nodes
        FROM execution_logs AS l
        WHERE (w.since IS NULL OR l.started_at >= w.since)
          AND (w.until IS NULL OR l.started_at < w.until)
          AND (p_status IS NULL OR l.status = p_status)
          AND (p_user_id IS NULL OR l.user_id = p_user_id)
          AND (user_pattern IS NULL OR l.user_id LIKE user_pattern)
          AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
          AND (pattern IS NULL
               OR execution_search_text_v2(l.id, l.conversation_id, l.user_id,
                                           l.request_message, l.response_message,
                                           l.error_summary, l.failed_nodes)
                  ILIKE pattern)
    ),
    breakdown AS (
        SELECT f.node, count(*) AS failed_runs
        FROM m, LATERAL (SELECT DISTINCT n.value AS node
                         FROM jsonb_array_elements_text(m.failed_nodes) AS n) AS f
        WHERE m.status IN ('failed', 'partial')
        GROUP BY f.node
    )
    SELECT jsonb_build_object(
               'total_executions', count(*),
               'by_status', jsonb_build_object(
                   'completed', count(*) FILTER (WHERE m.status = 'completed'),
                   'failed', count(*) FILTER (WHERE m.status = 'failed'),
                   'partial', count(*) FILTER (WHERE m.status = 'partial'),
                   'running', count(*) FILTER (WHERE m.status = 'running'),
                   'interrupted', count(*) FILTER (WHERE m.status = 'interrupted')),
               'success_rate', CASE WHEN count(*) = 0 THEN 0.0
                   ELSE round(100.0 * count(*) FILTER (WHERE m.status = 'completed') / count(*), 2)
                   END,
               'avg_duration_ms', round(avg(m.total_duration_ms))::integer,
               'p95_duration_ms', round(percentile_cont(0.95) WITHIN GROUP
                   (ORDER BY m.total_duration_ms))::integer,
               'input_tokens', coalesce(sum(m.input_tokens), 0),
               'output_tokens', coalesce(sum(m.output_tokens), 0),
               'total_tokens', coalesce(sum(m.total_tokens), 0),
               'failed_nodes_breakdown',
               (SELECT coalesce(jsonb_object_agg(b.node, b.failed_runs), '{}'::jsonb)
                FROM breakdown AS b))
    INTO result
    FROM m;
    RETURN filter_window_json(w.since, w.until) || result;
END;
$$;


--
-- Name: execution_stats_since(timestamp with time zone); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.execution_stats_since(p_since timestamp with time zone) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    RETURN execution_monitor.execution_stats_between(p_since, NULL::timestamp with time zone);


SET default_tablespace = '';

--
-- Name: execution_logs; Type: TABLE; Schema: execution_monitor; Owner: -
--

CREATE TABLE execution_monitor.execution_logs (
    id character varying(255) NOT NULL,
    conversation_id character varying(255),
    user_id character varying(255) NOT NULL,
    request_message text NOT NULL,
    response_message text,
    status character varying(50) DEFAULT 'running'::character varying NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    completed_at timestamp with time zone,
    total_duration_ms integer,
    execution_trace jsonb,
    error_summary text,
    failed_nodes jsonb DEFAULT '[]'::jsonb,
    change_seq bigint NOT NULL,
    input jsonb,
    input_tokens integer,
    output_tokens integer,
    total_tokens integer,
    llm_calls integer,
    closed_stale_at timestamp with time zone,
    stale_close_replaced_at timestamp with time zone,
    change_xid xid8 DEFAULT pg_current_xact_id(),
    CONSTRAINT execution_logs_status_check CHECK (((status)::text = ANY ('{running,completed,failed,partial,interrupted}'::text[])))
)
PARTITION BY RANGE (started_at);


--
-- Name: execution_summary_json(execution_monitor.execution_logs); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.execution_summary_json(l execution_monitor.execution_logs) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN jsonb_build_object('id', (l).id, 'conversation_id', (l).conversation_id, 'user_id', (l).user_id, 'request_message', (l).request_message, 'response_message', (l).response_message, 'status', (l).status, 'started_at', execution_monitor.iso_utc((l).started_at), 'completed_at', execution_monitor.iso_utc((l).completed_at), 'total_duration_ms', (l).total_duration_ms, 'failed_nodes', COALESCE((l).failed_nodes, '[]'::jsonb), 'error_summary', (l).error_summary, 'input_tokens', (l).input_tokens, 'output_tokens', (l).output_tokens, 'total_tokens', (l).total_tokens, 'llm_calls', (l).llm_calls);


--
-- Name: executions_by_ids(text[]); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.executions_by_ids(p_ids text[]) RETURNS TABLE(change_seq bigint, execution jsonb)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    BEGIN ATOMIC
 SELECT l.change_seq,
     execution_monitor.execution_summary_json(l.*) AS execution_summary_json
    FROM execution_monitor.execution_logs l
   WHERE ((l.id)::text = ANY (executions_by_ids.p_ids))
   ORDER BY l.change_seq;
END;


--
-- Name: executions_changed_since(bigint, text, text, text, integer); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.executions_changed_since(p_change_seq bigint, p_status text DEFAULT NULL::text, p_user_id text DEFAULT NULL::text, p_conversation_id text DEFAULT NULL::text, p_limit integer DEFAULT 1000) RETURNS TABLE(change_seq bigint, execution jsonb)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET plan_cache_mode TO 'force_custom_plan'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    BEGIN ATOMIC
 SELECT l.change_seq,
     execution_monitor.execution_summary_json(l.*) AS execution_summary_json
    FROM execution_monitor.execution_logs l
   WHERE ((l.change_seq > executions_changed_since.p_change_seq) AND ((executions_changed_since.p_status IS NULL) OR ((l.status)::text = executions_changed_since.p_status)) AND ((executions_changed_since.p_user_id IS NULL) OR ((l.user_id)::text = executions_changed_since.p_user_id)) AND ((executions_changed_since.p_conversation_id IS NULL) OR ((l.conversation_id)::text = executions_changed_since.p_conversation_id)))
   ORDER BY l.change_seq
  LIMIT executions_changed_since.p_limit;
END;


--
-- Name: executions_changed_since_v2(xid8, bigint, text, text, text, integer); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.executions_changed_since_v2(p_after_xid xid8, p_after_seq bigint, p_status text DEFAULT NULL::text, p_user_id text DEFAULT NULL::text, p_conversation_id text DEFAULT NULL::text, p_limit integer DEFAULT 1000) RETURNS TABLE(change_xid xid8, change_seq bigint, execution jsonb)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET plan_cache_mode TO 'force_custom_plan'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    BEGIN ATOMIC
 SELECT COALESCE(l.change_xid, '0'::xid8) AS "coalesce",
     l.change_seq,
     execution_monitor.execution_summary_json(l.*) AS execution_summary_json
    FROM execution_monitor.execution_logs l
   WHERE ((ROW(COALESCE(l.change_xid, '0'::xid8), l.change_seq) > ROW(executions_changed_since_v2.p_after_xid, executions_changed_since_v2.p_after_seq)) AND (COALESCE(l.change_xid, '0'::xid8) < execution_monitor.change_horizon()) AND ((executions_changed_since_v2.p_status IS NULL) OR ((l.status)::text = executions_changed_since_v2.p_status)) AND ((executions_changed_since_v2.p_user_id IS NULL) OR ((l.user_id)::text = executions_changed_since_v2.p_user_id)) AND ((executions_changed_since_v2.p_conversation_id IS NULL) OR ((l.conversation_id)::text = executions_changed_since_v2.p_conversation_id)))
   ORDER BY COALESCE(l.change_xid, '0'::xid8), l.change_seq
  LIMIT executions_changed_since_v2.p_limit;
END;


--
-- Name: export_executions(text, text, text, integer, text, timestamp with time zone, text, integer); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.export_executions(p_status text DEFAULT NULL::text, p_user_id text DEFAULT NULL::text, p_conversation_id text DEFAULT NULL::text, p_hours integer DEFAULT 24, p_q text DEFAULT NULL::text, p_before_started_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_before_id text DEFAULT NULL::text, p_limit integer DEFAULT 1000) RETURNS TABLE(started_at timestamp with time zone, id text, execution jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    SET plan_cache_mode TO 'force_custom_plan'
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


--
-- Name: export_executions_v2(text, text, text, integer, text, timestamp with time zone, text, integer, timestamp with time zone, timestamp with time zone, text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.export_executions_v2(p_status text DEFAULT NULL::text, p_user_id text DEFAULT NULL::text, p_conversation_id text DEFAULT NULL::text, p_hours integer DEFAULT NULL::integer, p_q text DEFAULT NULL::text, p_before_started_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_before_id text DEFAULT NULL::text, p_limit integer DEFAULT 1000, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone, p_user_id_prefix text DEFAULT NULL::text) RETURNS TABLE(started_at timestamp with time zone, id text, execution jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET plan_cache_mode TO 'force_custom_plan'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
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


--
-- Name: failed_nodes_breakdown_between(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.failed_nodes_breakdown_between(p_since timestamp with time zone, p_until timestamp with time zone) RETURNS TABLE(node text, failed_runs bigint)
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode TO 'force_custom_plan'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
#variable_conflict use_column
DECLARE
    w record := rollup_window_between(p_since, p_until);
BEGIN
    RETURN QUERY
    SELECT c.node, sum(c.failed_runs)::bigint
    FROM (
        SELECT r.node, r.failed_runs
        FROM node_rollups_hourly AS r
        WHERE r.hour >= w.rollup_from AND r.hour < w.rollup_until AND r.failed_runs <> 0
        UNION ALL
        SELECT f.node, w.since_sign
        FROM execution_logs AS l,
             LATERAL (SELECT DISTINCT n.value AS node
                      FROM jsonb_array_elements_text(l.failed_nodes) AS n) AS f
        WHERE l.status IN ('failed', 'partial')
          AND l.started_at >= w.since_lo AND l.started_at < w.since_hi
        UNION ALL
        SELECT f.node, w.until_sign
        FROM execution_logs AS l,
             LATERAL (SELECT DISTINCT n.value AS node
                      FROM jsonb_array_elements_text(l.failed_nodes) AS n) AS f
        WHERE l.status IN ('failed', 'partial')
          AND l.started_at >= w.until_lo AND l.started_at < w.until_hi
    ) AS c
    GROUP BY c.node
    HAVING sum(c.failed_runs) > 0
    ORDER BY sum(c.failed_runs) DESC, c.node;
END;
$$;


--
-- Name: failed_nodes_breakdown_since(timestamp with time zone); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.failed_nodes_breakdown_since(p_since timestamp with time zone) RETURNS TABLE(node text, failed_runs bigint)
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    BEGIN ATOMIC
 SELECT failed_nodes_breakdown_between.node,
     failed_nodes_breakdown_between.failed_runs
    FROM execution_monitor.failed_nodes_breakdown_between(failed_nodes_breakdown_since.p_since, NULL::timestamp with time zone) failed_nodes_breakdown_between(node, failed_runs);
END;


--
-- Name: failed_nodes_breakdown(integer); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.failed_nodes_breakdown(p_hours integer DEFAULT 24) RETURNS TABLE(node text, failed_runs bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    BEGIN ATOMIC
 SELECT failed_nodes_breakdown_since.node,
     failed_nodes_breakdown_since.failed_runs
    FROM execution_monitor.failed_nodes_breakdown_since((now() - make_interval(hours => failed_nodes_breakdown.p_hours))) failed_nodes_breakdown_since(node, failed_runs);
END;


--
-- Name: filter_window(integer, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.filter_window(p_hours integer, p_since timestamp with time zone, p_until timestamp with time zone, OUT since timestamp with time zone, OUT until timestamp with time zone) RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    IF p_hours IS NOT NULL THEN
        PERFORM check_hours(p_hours);
        IF p_since IS NOT NULL OR p_until IS NOT NULL THEN
            RAISE EXCEPTION 'hours cannot be combined with since or until'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        since := now() - make_interval(hours => p_hours);
    ELSIF p_since IS NULL AND p_until IS NULL THEN
        since := now() - make_interval(hours => monitoring_limit('hours_default'));
    ELSIF p_since >= p_until THEN
        RAISE EXCEPTION 'since (%) must be before until (%)', iso_utc(p_since), iso_utc(p_until)
            USING ERRCODE = 'invalid_parameter_value';
    ELSE
        since := p_since;
        until := p_until;
    END IF;
END;
$$;


--
-- Name: filter_window_json(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.filter_window_json(p_since timestamp with time zone, p_until timestamp with time zone) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    RETURN jsonb_build_object('time_range_hours', (GREATEST((1)::numeric, ceil((EXTRACT(epoch FROM (COALESCE(p_until, now()) - COALESCE(p_since, (SELECT min(l.started_at) AS min FROM execution_monitor.execution_logs l), now()))) / (3600)::numeric))))::integer, 'since', execution_monitor.iso_utc(p_since), 'until', execution_monitor.iso_utc(p_until));


--
-- Name: get_execution(text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.get_execution(p_id text) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
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


--
-- Name: heartbeat_executions(text[]); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.heartbeat_executions(p_ids text[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    stamped integer;
BEGIN
    INSERT INTO execution_heartbeats AS h (execution_id, last_seen_at)
    SELECT DISTINCT id, now()
    FROM unnest(p_ids) AS id
    WHERE id IS NOT NULL
    ORDER BY id  -- the same lock order in every call: replicas cannot deadlock
    ON CONFLICT (execution_id) DO UPDATE SET last_seen_at = excluded.last_seen_at;
    GET DIAGNOSTICS stamped = ROW_COUNT;
    RETURN stamped;
END;
$$;


--
-- Name: histogram_percentile(numeric[], numeric[], double precision); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.histogram_percentile(p_counts numeric[], p_sums numeric[], p_fraction double precision) RETURNS numeric
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    n numeric := 0;
    position numeric;
    low_rank numeric;
    high_rank numeric;
    seen numeric := 0;
    low_value numeric;
    high_value numeric;
    i integer;
BEGIN
    FOR i IN 1 .. coalesce(cardinality(p_counts), 0) LOOP
        IF p_counts[i] > 0 THEN
            n := n + p_counts[i];
        END IF;
    END LOOP;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    position := p_fraction::numeric * (n - 1);  -- 0-based rank, as percentile_cont
    low_rank := floor(position);
    high_rank := ceil(position);
    FOR i IN 1 .. cardinality(p_counts) LOOP
        CONTINUE WHEN p_counts[i] <= 0;
        IF low_value IS NULL AND low_rank < seen + p_counts[i] THEN
            low_value := p_sums[i] / p_counts[i];
        END IF;
        IF high_rank < seen + p_counts[i] THEN
            high_value := p_sums[i] / p_counts[i];
            EXIT;
        END IF;
        seen := seen + p_counts[i];
    END LOOP;
    RETURN low_value + (position - low_rank) * (high_value - low_value);
END;
$$;


--
-- Name: jsonb_number(jsonb); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.jsonb_number(p_value jsonb) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE jsonb_typeof(p_value) WHEN 'number'::text THEN (p_value)::numeric WHEN 'string'::text THEN CASE WHEN ((p_value #>> '{}'::text[]) ~ '^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]{1,4})?\s*$'::text) THEN ((p_value #>> '{}'::text[]))::numeric ELSE NULL::numeric END ELSE NULL::numeric END;


--
-- Name: latest_change_position(); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.latest_change_position(OUT change_xid xid8, OUT change_seq bigint, OUT written_xid xid8, OUT written_seq bigint) RETURNS record
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    BEGIN ATOMIC
 SELECT COALESCE(r.change_xid, '0'::xid8) AS "coalesce",
     COALESCE(r.change_seq, (0)::bigint) AS "coalesce",
     COALESCE(w.change_xid, '0'::xid8) AS "coalesce",
     COALESCE(w.change_seq, (0)::bigint) AS "coalesce"
    FROM ((( SELECT 1 AS "?column?") one
      LEFT JOIN LATERAL ( SELECT COALESCE(l.change_xid, '0'::xid8) AS change_xid,
             l.change_seq
            FROM execution_monitor.execution_logs l
           WHERE (COALESCE(l.change_xid, '0'::xid8) < execution_monitor.change_horizon())
           ORDER BY COALESCE(l.change_xid, '0'::xid8) DESC, l.change_seq DESC
          LIMIT 1) r ON (true))
      LEFT JOIN LATERAL ( SELECT COALESCE(l.change_xid, '0'::xid8) AS change_xid,
             l.change_seq
            FROM execution_monitor.execution_logs l
           ORDER BY COALESCE(l.change_xid, '0'::xid8) DESC, l.change_seq DESC
          LIMIT 1) w ON (true));
END;


--
-- Name: latest_change_seq(); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.latest_change_seq() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    BEGIN ATOMIC
 SELECT COALESCE(max(execution_logs.change_seq), (0)::bigint) AS "coalesce"
    FROM execution_monitor.execution_logs;
END;


--
-- Name: like_pattern(text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.like_pattern(q text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (('%'::text || replace(replace(replace(q, '\'::text, '\\'::text), '%'::text, '\%'::text), '_'::text, '\_'::text)) || '%'::text);


--
-- Name: like_prefix_pattern(text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.like_prefix_pattern(p_prefix text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (replace(replace(replace(p_prefix, '\'::text, '\\'::text), '%'::text, '\%'::text), '_'::text, '\_'::text) || '%'::text);


--
-- Name: list_conversation_executions(text, integer, integer); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.list_conversation_executions(p_conversation_id text, p_limit integer DEFAULT 20, p_offset integer DEFAULT 0) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    total bigint;
    logs jsonb;
BEGIN
    PERFORM check_page(p_limit, p_offset);

    SELECT count(*) INTO total FROM execution_logs WHERE conversation_id = p_conversation_id;

    SELECT coalesce(jsonb_agg(execution_summary_json(page) ORDER BY page.started_at, page.id),
                    '[]'::jsonb)
    INTO logs
    FROM (
        SELECT * FROM execution_logs l
        WHERE l.conversation_id = p_conversation_id
        ORDER BY l.started_at, l.id
        LIMIT p_limit OFFSET p_offset
    ) AS page;

    RETURN jsonb_build_object('conversation_id', p_conversation_id, 'total', total,
                              'offset', p_offset, 'limit', p_limit, 'logs', logs);
END;
$$;


--
-- Name: list_executions(text, text, text, integer, integer, integer, text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.list_executions(p_status text DEFAULT NULL::text, p_user_id text DEFAULT NULL::text, p_conversation_id text DEFAULT NULL::text, p_hours integer DEFAULT 24, p_limit integer DEFAULT 50, p_offset integer DEFAULT 0, p_q text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET plan_cache_mode TO 'force_custom_plan'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    since timestamptz;
    pattern text;
    total bigint;
    logs jsonb;
BEGIN
    PERFORM check_status(p_status);
    PERFORM check_hours(p_hours);
    PERFORM check_page(p_limit, p_offset);
    since := now() - make_interval(hours => p_hours);
    pattern := CASE WHEN p_q <> '' THEN like_pattern(p_q) END;

    SELECT count(*) INTO total
    FROM execution_logs l
    WHERE l.started_at >= since
      AND (p_status IS NULL OR l.status = p_status)
      AND (p_user_id IS NULL OR l.user_id = p_user_id)
      AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
      AND (pattern IS NULL
           OR execution_search_text(l.request_message, l.response_message) ILIKE pattern);

    SELECT coalesce(jsonb_agg(execution_summary_json(page) ORDER BY page.started_at DESC, page.id DESC),
                    '[]'::jsonb)
    INTO logs
    FROM (
        SELECT *
        FROM execution_logs l
        WHERE l.started_at >= since
          AND (p_status IS NULL OR l.status = p_status)
          AND (p_user_id IS NULL OR l.user_id = p_user_id)
          AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
          AND (pattern IS NULL
               OR execution_search_text(l.request_message, l.response_message) ILIKE pattern)
        ORDER BY l.started_at DESC, l.id DESC
        LIMIT p_limit OFFSET p_offset
    ) AS page;

    RETURN jsonb_build_object('total', total, 'offset', p_offset, 'limit', p_limit, 'logs', logs);
END;
$$;


--
-- Name: list_executions_v2(text, text, text, integer, integer, integer, text, timestamp with time zone, timestamp with time zone, text, text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.list_executions_v2(p_status text DEFAULT NULL::text, p_user_id text DEFAULT NULL::text, p_conversation_id text DEFAULT NULL::text, p_hours integer DEFAULT NULL::integer, p_limit integer DEFAULT 50, p_offset integer DEFAULT 0, p_q text DEFAULT NULL::text, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone, p_before text DEFAULT NULL::text, p_user_id_prefix text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET plan_cache_mode TO 'force_custom_plan'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    since timestamptz := p_since;
    cap constant integer := monitoring_limit('total_cap');
    pattern text;
    user_pattern text;
    after_at timestamptz;
    after_id text;
    total bigint;
    logs jsonb;
    page_rows integer;
    next_cursor text;
    scanned integer;
    seen integer;
    found execution_logs[];
    floor_only boolean := false;
BEGIN
    PERFORM check_status(p_status);
    PERFORM check_page(p_limit, p_offset);
    IF p_offset > monitoring_limit('offset_max') THEN
        RAISE EXCEPTION 'offset must be at most %, got % (page further with before = next_cursor)',
            monitoring_limit('offset_max'), p_offset
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_hours IS NOT NULL THEN
        PERFORM check_hours(p_hours);
        IF p_since IS NOT NULL OR p_until IS NOT NULL THEN
            RAISE EXCEPTION 'hours cannot be combined with since or until'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        since := now() - make_interval(hours => p_hours);
    ELSIF p_since IS NULL AND p_until IS NULL THEN
        since := now() - make_interval(hours => monitoring_limit('hours_default'));
    ELSIF p_since >= p_until THEN
        RAISE EXCEPTION 'since (%) must be before until (%)',
            iso_utc(p_since), iso_utc(p_until)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF length(p_q) > monitoring_limit('search_max_chars') THEN
        RAISE EXCEPTION 'q must be at most % characters, got %',
            monitoring_limit('search_max_chars'), length(p_q)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    pattern := CASE WHEN p_q <> '' THEN like_pattern(p_q) END;
    user_pattern := CASE WHEN p_user_id_prefix <> '' THEN like_prefix_pattern(p_user_id_prefix) END;
    IF p_before IS NOT NULL THEN
        SELECT c.started_at, c.id INTO after_at, after_id FROM decode_listing_cursor(p_before) AS c;
    END IF;

    IF pattern IS NOT NULL THEN
        -- How common is the text? The newest `search_scan_rows` rows of the
        -- window (other filters applied) say. It matters twice: the rows a
        -- search's count examines are its matches divided by how common the
        -- text is (not bounded by the cap), and the planner, misjudging a rare
        -- text as common, would read the whole window in time order to fill a page.
        SELECT count(*), count(*) FILTER (WHERE newest.matches)
        INTO scanned, seen
        FROM (
            SELECT execution_search_text_v2(l.id, l.conversation_id, l.user_id,
                                            l.request_message, l.response_message,
                                            l.error_summary, l.failed_nodes)
                   ILIKE pattern AS matches
            FROM execution_logs l
            WHERE (since IS NULL OR l.started_at >= since)
              AND (p_until IS NULL OR l.started_at < p_until)
              AND (p_status IS NULL OR l.status = p_status)
              AND (p_user_id IS NULL OR l.user_id = p_user_id)
              AND (user_pattern IS NULL OR l.user_id LIKE user_pattern)
              AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
            ORDER BY l.started_at DESC
            LIMIT monitoring_limit('search_scan_rows')
        ) AS newest;
        IF scanned = monitoring_limit('search_scan_rows') AND seen = 0 THEN
            -- A rare text in a large window: its matches, found through the
            -- trigram index, then ordered (unless there are more than the cap).
            SELECT array_agg(m.l) INTO found
            FROM (
                SELECT l
                FROM execution_logs l
                WHERE (since IS NULL OR l.started_at >= since)
                  AND (p_until IS NULL OR l.started_at < p_until)
                  AND (p_status IS NULL OR l.status = p_status)
                  AND (p_user_id IS NULL OR l.user_id = p_user_id)
                  AND (user_pattern IS NULL OR l.user_id LIKE user_pattern)
                  AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
                  AND execution_search_text_v2(l.id, l.conversation_id, l.user_id,
                                               l.request_message, l.response_message,
                                               l.error_summary, l.failed_nodes)
                      ILIKE pattern
                LIMIT cap + 1
            ) AS m;
            found := coalesce(found, '{}');
            IF cardinality(found) > cap THEN
                found := NULL;  -- not rare after all: the ordered path, total capped
                total := cap + 1;
            ELSE
                total := cardinality(found);
            END IF;
        END IF;
    END IF;

    -- One row more than the page says whether there is a next page.
    IF found IS NOT NULL THEN
        SELECT coalesce(jsonb_agg(execution_summary_json(page.r) ORDER BY page.n)
                            FILTER (WHERE page.n <= p_limit), '[]'::jsonb),
               count(*),
               max(encode_listing_cursor((page.r).started_at, (page.r).id))
                   FILTER (WHERE page.n = p_limit)
        INTO logs, page_rows, next_cursor
        FROM (
            SELECT l AS r,
                   row_number() OVER (ORDER BY l.started_at DESC, l.id DESC) - p_offset AS n
            FROM unnest(found) AS l
            WHERE (after_at IS NULL OR (l.started_at, l.id) < (after_at, after_id))
            ORDER BY l.started_at DESC, l.id DESC
            LIMIT p_limit + 1 OFFSET p_offset
        ) AS page;
    ELSE
        SELECT coalesce(jsonb_agg(execution_summary_json(page.r) ORDER BY page.n)
                            FILTER (WHERE page.n <= p_limit), '[]'::jsonb),
               count(*),
               max(encode_listing_cursor((page.r).started_at, (page.r).id))
                   FILTER (WHERE page.n = p_limit)
        INTO logs, page_rows, next_cursor
        FROM (
            SELECT l AS r,
                   row_number() OVER (ORDER BY l.started_at DESC, l.id DESC) - p_offset AS n
            FROM execution_logs l
            WHERE (since IS NULL OR l.started_at >= since)
              AND (p_until IS NULL OR l.started_at < p_until)
              AND (p_status IS NULL OR l.status = p_status)
              AND (p_user_id IS NULL OR l.user_id = p_user_id)
              AND (user_pattern IS NULL OR l.user_id LIKE user_pattern)
              AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
              AND (after_at IS NULL OR (l.started_at, l.id) < (after_at, after_id))
              AND (pattern IS NULL
                   OR execution_search_text_v2(l.id, l.conversation_id, l.user_id,
                                               l.request_message, l.response_message,
                                               l.error_summary, l.failed_nodes)
                      ILIKE pattern)
            ORDER BY l.started_at DESC, l.id DESC
            LIMIT p_limit + 1 OFFSET p_offset
        ) AS page;
    END IF;

    IF page_rows <= p_limit THEN
        next_cursor := NULL;
    END IF;

    IF total IS NOT NULL THEN
        NULL;  -- counted above (a rare text)
    ELSIF p_offset = 0 AND after_at IS NULL AND page_rows <= p_limit THEN
        total := page_rows;  -- the whole filter fits on this page
    ELSIF pattern IS NOT NULL THEN
        -- A search, then: the newest rows were all of the window (exact), or
        -- the matches among them are a floor.
        total := seen;
        floor_only := scanned = monitoring_limit('search_scan_rows');
    ELSE
        total := count_listed_executions(since, p_until, p_status, p_user_id, user_pattern,
                                         p_conversation_id, NULL, cap);
    END IF;

    RETURN jsonb_build_object(
        'total', least(total, cap),
        'total_capped', floor_only OR total > cap,
        'offset', p_offset,
        'limit', p_limit,
        'next_cursor', next_cursor,
        'logs', logs);
END;
$$;


--
-- Name: list_threads(integer, text, integer, integer); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.list_threads(p_hours integer DEFAULT 24, p_user_id text DEFAULT NULL::text, p_limit integer DEFAULT 50, p_offset integer DEFAULT 0) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    result jsonb;
BEGIN
    PERFORM check_page(p_limit, p_offset);
    WITH t AS (SELECT * FROM thread_summaries(p_hours, p_user_id))
    SELECT jsonb_build_object(
        'time_range_hours', p_hours,
        'total', (SELECT count(*) FROM t),
        'offset', p_offset,
        'limit', p_limit,
        'threads', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'conversation_id', p.conversation_id,
                       'user_id', p.user_id,
                       'turns', p.turns,
                       'failed_turns', p.failed_turns,
                       'partial_turns', p.partial_turns,
                       'running_turns', p.running_turns,
                       'first_started_at', iso_utc(p.first_started_at),
                       'last_activity', iso_utc(p.last_activity),
                       'p50_duration_ms', p.p50_duration_ms,
                       'p99_duration_ms', p.p99_duration_ms,
                       'input_tokens', p.input_tokens,
                       'output_tokens', p.output_tokens,
                       'total_tokens', p.total_tokens,
                       'last_status', p.last_status,
                       'last_request', p.last_request)
                       ORDER BY p.last_activity DESC, p.conversation_id)
            FROM (SELECT * FROM t
                  ORDER BY t.last_activity DESC, t.conversation_id
                  LIMIT p_limit OFFSET p_offset) p), '[]'::jsonb))
    INTO result;
    RETURN result;
END;
$$;


--
-- Name: list_threads_v2(integer, timestamp with time zone, timestamp with time zone, text, text, integer, integer); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.list_threads_v2(p_hours integer DEFAULT NULL::integer, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone, p_user_id text DEFAULT NULL::text, p_user_id_prefix text DEFAULT NULL::text, p_limit integer DEFAULT 50, p_offset integer DEFAULT 0) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    w record := filter_window(p_hours, p_since, p_until);
    result jsonb;
BEGIN
    PERFORM check_page(p_limit, p_offset);
    WITH t AS MATERIALIZED (
        SELECT * FROM thread_summaries_window(w.since, w.until, p_user_id, p_user_id_prefix)
    )
    SELECT jsonb_build_object(
        'total', (SELECT count(*) FROM t),
        'offset', p_offset,
        'limit', p_limit,
        'threads', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'conversation_id', p.conversation_id,
                       'user_id', p.user_id,
                       'turns', p.turns,
                       'failed_turns', p.failed_turns,
                       'partial_turns', p.partial_turns,
                       'running_turns', p.running_turns,
                       'first_started_at', iso_utc(p.first_started_at),
                       'last_activity', iso_utc(p.last_activity),
                       'p50_duration_ms', p.p50_duration_ms,
                       'p99_duration_ms', p.p99_duration_ms,
                       'input_tokens', p.input_tokens,
                       'output_tokens', p.output_tokens,
                       'total_tokens', p.total_tokens,
                       'last_status', p.last_status,
                       'last_request', p.last_request)
                       ORDER BY p.last_activity DESC, p.conversation_id)
            FROM (SELECT * FROM t
                  ORDER BY t.last_activity DESC, t.conversation_id
                  LIMIT p_limit OFFSET p_offset) p), '[]'::jsonb))
    INTO result;
    RETURN filter_window_json(w.since, w.until) || result;
END;
$$;


--
-- Name: log_batch(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[]); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.log_batch(p_ids text[], p_conversation_ids text[], p_user_ids text[], p_request_messages text[], p_started_at double precision[], p_statuses text[], p_completed_at double precision[], p_response_messages text[], p_execution_traces jsonb[], p_failed_nodes jsonb[], p_error_summaries text[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET plan_cache_mode TO 'force_custom_plan'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    written integer;
BEGIN
    -- change_seq must grow in commit order: a stream client resuming after id N,
    -- or the listener catching up, reads "change_seq > N", and would miss a
    -- lower number committed later by a concurrent writer. Writers of
    -- execution_logs therefore take turns, from here to their commit.
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
                    p_failed_nodes, p_error_summaries)
             WITH ORDINALITY
             AS e(id, conversation_id, user_id, request_message, started_at, status,
                  completed_at, response_message, execution_trace, failed_nodes,
                  error_summary, ord)
    ),
    one_per_run AS (
        -- A finish carries everything its start does, so it wins.
        SELECT DISTINCT ON (id) *
        FROM events
        ORDER BY id, (status <> 'running') DESC, ord DESC
    )
    INSERT INTO execution_logs AS l (
        id, conversation_id, user_id, request_message, status, started_at, completed_at,
        total_duration_ms, response_message, execution_trace, failed_nodes, error_summary)
    SELECT id, conversation_id, user_id, request_message, status,
           to_timestamp(started_at), to_timestamp(completed_at),
           -- greatest() skips NULLs, so a start (no completed_at) needs the CASE
           CASE WHEN completed_at IS NOT NULL
                THEN greatest(0, round((completed_at - started_at) * 1000))::integer END,
           response_message, execution_trace, coalesce(failed_nodes, '[]'::jsonb),
           error_summary
    FROM one_per_run
    ORDER BY id  -- the same lock order in every batch: concurrent writers cannot deadlock
    ON CONFLICT (id, started_at) DO UPDATE
        SET status = excluded.status,
            completed_at = excluded.completed_at,
            total_duration_ms = excluded.total_duration_ms,
            response_message = excluded.response_message,
            execution_trace = excluded.execution_trace,
            failed_nodes = excluded.failed_nodes,
            error_summary = excluded.error_summary,
            change_seq = nextval('execution_logs_change_seq')
        WHERE l.status = 'running' AND excluded.status <> 'running';

    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END;
$$;


--
-- Name: log_batch_v2(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[], jsonb[], integer[], integer[], integer[], integer[]); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.log_batch_v2(p_ids text[], p_conversation_ids text[], p_user_ids text[], p_request_messages text[], p_started_at double precision[], p_statuses text[], p_completed_at double precision[], p_response_messages text[], p_execution_traces jsonb[], p_failed_nodes jsonb[], p_error_summaries text[], p_inputs jsonb[], p_input_tokens integer[], p_output_tokens integer[], p_total_tokens integer[], p_llm_calls integer[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET plan_cache_mode TO 'force_custom_plan'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    written integer;
BEGIN
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
    )
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
    ON CONFLICT (id, started_at) DO UPDATE
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
            change_seq = nextval('execution_logs_change_seq')
        WHERE l.status = 'running' AND excluded.status <> 'running';

    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END;
$$;


--
-- Name: log_batch_v3(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[], jsonb[], integer[], integer[], integer[], integer[]); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.log_batch_v3(p_ids text[], p_conversation_ids text[], p_user_ids text[], p_request_messages text[], p_started_at double precision[], p_statuses text[], p_completed_at double precision[], p_response_messages text[], p_execution_traces jsonb[], p_failed_nodes jsonb[], p_error_summaries text[], p_inputs jsonb[], p_input_tokens integer[], p_output_tokens integer[], p_total_tokens integer[], p_llm_calls integer[], OUT written integer, OUT replaced_stale integer) RETURNS record
    LANGUAGE plpgsql SECURITY DEFINER
    SET plan_cache_mode TO 'force_custom_plan'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
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
        ON CONFLICT (id, started_at) DO UPDATE
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


--
-- Name: log_batch_v4(jsonb); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.log_batch_v4(p_events jsonb, OUT written integer, OUT replaced_stale integer) RETURNS record
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
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


--
-- Name: log_batch_v5(jsonb); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.log_batch_v5(p_events jsonb, OUT written integer, OUT replaced_stale integer) RETURNS record
    LANGUAGE plpgsql SECURITY DEFINER
    SET plan_cache_mode TO 'force_generic_plan'
    SET lock_timeout TO '2s'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
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
        ON CONFLICT (id, started_at) DO UPDATE
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


--
-- Name: log_finish(text, text, text, text, timestamp with time zone, text, jsonb, jsonb, text, text, timestamp with time zone); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.log_finish(p_id text, p_status text, p_user_id text, p_request_message text, p_started_at timestamp with time zone, p_response_message text DEFAULT NULL::text, p_execution_trace jsonb DEFAULT '[]'::jsonb, p_failed_nodes jsonb DEFAULT '[]'::jsonb, p_error_summary text DEFAULT NULL::text, p_conversation_id text DEFAULT NULL::text, p_completed_at timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    -- the start time as log_batch_v5 stores it (through epoch seconds)
    stored_start timestamptz := to_timestamp(extract(epoch FROM p_started_at)::double precision);
    other record;
BEGIN
    IF p_status IS NULL OR p_status NOT IN ('completed', 'failed', 'partial', 'interrupted') THEN
        RAISE EXCEPTION 'log_finish: status must be completed, failed, partial or '
                        'interrupted, got %', coalesce(p_status, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT l.started_at, l.status, l.closed_stale_at, l.stale_close_replaced_at INTO other
    FROM execution_logs AS l
    WHERE l.id = p_id AND l.started_at <> stored_start
    ORDER BY l.started_at
    LIMIT 1;
    IF FOUND THEN
        IF other.status <> 'running'
           AND NOT (other.closed_stale_at IS NOT NULL AND other.stale_close_replaced_at IS NULL) THEN
            RETURN 0;
        END IF;
        UPDATE execution_logs AS l SET started_at = stored_start
        WHERE l.id = p_id AND l.started_at = other.started_at;
    END IF;
    RETURN (log_batch_v5(jsonb_build_array(jsonb_build_array(
        p_id, p_conversation_id, p_user_id, p_request_message,
        extract(epoch FROM p_started_at)::double precision, p_status,
        extract(epoch FROM p_completed_at)::double precision, p_response_message,
        p_execution_trace, p_failed_nodes, p_error_summary, NULL, NULL, NULL, NULL,
        NULL)))).written;
END;
$$;


--
-- Name: log_start(text, text, text, text, timestamp with time zone); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.log_start(p_id text, p_user_id text, p_request_message text, p_conversation_id text DEFAULT NULL::text, p_started_at timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    IF EXISTS (SELECT FROM execution_logs AS l
               WHERE l.id = p_id
                 AND l.started_at <> to_timestamp(extract(epoch FROM p_started_at)::double precision)) THEN
        RETURN 0;
    END IF;
    RETURN (log_batch_v5(jsonb_build_array(jsonb_build_array(
        p_id, p_conversation_id, p_user_id, p_request_message,
        extract(epoch FROM p_started_at)::double precision, 'running', NULL, NULL, NULL, NULL,
        NULL, NULL, NULL, NULL, NULL, NULL)))).written;
END;
$$;


--
-- Name: maintain_execution_logs(integer, integer, integer); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.maintain_execution_logs(p_retention_days integer DEFAULT 30, p_rollup_retention_days integer DEFAULT 400, p_ahead_days integer DEFAULT 3) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    SET lock_timeout TO '1s'
    AS $_$
DECLARE
    today date := (now() AT TIME ZONE 'UTC')::date;
    cutoff timestamptz;
    rollup_cutoff timestamptz;
    d date;
    part record;
    created text[] := '{}';
    dropped text[] := '{}';
    timed_out text[] := '{}';
    default_rows bigint;
    rollup_rows bigint := 0;
    n bigint;
BEGIN
    IF p_retention_days IS NULL OR p_retention_days < 1 THEN
        RAISE EXCEPTION 'maintain_execution_logs: the retention must be 1 day or more, got %',
            coalesce(p_retention_days::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_rollup_retention_days IS NULL OR p_rollup_retention_days < p_retention_days THEN
        RAISE EXCEPTION 'maintain_execution_logs: the rollups'' retention must be at least '
                        'the rows'' (% days), got %',
            p_retention_days, coalesce(p_rollup_retention_days::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_ahead_days IS NULL OR p_ahead_days NOT BETWEEN 0 AND 60 THEN
        RAISE EXCEPTION 'maintain_execution_logs: the days ahead must be between 0 and 60, got %',
            coalesce(p_ahead_days::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('execution_monitor.maintain_execution_logs')) THEN
        RETURN jsonb_build_object('skipped', true);
    END IF;
    cutoff := now() - make_interval(days => p_retention_days);
    rollup_cutoff := now() - make_interval(days => p_rollup_retention_days);

    FOR d IN SELECT g::date FROM generate_series(today, today + p_ahead_days, interval '1 day') AS g
    LOOP
        BEGIN
            IF create_execution_logs_partition(d) THEN
                created := created || ('execution_logs_p' || to_char(d, 'YYYYMMDD'));
            END IF;
        EXCEPTION WHEN lock_not_available THEN
            timed_out := timed_out || ('execution_logs_p' || to_char(d, 'YYYYMMDD'));
        END;
    END LOOP;

    -- The days wholly before the cutoff; only partitions of our own naming.
    FOR part IN
        SELECT c.relname, b.day_end
        FROM pg_inherits AS i
        JOIN pg_class AS c ON c.oid = i.inhrelid
        CROSS JOIN LATERAL (
            SELECT substring(pg_get_expr(c.relpartbound, c.oid)
                             FROM 'TO \(''([^'']+)''\)')::timestamptz AS day_end
        ) AS b
        WHERE i.inhparent = 'execution_logs'::regclass
          AND c.relname ~ '^execution_logs_p[0-9]{8}$'
          AND b.day_end <= cutoff
        ORDER BY b.day_end
    LOOP
        BEGIN
            -- in the writers' order, as create_execution_logs_partition does
            LOCK TABLE conversations IN SHARE ROW EXCLUSIVE MODE;
            EXECUTE format('DROP TABLE execution_monitor.%I', part.relname);
            dropped := dropped || part.relname::text;
        EXCEPTION WHEN lock_not_available THEN
            timed_out := timed_out || part.relname::text;
        END;
    END LOOP;

    -- From the partition itself, as a drop: the table's triggers (rollups) do not fire.
    DELETE FROM execution_logs_default AS l WHERE l.started_at < cutoff;
    GET DIAGNOSTICS default_rows = ROW_COUNT;

    DELETE FROM execution_rollups_hourly AS r WHERE r.hour < rollup_cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    rollup_rows := rollup_rows + n;
    DELETE FROM execution_durations_hourly AS r WHERE r.hour < rollup_cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    rollup_rows := rollup_rows + n;
    DELETE FROM node_rollups_hourly AS r WHERE r.hour < rollup_cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    rollup_rows := rollup_rows + n;
    DELETE FROM node_durations_hourly AS r WHERE r.hour < rollup_cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    rollup_rows := rollup_rows + n;
    -- The 5-minute slots stand for rows at a window's edge: kept as long as the rows
    -- of their day may be.
    DELETE FROM node_entries_5min AS r WHERE r.slot < date_trunc('day', cutoff, 'UTC');
    GET DIAGNOSTICS n = ROW_COUNT;
    rollup_rows := rollup_rows + n;

    RETURN jsonb_build_object(
        'created', to_jsonb(created),
        'dropped', to_jsonb(dropped),
        'timed_out', to_jsonb(timed_out),
        'default_rows_deleted', default_rows,
        'rollup_rows_deleted', rollup_rows);
END;
$_$;


--
-- Name: node_performance_between(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.node_performance_between(p_since timestamp with time zone, p_until timestamp with time zone) RETURNS TABLE(node text, runs bigint, failures bigint, failure_rate numeric, avg_ms numeric, p50_ms numeric, p95_ms numeric, p99_ms numeric)
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode TO 'force_custom_plan'
    SET jit TO 'off'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    SET max_parallel_workers_per_gather TO '0'
    AS $$
#variable_conflict use_column
DECLARE
    -- the window from p_since on, minus the one from p_until on
    s record := node_rollup_edge(coalesce(p_since, '-infinity'));
    u record := node_rollup_edge(coalesce(p_until, 'infinity'));
BEGIN
    RETURN QUERY
    WITH edge AS MATERIALIZED (
        -- Each edge by its own constant range (an index range scan): a join of the
        -- rows to a list of ranges is planned as a scan of the table.
        SELECT s.raw_sign AS sign, t.node, t.status, t.duration_ms
        FROM execution_logs AS l, trace_node_entries(l.execution_trace) AS t
        WHERE l.started_at >= s.raw_lo AND l.started_at < s.raw_hi
        UNION ALL
        SELECT -u.raw_sign, t.node, t.status, t.duration_ms
        FROM execution_logs AS l, trace_node_entries(l.execution_trace) AS t
        WHERE l.started_at >= u.raw_lo AND l.started_at < u.raw_hi
    ),
    slots AS MATERIALIZED (
        SELECT s.fine_sign AS sign, f.node, f.bucket, f.attempts, f.failed_attempts,
               f.duration_ms_sum
        FROM node_entries_5min AS f
        WHERE f.slot >= s.fine_lo AND f.slot < s.fine_hi
        UNION ALL
        SELECT -u.fine_sign, f.node, f.bucket, f.attempts, f.failed_attempts,
               f.duration_ms_sum
        FROM node_entries_5min AS f
        WHERE f.slot >= u.fine_lo AND f.slot < u.fine_hi
    ),
    counts AS (
        SELECT c.node, sum(c.attempts) AS attempts, sum(c.failed_attempts) AS failed_attempts
        FROM (
            SELECT r.node, r.attempts, r.failed_attempts
            FROM node_rollups_hourly AS r
            WHERE r.hour >= s.hour_from AND r.hour < u.hour_from
            UNION ALL
            SELECT f.node, f.sign * f.attempts, f.sign * f.failed_attempts
            FROM slots AS f
            UNION ALL
            SELECT e.node, e.sign, CASE WHEN e.status = 'failed' THEN e.sign ELSE 0 END
            FROM edge AS e
        ) AS c
        GROUP BY c.node
        HAVING sum(c.attempts) > 0
    ),
    buckets AS (
        SELECT b.node, b.bucket, sum(b.attempts) AS attempts,
               sum(b.duration_ms_sum) AS duration_ms_sum
        FROM (
            SELECT r.node, r.bucket, r.attempts, r.duration_ms_sum
            FROM node_durations_hourly AS r
            WHERE r.hour >= s.hour_from AND r.hour < u.hour_from
            UNION ALL
            SELECT f.node, f.bucket, f.sign * f.attempts, f.sign * f.duration_ms_sum
            FROM slots AS f
            WHERE f.bucket IS NOT NULL
            UNION ALL
            SELECT e.node, duration_bucket(e.duration_ms), e.sign, e.sign * e.duration_ms
            FROM edge AS e
            WHERE e.duration_ms IS NOT NULL
        ) AS b
        GROUP BY b.node, b.bucket
        HAVING sum(b.attempts) > 0
    ),
    histograms AS (
        SELECT b.node, array_agg(b.attempts ORDER BY b.bucket) AS counts,
               array_agg(b.duration_ms_sum ORDER BY b.bucket) AS sums,
               sum(b.attempts) AS timed, sum(b.duration_ms_sum) AS total_ms
        FROM buckets AS b
        GROUP BY b.node
    )
    SELECT c.node, c.attempts::bigint, c.failed_attempts::bigint,
           round(100.0 * c.failed_attempts / c.attempts, 2),
           round(h.total_ms / h.timed, 3),
           round(histogram_percentile(h.counts, h.sums, 0.50), 3),
           round(histogram_percentile(h.counts, h.sums, 0.95), 3),
           round(histogram_percentile(h.counts, h.sums, 0.99), 3)
    FROM counts AS c
    LEFT JOIN histograms AS h ON h.node IS NOT DISTINCT FROM c.node
    ORDER BY c.attempts DESC, c.node;
END;
$$;


--
-- Name: node_performance_since(timestamp with time zone); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.node_performance_since(p_since timestamp with time zone) RETURNS TABLE(node text, runs bigint, failures bigint, failure_rate numeric, avg_ms numeric, p50_ms numeric, p95_ms numeric, p99_ms numeric)
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    BEGIN ATOMIC
 SELECT node_performance_between.node,
     node_performance_between.runs,
     node_performance_between.failures,
     node_performance_between.failure_rate,
     node_performance_between.avg_ms,
     node_performance_between.p50_ms,
     node_performance_between.p95_ms,
     node_performance_between.p99_ms
    FROM execution_monitor.node_performance_between(node_performance_since.p_since, NULL::timestamp with time zone) node_performance_between(node, runs, failures, failure_rate, avg_ms, p50_ms, p95_ms, p99_ms);
END;


--
-- Name: node_performance(integer); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.node_performance(p_hours integer DEFAULT 24) RETURNS TABLE(node text, runs bigint, failures bigint, failure_rate numeric, avg_ms numeric, p50_ms numeric, p95_ms numeric, p99_ms numeric)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    BEGIN ATOMIC
 SELECT node_performance_since.node,
     node_performance_since.runs,
     node_performance_since.failures,
     node_performance_since.failure_rate,
     node_performance_since.avg_ms,
     node_performance_since.p50_ms,
     node_performance_since.p95_ms,
     node_performance_since.p99_ms
    FROM execution_monitor.node_performance_since((now() - make_interval(hours => node_performance.p_hours))) node_performance_since(node, runs, failures, failure_rate, avg_ms, p50_ms, p95_ms, p99_ms);
END;


--
-- Name: node_performance_filtered(integer, timestamp with time zone, timestamp with time zone, text, text, text, text, text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.node_performance_filtered(p_hours integer DEFAULT NULL::integer, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone, p_status text DEFAULT NULL::text, p_user_id text DEFAULT NULL::text, p_user_id_prefix text DEFAULT NULL::text, p_conversation_id text DEFAULT NULL::text, p_q text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET plan_cache_mode TO 'force_custom_plan'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    SET jit TO 'off'
    AS $$
DECLARE
    w record := filter_window(p_hours, p_since, p_until);
    pattern text := CASE WHEN p_q <> '' THEN like_pattern(p_q) END;
    user_pattern text := CASE WHEN p_user_id_prefix <> '' THEN like_prefix_pattern(p_user_id_prefix) END;
    nodes jsonb;
BEGIN
    PERFORM check_status(p_status);
    PERFORM check_search(p_q);
    IF p_status IS NULL AND p_user_id IS NULL AND user_pattern IS NULL
       AND p_conversation_id IS NULL AND pattern IS NULL THEN
        SELECT coalesce(jsonb_agg(to_jsonb(n)), '[]'::jsonb) INTO nodes
        FROM node_performance_between(w.since, w.until) AS n;
    ELSE
        WITH e AS MATERIALIZED (
            SELECT t.node, t.status, t.duration_ms
            FROM execution_logs AS l, trace_node_entries(l.execution_trace) AS t
            WHERE (w.since IS NULL OR l.started_at >= w.since)
              AND (w.until IS NULL OR l.started_at < w.until)
              AND (p_status IS NULL OR l.status = p_status)
              AND (p_user_id IS NULL OR l.user_id = p_user_id)
              AND (user_pattern IS NULL OR l.user_id LIKE user_pattern)
              AND (p_conversation_id IS NULL OR l.conversation_id = p_conversation_id)
              AND (pattern IS NULL
                   OR execution_search_text_v2(l.id, l.conversation_id, l.user_id,
                                               l.request_message, l.response_message,
                                               l.error_summary, l.failed_nodes)
                      ILIKE pattern)
        ),
        per_node AS (
            SELECT e.node,
                   count(*) AS runs,
                   count(*) FILTER (WHERE e.status = 'failed') AS failures,
                   round(100.0 * count(*) FILTER (WHERE e.status = 'failed') / count(*), 2)
                       AS failure_rate,
                   round(avg(e.duration_ms), 3) AS avg_ms,
                   round((percentile_cont(0.50) WITHIN GROUP (ORDER BY e.duration_ms))::numeric, 3)
                       AS p50_ms,
                   round((percentile_cont(0.95) WITHIN GROUP (ORDER BY e.duration_ms))::numeric, 3)
                       AS p95_ms,
                   round((percentile_cont(0.99) WITHIN GROUP (ORDER BY e.duration_ms))::numeric, 3)
                       AS p99_ms
            FROM e
            GROUP BY e.node
        )
        SELECT coalesce(jsonb_agg(to_jsonb(p) ORDER BY p.runs DESC, p.node), '[]'::jsonb)
        INTO nodes
        FROM per_node AS p;
    END IF;
    RETURN filter_window_json(w.since, w.until) || jsonb_build_object('nodes', nodes);
END;
$$;


--
-- Name: node_performance_json(integer); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.node_performance_json(p_hours integer DEFAULT 24) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    PERFORM check_hours(p_hours);
    RETURN jsonb_build_object(
        'time_range_hours', p_hours,
        'nodes', (SELECT coalesce(jsonb_agg(to_jsonb(n)), '[]'::jsonb)
                  FROM node_performance(p_hours) AS n));
END;
$$;


--
-- Name: node_rollup_edge(timestamp with time zone); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.node_rollup_edge(p_at timestamp with time zone, OUT hour_from timestamp with time zone, OUT fine_lo timestamp with time zone, OUT fine_hi timestamp with time zone, OUT fine_sign integer, OUT raw_lo timestamp with time zone, OUT raw_hi timestamp with time zone, OUT raw_sign integer) RETURNS record
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    slot timestamptz;
    boundary timestamptz;
    hour_start timestamptz;
BEGIN
    IF NOT isfinite(p_at) THEN
        hour_from := p_at;
        fine_lo := p_at; fine_hi := p_at; fine_sign := 0;
        raw_lo := p_at; raw_hi := p_at; raw_sign := 0;
        RETURN;
    END IF;
    slot := rollup_slot(p_at);
    IF p_at - slot < interval '150 seconds' THEN
        boundary := slot;  -- minus the rows in [slot, p_at)
        raw_lo := slot; raw_hi := p_at; raw_sign := -1;
    ELSE
        boundary := slot + interval '5 minutes';  -- plus the rows in [p_at, boundary)
        raw_lo := p_at; raw_hi := boundary; raw_sign := 1;
    END IF;
    hour_start := date_trunc('hour', boundary, 'UTC');
    IF boundary - hour_start <= interval '30 minutes' THEN
        hour_from := hour_start;  -- minus the slots in [hour, boundary)
        fine_lo := hour_start; fine_hi := boundary; fine_sign := -1;
    ELSE
        hour_from := hour_start + interval '1 hour';  -- plus the slots up to the hour
        fine_lo := boundary; fine_hi := hour_from; fine_sign := 1;
    END IF;
END;
$$;


--
-- Name: rebuild_rollups(); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.rebuild_rollups() RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    hour_start timestamptz;
    counted bigint := 0;
    n bigint;
BEGIN
    TRUNCATE execution_rollups_hourly, execution_durations_hourly, node_rollups_hourly,
             node_durations_hourly, node_entries_5min;
    FOR hour_start IN
        SELECT DISTINCT date_trunc('hour', l.started_at, 'UTC') FROM execution_logs AS l ORDER BY 1
    LOOP
        SELECT rollup_apply(array_agg(1), array_agg(l.started_at), array_agg(l.status::text),
                            array_agg(l.total_duration_ms), array_agg(l.input_tokens),
                            array_agg(l.output_tokens), array_agg(l.total_tokens),
                            array_agg(l.execution_trace), array_agg(l.failed_nodes))
        INTO n
        FROM execution_logs AS l
        WHERE l.started_at >= hour_start AND l.started_at < hour_start + interval '1 hour';
        counted := counted + n;
    END LOOP;
    RETURN counted;
END;
$$;


--
-- Name: rollup_apply(integer[], timestamp with time zone[], text[], integer[], integer[], integer[], integer[], jsonb[], jsonb[]); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.rollup_apply(p_signs integer[], p_started_at timestamp with time zone[], p_statuses text[], p_durations integer[], p_input_tokens integer[], p_output_tokens integer[], p_total_tokens integer[], p_traces jsonb[], p_failed_nodes jsonb[]) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    WITH r AS MATERIALIZED (
        SELECT u.sign, date_trunc('hour', u.started_at, 'UTC') AS hour,
               rollup_slot(u.started_at) AS slot, u.status, u.duration,
               u.input_tokens, u.output_tokens, u.total_tokens, u.trace, u.failed
        FROM unnest(p_signs, p_started_at, p_statuses, p_durations, p_input_tokens,
                    p_output_tokens, p_total_tokens, p_traces, p_failed_nodes)
             AS u(sign, started_at, status, duration, input_tokens, output_tokens,
                  total_tokens, trace, failed)
    ),
    runs AS (
        INSERT INTO execution_rollups_hourly (
            hour, runs, completed, failed, partial, running, interrupted, input_tokens,
            output_tokens, total_tokens)
        SELECT hour, sum(sign),
               coalesce(sum(sign) FILTER (WHERE status = 'completed'), 0),
               coalesce(sum(sign) FILTER (WHERE status = 'failed'), 0),
               coalesce(sum(sign) FILTER (WHERE status = 'partial'), 0),
               coalesce(sum(sign) FILTER (WHERE status = 'running'), 0),
               coalesce(sum(sign) FILTER (WHERE status = 'interrupted'), 0),
               coalesce(sum(sign * input_tokens::bigint), 0),
               coalesce(sum(sign * output_tokens::bigint), 0),
               coalesce(sum(sign * total_tokens::bigint), 0)
        FROM r
        GROUP BY hour
        ORDER BY hour
    ),
    run_durations AS (
        INSERT INTO execution_durations_hourly (hour, bucket, runs, duration_ms_sum)
        SELECT hour, duration_bucket(duration), sum(sign), sum(sign * duration::bigint)
        FROM r
        WHERE duration IS NOT NULL
        GROUP BY 1, 2
        -- A run whose stale close is replaced by its real finish in the same bucket
        -- nets the count to zero, not the sum: keep the group for its sum.
        HAVING sum(sign) <> 0 OR sum(sign * duration::bigint) <> 0
        ORDER BY 1, 2
    ),
    entries AS MATERIALIZED (
        SELECT r.sign, r.slot, e.*
        FROM r, trace_node_entries(r.trace) AS e
        WHERE r.trace IS NOT NULL
    ),
    -- The entries added up once, per slot, node and duration bucket: the 5-minute rows,
    -- and what the hourly node rollups add up (fewer rows than the entries).
    slot_groups AS MATERIALIZED (
        SELECT slot, date_trunc('hour', slot, 'UTC') AS hour, node,
               -- duration_bucket(NULL) is the top bucket, not NULL
               CASE WHEN duration_ms IS NOT NULL THEN duration_bucket(duration_ms) END
                   AS bucket,
               sum(sign) AS attempts,
               coalesce(sum(sign) FILTER (WHERE status = 'failed'), 0) AS failed_attempts,
               coalesce(sum(sign * duration_ms), 0) AS duration_ms_sum,
               sum(sign * coalesce(input_tokens, 0)) AS input_tokens,
               sum(sign * coalesce(output_tokens, 0)) AS output_tokens,
               sum(sign * coalesce(total_tokens, 0)) AS total_tokens
        FROM entries
        GROUP BY slot, node, 4
    ),
    node_counts AS (
        SELECT hour, node, attempts, failed_attempts, 0 AS failed_runs, input_tokens,
               output_tokens, total_tokens
        FROM slot_groups
        UNION ALL
        -- failed_nodes_breakdown: a node once per failed or partial run naming it
        SELECT r.hour, f.node, 0, 0, r.sign, 0, 0, 0
        FROM r, LATERAL (SELECT DISTINCT n.value AS node
                         FROM jsonb_array_elements_text(r.failed) AS n) AS f
        WHERE r.status IN ('failed', 'partial') AND jsonb_typeof(r.failed) = 'array'
    ),
    nodes AS (
        INSERT INTO node_rollups_hourly (
            hour, node, attempts, failed_attempts, failed_runs, input_tokens, output_tokens,
            total_tokens)
        SELECT hour, node, sum(attempts), sum(failed_attempts), sum(failed_runs),
               sum(input_tokens), sum(output_tokens), sum(total_tokens)
        FROM node_counts
        GROUP BY hour, node
        ORDER BY hour, node
    ),
    fine AS (
        INSERT INTO node_entries_5min (
            slot, node, bucket, attempts, failed_attempts, duration_ms_sum)
        SELECT slot, node, bucket, attempts, failed_attempts, duration_ms_sum
        FROM slot_groups
        WHERE attempts <> 0 OR failed_attempts <> 0 OR duration_ms_sum <> 0
        ORDER BY slot, node, bucket
    )
    INSERT INTO node_durations_hourly (hour, node, bucket, attempts, duration_ms_sum)
    SELECT hour, node, bucket, sum(attempts), sum(duration_ms_sum)
    FROM slot_groups
    WHERE bucket IS NOT NULL
    GROUP BY 1, 2, 3
    HAVING sum(attempts) <> 0 OR sum(duration_ms_sum) <> 0
    ORDER BY 1, 2, 3;
    RETURN coalesce(cardinality(p_signs), 0);
END;
$$;


--
-- Name: rollup_slot(timestamp with time zone); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.rollup_slot(p_at timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN date_bin('00:05:00'::interval, p_at, '2000-01-01 00:00:00+00'::timestamp with time zone);


--
-- Name: rollup_window(timestamp with time zone); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.rollup_window(p_since timestamp with time zone, OUT rollup_from timestamp with time zone, OUT raw_from timestamp with time zone, OUT raw_until timestamp with time zone, OUT raw_sign integer) RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    hour_start timestamptz := date_trunc('hour', p_since, 'UTC');
BEGIN
    IF p_since - hour_start < interval '30 minutes' THEN
        rollup_from := hour_start;
        raw_from := hour_start;
        raw_until := p_since;
        raw_sign := -1;
    ELSE
        rollup_from := hour_start + interval '1 hour';
        raw_from := p_since;
        raw_until := rollup_from;
        raw_sign := 1;
    END IF;
END;
$$;


--
-- Name: rollup_window_between(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.rollup_window_between(p_since timestamp with time zone, p_until timestamp with time zone, OUT rollup_from timestamp with time zone, OUT rollup_until timestamp with time zone, OUT since_lo timestamp with time zone, OUT since_hi timestamp with time zone, OUT since_sign integer, OUT until_lo timestamp with time zone, OUT until_hi timestamp with time zone, OUT until_sign integer) RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
DECLARE
    s record;
    u record;
BEGIN
    IF p_since IS NULL THEN
        rollup_from := '-infinity';
        since_lo := '-infinity';
        since_hi := '-infinity';
        since_sign := 0;
    ELSE
        s := rollup_window(p_since);
        rollup_from := s.rollup_from;
        since_lo := s.raw_from;
        since_hi := s.raw_until;
        since_sign := s.raw_sign;
    END IF;
    IF p_until IS NULL THEN
        rollup_until := 'infinity';
        until_lo := 'infinity';
        until_hi := 'infinity';
        until_sign := 0;
    ELSE  -- minus the window from p_until
        u := rollup_window(p_until);
        rollup_until := u.rollup_from;
        until_lo := u.raw_from;
        until_hi := u.raw_until;
        until_sign := -u.raw_sign;
    END IF;
END;
$$;


--
-- Name: tg_execution_logs__change_xid(); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.tg_execution_logs__change_xid() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    NEW.change_xid := pg_current_xact_id();
    RETURN NEW;
END;
$$;


--
-- Name: tg_execution_logs__notify(); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.tg_execution_logs__notify() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    PERFORM pg_notify('execution_events', chunk.payload)
    FROM (
        SELECT jsonb_agg(jsonb_build_array(id, status, change_seq) ORDER BY change_seq)::text
               AS payload
        FROM (SELECT id, status, change_seq, (row_number() OVER () - 1) / 100 AS chunk_no
              FROM changed_rows) AS numbered
        GROUP BY chunk_no
    ) AS chunk;
    RETURN NULL;
END;
$$;


--
-- Name: tg_execution_logs__rollup_delete(); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.tg_execution_logs__rollup_delete() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    PERFORM rollup_apply(array_agg(-1), array_agg(o.started_at), array_agg(o.status::text),
                         array_agg(o.total_duration_ms), array_agg(o.input_tokens),
                         array_agg(o.output_tokens), array_agg(o.total_tokens),
                         array_agg(o.execution_trace), array_agg(o.failed_nodes))
    FROM old_rows AS o
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$;


--
-- Name: tg_execution_logs__rollup_insert(); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.tg_execution_logs__rollup_insert() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    -- A statement of starts alone (an app's usual batch when its runs outlast the
    -- flush interval) adds running runs per hour and nothing else: no duration, trace,
    -- tokens or failed nodes. One INSERT then, rather than rollup_apply's statement
    -- (about a quarter of a small batch of starts' server time).
    IF NOT EXISTS (
        SELECT FROM new_rows AS n
        WHERE n.status <> 'running' OR n.execution_trace IS NOT NULL
           OR n.total_duration_ms IS NOT NULL OR n.input_tokens IS NOT NULL
           OR n.output_tokens IS NOT NULL OR n.total_tokens IS NOT NULL
    ) THEN
        INSERT INTO execution_rollups_hourly (hour, runs, running)
        SELECT date_trunc('hour', n.started_at, 'UTC'), count(*), count(*)
        FROM new_rows AS n
        GROUP BY 1
        ORDER BY 1;
        RETURN NULL;
    END IF;
    PERFORM rollup_apply(array_agg(1), array_agg(n.started_at), array_agg(n.status::text),
                         array_agg(n.total_duration_ms), array_agg(n.input_tokens),
                         array_agg(n.output_tokens), array_agg(n.total_tokens),
                         array_agg(n.execution_trace), array_agg(n.failed_nodes))
    FROM new_rows AS n
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$;


--
-- Name: tg_execution_logs__rollup_truncate(); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.tg_execution_logs__rollup_truncate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    TRUNCATE execution_rollups_hourly, execution_durations_hourly, node_rollups_hourly,
             node_durations_hourly, node_entries_5min;
    RETURN NULL;
END;
$$;


--
-- Name: tg_execution_logs__rollup_update(); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.tg_execution_logs__rollup_update() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    AS $$
BEGIN
    PERFORM rollup_apply(array_agg(c.sign), array_agg(c.started_at), array_agg(c.status::text),
                         array_agg(c.total_duration_ms), array_agg(c.input_tokens),
                         array_agg(c.output_tokens), array_agg(c.total_tokens),
                         array_agg(c.execution_trace), array_agg(c.failed_nodes))
    FROM (SELECT 1 AS sign, n.started_at, n.status, n.total_duration_ms, n.input_tokens,
                 n.output_tokens, n.total_tokens, n.execution_trace, n.failed_nodes
          FROM new_rows AS n
          UNION ALL
          SELECT -1, o.started_at, o.status, o.total_duration_ms, o.input_tokens,
                 o.output_tokens, o.total_tokens, o.execution_trace, o.failed_nodes
          FROM old_rows AS o) AS c
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$;


--
-- Name: thread_summaries(integer, text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.thread_summaries(p_hours integer DEFAULT 24, p_user_id text DEFAULT NULL::text) RETURNS TABLE(conversation_id text, user_id text, turns bigint, failed_turns bigint, partial_turns bigint, running_turns bigint, first_started_at timestamp with time zone, last_activity timestamp with time zone, p50_duration_ms integer, p99_duration_ms integer, input_tokens bigint, output_tokens bigint, total_tokens bigint, last_status text, last_request text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
BEGIN
    PERFORM check_hours(p_hours);
    RETURN QUERY
    SELECT l.conversation_id::text,
           (array_agg(l.user_id::text ORDER BY l.started_at DESC, l.id DESC))[1],
           count(*),
           count(*) FILTER (WHERE l.status = 'failed'),
           count(*) FILTER (WHERE l.status = 'partial'),
           count(*) FILTER (WHERE l.status = 'running'),
           min(l.started_at),
           max(coalesce(l.completed_at, l.started_at)),
           round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l.total_duration_ms))::integer,
           round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l.total_duration_ms))::integer,
           coalesce(sum(l.input_tokens), 0)::bigint,
           coalesce(sum(l.output_tokens), 0)::bigint,
           coalesce(sum(l.total_tokens), 0)::bigint,
           (array_agg(l.status::text ORDER BY l.started_at DESC, l.id DESC))[1],
           left((array_agg(l.request_message ORDER BY l.started_at DESC, l.id DESC))[1], 200)
    FROM execution_logs l
    WHERE l.started_at >= now() - make_interval(hours => p_hours)
      AND l.conversation_id IS NOT NULL
      AND (p_user_id IS NULL OR l.user_id = p_user_id)
    GROUP BY l.conversation_id;
END;
$$;


--
-- Name: thread_summaries_window(timestamp with time zone, timestamp with time zone, text, text); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.thread_summaries_window(p_since timestamp with time zone, p_until timestamp with time zone, p_user_id text DEFAULT NULL::text, p_user_id_prefix text DEFAULT NULL::text) RETURNS TABLE(conversation_id text, user_id text, turns bigint, failed_turns bigint, partial_turns bigint, running_turns bigint, first_started_at timestamp with time zone, last_activity timestamp with time zone, p50_duration_ms integer, p99_duration_ms integer, input_tokens bigint, output_tokens bigint, total_tokens bigint, last_status text, last_request text)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
DECLARE
    user_pattern text := CASE WHEN p_user_id_prefix <> '' THEN like_prefix_pattern(p_user_id_prefix) END;
BEGIN
    RETURN QUERY
    SELECT l.conversation_id::text,
           (array_agg(l.user_id::text ORDER BY l.started_at DESC, l.id DESC))[1],
           count(*),
           count(*) FILTER (WHERE l.status = 'failed'),
           count(*) FILTER (WHERE l.status = 'partial'),
           count(*) FILTER (WHERE l.status = 'running'),
           min(l.started_at),
           max(coalesce(l.completed_at, l.started_at)),
           round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l.total_duration_ms))::integer,
           round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l.total_duration_ms))::integer,
           coalesce(sum(l.input_tokens), 0)::bigint,
           coalesce(sum(l.output_tokens), 0)::bigint,
           coalesce(sum(l.total_tokens), 0)::bigint,
           (array_agg(l.status::text ORDER BY l.started_at DESC, l.id DESC))[1],
           left((array_agg(l.request_message ORDER BY l.started_at DESC, l.id DESC))[1], 200)
    FROM execution_logs l
    WHERE (p_since IS NULL OR l.started_at >= p_since)
      AND (p_until IS NULL OR l.started_at < p_until)
      AND l.conversation_id IS NOT NULL
      AND (p_user_id IS NULL OR l.user_id = p_user_id)
      AND (user_pattern IS NULL OR l.user_id LIKE user_pattern)
    GROUP BY l.conversation_id;
END;
$$;


--
-- Name: trace_node_entries(jsonb); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.trace_node_entries(p_trace jsonb) RETURNS TABLE(node text, status text, duration_ms numeric, input_tokens numeric, output_tokens numeric, total_tokens numeric)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    BEGIN ATOMIC
 SELECT (e.value ->> 'node'::text),
     (e.value ->> 'status'::text),
     execution_monitor.jsonb_number((e.value -> 'execution_time_ms'::text)) AS jsonb_number,
     execution_monitor.jsonb_number(((e.value -> 'tokens'::text) -> 'input'::text)) AS jsonb_number,
     execution_monitor.jsonb_number(((e.value -> 'tokens'::text) -> 'output'::text)) AS jsonb_number,
     execution_monitor.jsonb_number(((e.value -> 'tokens'::text) -> 'total'::text)) AS jsonb_number
    FROM jsonb_array_elements(
         CASE
             WHEN (jsonb_typeof(trace_node_entries.p_trace) = 'array'::text) THEN trace_node_entries.p_trace
             ELSE '[]'::jsonb
         END) e(value);
END;


--
-- Name: user_id_suggestions(text, integer); Type: FUNCTION; Schema: execution_monitor; Owner: -
--

CREATE FUNCTION execution_monitor.user_id_suggestions(p_prefix text DEFAULT ''::text, p_limit integer DEFAULT 20) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET plan_cache_mode TO 'force_custom_plan'
    SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'
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


SET default_table_access_method = heap;

--
-- Name: conversations; Type: TABLE; Schema: execution_monitor; Owner: -
--

CREATE TABLE execution_monitor.conversations (
    id character varying(255) NOT NULL,
    user_id character varying(255),
    created_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: execution_durations_hourly; Type: TABLE; Schema: execution_monitor; Owner: -
--

CREATE TABLE execution_monitor.execution_durations_hourly (
    hour timestamp with time zone NOT NULL,
    bucket smallint NOT NULL,
    runs bigint DEFAULT 0 NOT NULL,
    duration_ms_sum bigint DEFAULT 0 NOT NULL,
    compacted boolean DEFAULT false NOT NULL
);


--
-- Name: execution_heartbeats; Type: TABLE; Schema: execution_monitor; Owner: -
--

CREATE TABLE execution_monitor.execution_heartbeats (
    execution_id text NOT NULL,
    last_seen_at timestamp with time zone NOT NULL
);


--
-- Name: execution_logs_change_seq; Type: SEQUENCE; Schema: execution_monitor; Owner: -
--

CREATE SEQUENCE execution_monitor.execution_logs_change_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: execution_logs_change_seq; Type: SEQUENCE OWNED BY; Schema: execution_monitor; Owner: -
--

ALTER SEQUENCE execution_monitor.execution_logs_change_seq OWNED BY execution_monitor.execution_logs.change_seq;


--
-- Name: execution_logs_default; Type: TABLE; Schema: execution_monitor; Owner: -
--

CREATE TABLE execution_monitor.execution_logs_default (
    id character varying(255) NOT NULL,
    conversation_id character varying(255),
    user_id character varying(255) NOT NULL,
    request_message text NOT NULL,
    response_message text,
    status character varying(50) DEFAULT 'running'::character varying NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    completed_at timestamp with time zone,
    total_duration_ms integer,
    execution_trace jsonb,
    error_summary text,
    failed_nodes jsonb DEFAULT '[]'::jsonb,
    change_seq bigint DEFAULT nextval('execution_monitor.execution_logs_change_seq'::regclass) NOT NULL,
    input jsonb,
    input_tokens integer,
    output_tokens integer,
    total_tokens integer,
    llm_calls integer,
    closed_stale_at timestamp with time zone,
    stale_close_replaced_at timestamp with time zone,
    change_xid xid8 DEFAULT pg_current_xact_id(),
    CONSTRAINT execution_logs_status_check CHECK (((status)::text = ANY ('{running,completed,failed,partial,interrupted}'::text[])))
)
WITH (autovacuum_vacuum_scale_factor='0.01', autovacuum_analyze_scale_factor='0.02');


--
-- Name: execution_rollups_hourly; Type: TABLE; Schema: execution_monitor; Owner: -
--

CREATE TABLE execution_monitor.execution_rollups_hourly (
    hour timestamp with time zone NOT NULL,
    runs bigint DEFAULT 0 NOT NULL,
    completed bigint DEFAULT 0 NOT NULL,
    failed bigint DEFAULT 0 NOT NULL,
    partial bigint DEFAULT 0 NOT NULL,
    running bigint DEFAULT 0 NOT NULL,
    interrupted bigint DEFAULT 0 NOT NULL,
    input_tokens bigint DEFAULT 0 NOT NULL,
    output_tokens bigint DEFAULT 0 NOT NULL,
    total_tokens bigint DEFAULT 0 NOT NULL,
    compacted boolean DEFAULT false NOT NULL
);


--
-- Name: execution_stats_hourly; Type: VIEW; Schema: execution_monitor; Owner: -
--

CREATE VIEW execution_monitor.execution_stats_hourly AS
 SELECT date_trunc('hour'::text, execution_logs.started_at) AS hour,
    count(*) AS total,
    count(*) FILTER (WHERE ((execution_logs.status)::text = 'completed'::text)) AS completed,
    count(*) FILTER (WHERE ((execution_logs.status)::text = 'partial'::text)) AS partial,
    count(*) FILTER (WHERE ((execution_logs.status)::text = 'failed'::text)) AS failed,
    count(*) FILTER (WHERE ((execution_logs.status)::text = 'running'::text)) AS running,
    round(((100.0 * (count(*) FILTER (WHERE ((execution_logs.status)::text = 'completed'::text)))::numeric) / (count(*))::numeric), 2) AS success_rate,
    round(avg(execution_logs.total_duration_ms)) AS avg_duration_ms,
    round(percentile_cont((0.95)::double precision) WITHIN GROUP (ORDER BY ((execution_logs.total_duration_ms)::double precision))) AS p95_duration_ms
   FROM execution_monitor.execution_logs
  WHERE (execution_logs.started_at >= (now() - '7 days'::interval))
  GROUP BY (date_trunc('hour'::text, execution_logs.started_at))
  ORDER BY (date_trunc('hour'::text, execution_logs.started_at)) DESC;


--
-- Name: failed_node_breakdown; Type: VIEW; Schema: execution_monitor; Owner: -
--

CREATE VIEW execution_monitor.failed_node_breakdown AS
 SELECT failed_nodes_breakdown.node,
    failed_nodes_breakdown.failed_runs
   FROM execution_monitor.failed_nodes_breakdown(24) failed_nodes_breakdown(node, failed_runs);


--
-- Name: node_durations_hourly; Type: TABLE; Schema: execution_monitor; Owner: -
--

CREATE TABLE execution_monitor.node_durations_hourly (
    hour timestamp with time zone NOT NULL,
    node text,
    bucket smallint NOT NULL,
    attempts bigint DEFAULT 0 NOT NULL,
    duration_ms_sum numeric DEFAULT 0 NOT NULL,
    compacted boolean DEFAULT false NOT NULL
);


--
-- Name: node_entries_5min; Type: TABLE; Schema: execution_monitor; Owner: -
--

CREATE TABLE execution_monitor.node_entries_5min (
    slot timestamp with time zone NOT NULL,
    node text,
    bucket smallint,
    attempts bigint DEFAULT 0 NOT NULL,
    failed_attempts bigint DEFAULT 0 NOT NULL,
    duration_ms_sum numeric DEFAULT 0 NOT NULL,
    compacted boolean DEFAULT false NOT NULL
);


--
-- Name: node_performance_24h; Type: VIEW; Schema: execution_monitor; Owner: -
--

CREATE VIEW execution_monitor.node_performance_24h AS
 SELECT node_performance.node,
    node_performance.runs,
    node_performance.failures,
    node_performance.failure_rate,
    node_performance.avg_ms,
    node_performance.p50_ms,
    node_performance.p95_ms,
    node_performance.p99_ms
   FROM execution_monitor.node_performance(24) node_performance(node, runs, failures, failure_rate, avg_ms, p50_ms, p95_ms, p99_ms);


--
-- Name: node_rollups_hourly; Type: TABLE; Schema: execution_monitor; Owner: -
--

CREATE TABLE execution_monitor.node_rollups_hourly (
    hour timestamp with time zone NOT NULL,
    node text,
    attempts bigint DEFAULT 0 NOT NULL,
    failed_attempts bigint DEFAULT 0 NOT NULL,
    failed_runs bigint DEFAULT 0 NOT NULL,
    input_tokens numeric DEFAULT 0 NOT NULL,
    output_tokens numeric DEFAULT 0 NOT NULL,
    total_tokens numeric DEFAULT 0 NOT NULL,
    compacted boolean DEFAULT false NOT NULL
);


--
-- Name: recent_executions; Type: VIEW; Schema: execution_monitor; Owner: -
--

CREATE VIEW execution_monitor.recent_executions AS
 SELECT execution_logs.id,
    execution_logs.conversation_id,
    execution_logs.user_id,
    "left"(execution_logs.request_message, 120) AS request_excerpt,
    execution_logs.status,
    execution_logs.started_at,
    execution_logs.completed_at,
    execution_logs.total_duration_ms,
    execution_logs.failed_nodes,
    execution_logs.error_summary
   FROM execution_monitor.execution_logs
  ORDER BY execution_logs.started_at DESC, execution_logs.id DESC;


--
-- Name: schema_migrations; Type: TABLE; Schema: execution_monitor; Owner: -
--

CREATE TABLE execution_monitor.schema_migrations (
    version character varying NOT NULL
);


--
-- Name: token_usage_daily; Type: VIEW; Schema: execution_monitor; Owner: -
--

CREATE VIEW execution_monitor.token_usage_daily AS
 SELECT date_trunc('day'::text, execution_logs.started_at) AS day,
    execution_logs.user_id,
    execution_logs.conversation_id,
    count(*) AS runs,
    COALESCE(sum(execution_logs.llm_calls), (0)::bigint) AS llm_calls,
    COALESCE(sum(execution_logs.input_tokens), (0)::bigint) AS input_tokens,
    COALESCE(sum(execution_logs.output_tokens), (0)::bigint) AS output_tokens,
    COALESCE(sum(execution_logs.total_tokens), (0)::bigint) AS total_tokens
   FROM execution_monitor.execution_logs
  WHERE (execution_logs.started_at >= (now() - '30 days'::interval))
  GROUP BY (date_trunc('day'::text, execution_logs.started_at)), execution_logs.user_id, execution_logs.conversation_id
  ORDER BY (date_trunc('day'::text, execution_logs.started_at)) DESC, COALESCE(sum(execution_logs.total_tokens), (0)::bigint) DESC;


--
-- Name: execution_logs_default; Type: TABLE ATTACH; Schema: execution_monitor; Owner: -
--

ALTER TABLE ONLY execution_monitor.execution_logs ATTACH PARTITION execution_monitor.execution_logs_default DEFAULT;


--
-- Name: execution_logs change_seq; Type: DEFAULT; Schema: execution_monitor; Owner: -
--

ALTER TABLE ONLY execution_monitor.execution_logs ALTER COLUMN change_seq SET DEFAULT nextval('execution_monitor.execution_logs_change_seq'::regclass);


--
-- Name: conversations conversations_pkey; Type: CONSTRAINT; Schema: execution_monitor; Owner: -
--

ALTER TABLE ONLY execution_monitor.conversations
    ADD CONSTRAINT conversations_pkey PRIMARY KEY (id);


--
-- Name: execution_heartbeats execution_heartbeats_pkey; Type: CONSTRAINT; Schema: execution_monitor; Owner: -
--

ALTER TABLE ONLY execution_monitor.execution_heartbeats
    ADD CONSTRAINT execution_heartbeats_pkey PRIMARY KEY (execution_id);


--
-- Name: execution_logs execution_logs_pkey; Type: CONSTRAINT; Schema: execution_monitor; Owner: -
--

ALTER TABLE ONLY execution_monitor.execution_logs
    ADD CONSTRAINT execution_logs_pkey PRIMARY KEY (id, started_at);


--
-- Name: execution_logs_default execution_logs_default_pkey; Type: CONSTRAINT; Schema: execution_monitor; Owner: -
--

ALTER TABLE ONLY execution_monitor.execution_logs_default
    ADD CONSTRAINT execution_logs_default_pkey PRIMARY KEY (id, started_at);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: execution_monitor; Owner: -
--

ALTER TABLE ONLY execution_monitor.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: execution_durations_hourly_compacted; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE UNIQUE INDEX execution_durations_hourly_compacted ON execution_monitor.execution_durations_hourly USING btree (hour, bucket) WHERE compacted;


--
-- Name: execution_durations_hourly_deltas; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX execution_durations_hourly_deltas ON execution_monitor.execution_durations_hourly USING btree (hour) WHERE (NOT compacted);


--
-- Name: execution_durations_hourly_hour; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX execution_durations_hourly_hour ON execution_monitor.execution_durations_hourly USING btree (hour);


--
-- Name: idx_execution_change_seq; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX idx_execution_change_seq ON ONLY execution_monitor.execution_logs USING btree (change_seq);


--
-- Name: execution_logs_default_change_seq_idx; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX execution_logs_default_change_seq_idx ON execution_monitor.execution_logs_default USING btree (change_seq);


--
-- Name: idx_execution_change_xid_seq; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX idx_execution_change_xid_seq ON ONLY execution_monitor.execution_logs USING btree (COALESCE(change_xid, '0'::xid8), change_seq);


--
-- Name: execution_logs_default_coalesce_change_seq_idx; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX execution_logs_default_coalesce_change_seq_idx ON execution_monitor.execution_logs_default USING btree (COALESCE(change_xid, '0'::xid8), change_seq);


--
-- Name: idx_execution_conversation_date; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX idx_execution_conversation_date ON ONLY execution_monitor.execution_logs USING btree (conversation_id, started_at);


--
-- Name: execution_logs_default_conversation_id_started_at_idx; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX execution_logs_default_conversation_id_started_at_idx ON execution_monitor.execution_logs_default USING btree (conversation_id, started_at);


--
-- Name: idx_execution_search_prefix; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX idx_execution_search_prefix ON ONLY execution_monitor.execution_logs USING gin (execution_monitor.execution_search_text_v2((id)::text, (conversation_id)::text, (user_id)::text, request_message, response_message, error_summary, failed_nodes) public.gin_trgm_ops) WITH (gin_pending_list_limit='512');


--
-- Name: execution_logs_default_execution_search_text_v2_idx; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX execution_logs_default_execution_search_text_v2_idx ON execution_monitor.execution_logs_default USING gin (execution_monitor.execution_search_text_v2((id)::text, (conversation_id)::text, (user_id)::text, request_message, response_message, error_summary, failed_nodes) public.gin_trgm_ops) WITH (gin_pending_list_limit='512');


--
-- Name: idx_execution_failed_nodes; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX idx_execution_failed_nodes ON ONLY execution_monitor.execution_logs USING btree (started_at) INCLUDE (failed_nodes) WHERE ((status)::text = ANY ('{failed,partial}'::text[]));


--
-- Name: execution_logs_default_started_at_failed_nodes_idx; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX execution_logs_default_started_at_failed_nodes_idx ON execution_monitor.execution_logs_default USING btree (started_at) INCLUDE (failed_nodes) WHERE ((status)::text = ANY ('{failed,partial}'::text[]));


--
-- Name: idx_execution_started_covering; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX idx_execution_started_covering ON ONLY execution_monitor.execution_logs USING btree (started_at) INCLUDE (status, total_duration_ms, input_tokens, output_tokens, total_tokens);


--
-- Name: execution_logs_default_started_at_status_total_duration_ms__idx; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX execution_logs_default_started_at_status_total_duration_ms__idx ON execution_monitor.execution_logs_default USING btree (started_at) INCLUDE (status, total_duration_ms, input_tokens, output_tokens, total_tokens);


--
-- Name: idx_execution_status_date; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX idx_execution_status_date ON ONLY execution_monitor.execution_logs USING btree (status, started_at);


--
-- Name: execution_logs_default_status_started_at_idx; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX execution_logs_default_status_started_at_idx ON execution_monitor.execution_logs_default USING btree (status, started_at);


--
-- Name: idx_execution_user_date; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX idx_execution_user_date ON ONLY execution_monitor.execution_logs USING btree (user_id, started_at);


--
-- Name: execution_logs_default_user_id_started_at_idx; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX execution_logs_default_user_id_started_at_idx ON execution_monitor.execution_logs_default USING btree (user_id, started_at);


--
-- Name: idx_execution_user_prefix; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX idx_execution_user_prefix ON ONLY execution_monitor.execution_logs USING btree (user_id varchar_pattern_ops, started_at);


--
-- Name: execution_logs_default_user_id_started_at_idx1; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX execution_logs_default_user_id_started_at_idx1 ON execution_monitor.execution_logs_default USING btree (user_id varchar_pattern_ops, started_at);


--
-- Name: execution_rollups_hourly_compacted; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE UNIQUE INDEX execution_rollups_hourly_compacted ON execution_monitor.execution_rollups_hourly USING btree (hour) WHERE compacted;


--
-- Name: execution_rollups_hourly_deltas; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX execution_rollups_hourly_deltas ON execution_monitor.execution_rollups_hourly USING btree (hour) WHERE (NOT compacted);


--
-- Name: execution_rollups_hourly_hour; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX execution_rollups_hourly_hour ON execution_monitor.execution_rollups_hourly USING btree (hour);


--
-- Name: node_durations_hourly_compacted; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE UNIQUE INDEX node_durations_hourly_compacted ON execution_monitor.node_durations_hourly USING btree (hour, node, bucket) NULLS NOT DISTINCT WHERE compacted;


--
-- Name: node_durations_hourly_deltas; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX node_durations_hourly_deltas ON execution_monitor.node_durations_hourly USING btree (hour) WHERE (NOT compacted);


--
-- Name: node_durations_hourly_hour; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX node_durations_hourly_hour ON execution_monitor.node_durations_hourly USING btree (hour);


--
-- Name: node_entries_5min_compacted; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE UNIQUE INDEX node_entries_5min_compacted ON execution_monitor.node_entries_5min USING btree (slot, node, bucket) NULLS NOT DISTINCT WHERE compacted;


--
-- Name: node_entries_5min_deltas; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX node_entries_5min_deltas ON execution_monitor.node_entries_5min USING btree (slot) WHERE (NOT compacted);


--
-- Name: node_entries_5min_slot; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX node_entries_5min_slot ON execution_monitor.node_entries_5min USING btree (slot);


--
-- Name: node_rollups_hourly_compacted; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE UNIQUE INDEX node_rollups_hourly_compacted ON execution_monitor.node_rollups_hourly USING btree (hour, node) NULLS NOT DISTINCT WHERE compacted;


--
-- Name: node_rollups_hourly_deltas; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX node_rollups_hourly_deltas ON execution_monitor.node_rollups_hourly USING btree (hour) WHERE (NOT compacted);


--
-- Name: node_rollups_hourly_hour; Type: INDEX; Schema: execution_monitor; Owner: -
--

CREATE INDEX node_rollups_hourly_hour ON execution_monitor.node_rollups_hourly USING btree (hour);


--
-- Name: execution_logs_default_change_seq_idx; Type: INDEX ATTACH; Schema: execution_monitor; Owner: -
--

ALTER INDEX execution_monitor.idx_execution_change_seq ATTACH PARTITION execution_monitor.execution_logs_default_change_seq_idx;


--
-- Name: execution_logs_default_coalesce_change_seq_idx; Type: INDEX ATTACH; Schema: execution_monitor; Owner: -
--

ALTER INDEX execution_monitor.idx_execution_change_xid_seq ATTACH PARTITION execution_monitor.execution_logs_default_coalesce_change_seq_idx;


--
-- Name: execution_logs_default_conversation_id_started_at_idx; Type: INDEX ATTACH; Schema: execution_monitor; Owner: -
--

ALTER INDEX execution_monitor.idx_execution_conversation_date ATTACH PARTITION execution_monitor.execution_logs_default_conversation_id_started_at_idx;


--
-- Name: execution_logs_default_execution_search_text_v2_idx; Type: INDEX ATTACH; Schema: execution_monitor; Owner: -
--

ALTER INDEX execution_monitor.idx_execution_search_prefix ATTACH PARTITION execution_monitor.execution_logs_default_execution_search_text_v2_idx;


--
-- Name: execution_logs_default_pkey; Type: INDEX ATTACH; Schema: execution_monitor; Owner: -
--

ALTER INDEX execution_monitor.execution_logs_pkey ATTACH PARTITION execution_monitor.execution_logs_default_pkey;


--
-- Name: execution_logs_default_started_at_failed_nodes_idx; Type: INDEX ATTACH; Schema: execution_monitor; Owner: -
--

ALTER INDEX execution_monitor.idx_execution_failed_nodes ATTACH PARTITION execution_monitor.execution_logs_default_started_at_failed_nodes_idx;


--
-- Name: execution_logs_default_started_at_status_total_duration_ms__idx; Type: INDEX ATTACH; Schema: execution_monitor; Owner: -
--

ALTER INDEX execution_monitor.idx_execution_started_covering ATTACH PARTITION execution_monitor.execution_logs_default_started_at_status_total_duration_ms__idx;


--
-- Name: execution_logs_default_status_started_at_idx; Type: INDEX ATTACH; Schema: execution_monitor; Owner: -
--

ALTER INDEX execution_monitor.idx_execution_status_date ATTACH PARTITION execution_monitor.execution_logs_default_status_started_at_idx;


--
-- Name: execution_logs_default_user_id_started_at_idx; Type: INDEX ATTACH; Schema: execution_monitor; Owner: -
--

ALTER INDEX execution_monitor.idx_execution_user_date ATTACH PARTITION execution_monitor.execution_logs_default_user_id_started_at_idx;


--
-- Name: execution_logs_default_user_id_started_at_idx1; Type: INDEX ATTACH; Schema: execution_monitor; Owner: -
--

ALTER INDEX execution_monitor.idx_execution_user_prefix ATTACH PARTITION execution_monitor.execution_logs_default_user_id_started_at_idx1;


--
-- Name: execution_logs execution_logs_change_xid; Type: TRIGGER; Schema: execution_monitor; Owner: -
--

CREATE TRIGGER execution_logs_change_xid BEFORE UPDATE ON execution_monitor.execution_logs FOR EACH ROW WHEN (((new.change_seq IS DISTINCT FROM old.change_seq) AND (NOT (new.change_xid IS DISTINCT FROM old.change_xid)))) EXECUTE FUNCTION execution_monitor.tg_execution_logs__change_xid();


--
-- Name: execution_logs execution_logs_notify_insert; Type: TRIGGER; Schema: execution_monitor; Owner: -
--

CREATE TRIGGER execution_logs_notify_insert AFTER INSERT ON execution_monitor.execution_logs REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION execution_monitor.tg_execution_logs__notify();


--
-- Name: execution_logs execution_logs_notify_update; Type: TRIGGER; Schema: execution_monitor; Owner: -
--

CREATE TRIGGER execution_logs_notify_update AFTER UPDATE ON execution_monitor.execution_logs REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION execution_monitor.tg_execution_logs__notify();


--
-- Name: execution_logs execution_logs_rollup_delete; Type: TRIGGER; Schema: execution_monitor; Owner: -
--

CREATE TRIGGER execution_logs_rollup_delete AFTER DELETE ON execution_monitor.execution_logs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION execution_monitor.tg_execution_logs__rollup_delete();


--
-- Name: execution_logs execution_logs_rollup_insert; Type: TRIGGER; Schema: execution_monitor; Owner: -
--

CREATE TRIGGER execution_logs_rollup_insert AFTER INSERT ON execution_monitor.execution_logs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION execution_monitor.tg_execution_logs__rollup_insert();


--
-- Name: execution_logs execution_logs_rollup_truncate; Type: TRIGGER; Schema: execution_monitor; Owner: -
--

CREATE TRIGGER execution_logs_rollup_truncate AFTER TRUNCATE ON execution_monitor.execution_logs FOR EACH STATEMENT EXECUTE FUNCTION execution_monitor.tg_execution_logs__rollup_truncate();


--
-- Name: execution_logs execution_logs_rollup_update; Type: TRIGGER; Schema: execution_monitor; Owner: -
--

CREATE TRIGGER execution_logs_rollup_update AFTER UPDATE ON execution_monitor.execution_logs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION execution_monitor.tg_execution_logs__rollup_update();


--
-- Name: execution_logs execution_logs_conversation_id_fkey; Type: FK CONSTRAINT; Schema: execution_monitor; Owner: -
--

ALTER TABLE execution_monitor.execution_logs
    ADD CONSTRAINT execution_logs_conversation_id_fkey FOREIGN KEY (conversation_id) REFERENCES execution_monitor.conversations(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--

\unrestrict dbmate


--
-- Dbmate schema migrations
--

INSERT INTO execution_monitor.schema_migrations (version) VALUES
    ('20261130000001'),
    ('20261130000002'),
    ('20261130000003'),
    ('20261130000004'),
    ('20261130000005'),
    ('20261130000006'),
    ('20261130000007'),
    ('20261130000008'),
    ('20261130000009'),
    ('20261201000001'),
    ('20261201000002'),
    ('20261201000003'),
    ('20261201000004'),
    ('20261201000100'),
    ('20261201000200'),
    ('20261201000300'),
    ('20261201000400'),
    ('20261201000401'),
    ('20261201000402'),
    ('20261201000403'),
    ('20261201000500'),
    ('20261201000501'),
    ('20261201000502'),
    ('20261201000503'),
    ('20261201000504'),
    ('20261202000200'),
    ('20261202000201'),
    ('20261202000202'),
    ('20261202000203'),
    ('20261202000300'),
    ('20261202000301'),
    ('20261202000400'),
    ('20261202000401'),
    ('20261203000200'),
    ('20261203000201'),
    ('20261203000202'),
    ('20261203000203'),
    ('20261205000100'),
    ('20261205000101'),
    ('20261205000102'),
    ('20261205000103'),
    ('20261207000100'),
    ('20261207000101'),
    ('20261207000102'),
    ('20261207000103'),
    ('20261207000104'),
    ('20261207000105'),
    ('20261207000200'),
    ('20261207000201'),
    ('20261207000202'),
    ('20261207000203'),
    ('20261207000300'),
    ('20261207000400'),
    ('20261207000401'),
    ('20261207000402'),
    ('20261207000403'),
    ('20261207000900'),
    ('20261207000901');
