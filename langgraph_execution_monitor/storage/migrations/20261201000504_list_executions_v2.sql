-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- GET /logs for any window. list_executions stays as it was, for the previous
-- release during a rolling deploy. What v2 adds:
--  * a window of `since` (inclusive) / `until` (exclusive), or the last `hours`
--    (24 when none of the three is given; hours is not combined with the others);
--  * keyset pages: `next_cursor` names the page's last row, `before` continues
--    after it; under concurrent writes such pages never repeat nor skip a row
--    (the order, started_at then id, never changes for a row);
--  * `offset` bounded by monitoring_limit('offset_max');
--  * `total` counted exactly up to monitoring_limit('total_cap'), past it the
--    cap with `total_capped` true (a count of millions is a scan of millions);
--    a search's total is exact while that is cheap, else a floor (see below);
--  * `q` over the bounded search text of execution_search_text_v2;
--  * `user_id_prefix`.

-- The cursor of a listing row: opaque to clients (base64url of a small JSON
-- array: format version, started_at to the microsecond, id).
CREATE FUNCTION encode_listing_cursor(p_started_at timestamptz, p_id text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN rtrim(translate(encode(convert_to(jsonb_build_array(
        1, to_char(p_started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), p_id
    )::text, 'UTF8'), 'base64'), E'+/\n', '-_'), '=');

CREATE FUNCTION decode_listing_cursor(p_cursor text, OUT started_at timestamptz, OUT id text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, execution_monitor, public
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

-- How many runs match, counted up to p_cap + 1 (the listing's filters, the
-- cursor and offset aside). Planned per call, so each filter picks its index.
CREATE FUNCTION count_listed_executions(
    p_since timestamptz,
    p_until timestamptz,
    p_status text,
    p_user_id text,
    p_user_pattern text,
    p_conversation_id text,
    p_pattern text,
    p_cap integer
) RETURNS bigint
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
SET search_path = pg_catalog, execution_monitor, public
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

CREATE FUNCTION list_executions_v2(
    p_status text DEFAULT NULL,
    p_user_id text DEFAULT NULL,
    p_conversation_id text DEFAULT NULL,
    p_hours integer DEFAULT NULL,
    p_limit integer DEFAULT 50,
    p_offset integer DEFAULT 0,
    p_q text DEFAULT NULL,
    p_since timestamptz DEFAULT NULL,
    p_until timestamptz DEFAULT NULL,
    p_before text DEFAULT NULL,
    p_user_id_prefix text DEFAULT NULL
) RETURNS jsonb
LANGUAGE plpgsql STABLE
-- Each call planned with its values: unused filters fold away, and the
-- window, the cursor and the patterns pick their index.
SET plan_cache_mode = force_custom_plan
SET search_path = pg_catalog, execution_monitor, public
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

-- Back to the session's path before dbmate records the version: a bare `dbmate up`
-- records it in an unqualified schema_migrations, which must not resolve here.
RESET search_path;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
DROP FUNCTION list_executions_v2(text, text, text, integer, integer, integer, text, timestamptz,
                                 timestamptz, text, text);
DROP FUNCTION count_listed_executions(timestamptz, timestamptz, text, text, text, text, text, integer);
DROP FUNCTION decode_listing_cursor(text);
DROP FUNCTION encode_listing_cursor(timestamptz, text);

RESET search_path;
