-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- What `q` searches in list_executions_v2: the ids (execution, conversation,
-- user), and the first `search_prefix_chars` characters of the request, the
-- response, the error summary and the failed nodes' names. A bounded prefix
-- keeps the trigram index (and its cost per write) the same size whatever the
-- messages' length. The index is built by the next migration; the listing
-- uses this exact expression so that the planner matches the two.
CREATE FUNCTION execution_search_text_v2(
    p_id text,
    p_conversation_id text,
    p_user_id text,
    p_request_message text,
    p_response_message text,
    p_error_summary text,
    p_failed_nodes jsonb
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(p_id, '') || E'\n' || coalesce(p_conversation_id, '') || E'\n'
    || coalesce(p_user_id, '') || E'\n'
    || coalesce(left(p_request_message, monitoring_limit('search_prefix_chars')), '') || E'\n'
    || coalesce(left(p_response_message, monitoring_limit('search_prefix_chars')), '') || E'\n'
    || coalesce(left(p_error_summary, monitoring_limit('search_prefix_chars')), '') || E'\n'
    || coalesce(left(p_failed_nodes::text, monitoring_limit('search_prefix_chars')), '');

-- `user_id_prefix`: a user id starting with this, as a LIKE pattern matching it literally.
CREATE FUNCTION like_prefix_pattern(p_prefix text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN replace(replace(replace(p_prefix, '\', '\\'), '%', '\%'), '_', '\_') || '%';

-- Back to the session's path before dbmate records the version: a bare `dbmate up`
-- records it in an unqualified schema_migrations, which must not resolve here.
RESET search_path;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
DROP FUNCTION like_prefix_pattern(text);
DROP FUNCTION execution_search_text_v2(text, text, text, text, text, text, jsonb);

RESET search_path;
