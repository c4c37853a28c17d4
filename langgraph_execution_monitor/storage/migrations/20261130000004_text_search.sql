-- migrate:up
-- `q` on the listing: substring search over request and response, backed by a
-- trigram index (pg_trgm is a trusted extension, shipped with PostgreSQL).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- One expression for the index and the query, so the planner matches them.
CREATE FUNCTION execution_search_text(request_message text, response_message text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN request_message || E'\n' || coalesce(response_message, '');

CREATE INDEX idx_execution_search_text ON execution_logs
    USING gin (execution_search_text(request_message, response_message) gin_trgm_ops);

-- A user's text as a LIKE pattern that matches it literally, anywhere.
CREATE FUNCTION like_pattern(q text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '%' || replace(replace(replace(q, '\', '\\'), '%', '\%'), '_', '\_') || '%';

-- migrate:down
DROP INDEX idx_execution_search_text;
DROP FUNCTION like_pattern(text);
DROP FUNCTION execution_search_text(text, text);
DROP EXTENSION IF EXISTS pg_trgm;
