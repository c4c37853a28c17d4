-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- A conversation's runs may lie on any day: its listing reads every partition (one
-- index probe each), and planning that is most of its cost (about 1 ms per statement
-- at 20 partitions, twice per call). Its two statements have the same plan for any
-- conversation, so a generic plan, made once per session, serves them: the forced
-- custom plans of the plain table are dropped.
ALTER FUNCTION list_conversation_executions(text, integer, integer) RESET plan_cache_mode;
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
ALTER FUNCTION list_conversation_executions(text, integer, integer)
    SET plan_cache_mode = force_custom_plan;
SET LOCAL search_path TO DEFAULT;
