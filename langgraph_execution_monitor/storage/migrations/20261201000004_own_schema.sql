-- migrate:up
-- Every object of the monitor in a schema of its own, so that it lives beside a host
-- app's tables without claiming generic names in `public` (graphile-worker's manners).
-- The tables carry their indexes, constraints, triggers and owned sequence along.
-- Functions with SQL-standard bodies are bound to their objects already; the others
-- resolve names at run time, so they get a fixed search_path. The dbmate migrations
-- table lives in this schema too (the library's migrate passes --migrations-table and
-- adopts the rows an earlier release left in public.schema_migrations).
CREATE SCHEMA IF NOT EXISTS execution_monitor;

ALTER VIEW recent_executions SET SCHEMA execution_monitor;
ALTER VIEW execution_stats_hourly SET SCHEMA execution_monitor;
ALTER VIEW failed_node_breakdown SET SCHEMA execution_monitor;
ALTER VIEW node_performance_24h SET SCHEMA execution_monitor;
ALTER VIEW token_usage_daily SET SCHEMA execution_monitor;

ALTER FUNCTION execution_search_text(text, text) SET SCHEMA execution_monitor;
ALTER FUNCTION like_pattern(text) SET SCHEMA execution_monitor;
ALTER FUNCTION log_start(text, text, text, text, timestamptz) SET SCHEMA execution_monitor;
ALTER FUNCTION iso_utc(timestamptz) SET SCHEMA execution_monitor;
ALTER FUNCTION failed_nodes_breakdown(integer) SET SCHEMA execution_monitor;
ALTER FUNCTION node_performance(integer) SET SCHEMA execution_monitor;
ALTER FUNCTION execution_summary_json(execution_logs) SET SCHEMA execution_monitor;
ALTER FUNCTION get_execution(text) SET SCHEMA execution_monitor;
ALTER FUNCTION executions_by_ids(text[]) SET SCHEMA execution_monitor;
ALTER FUNCTION executions_changed_since(bigint, text, text, text, integer) SET SCHEMA execution_monitor;

ALTER FUNCTION tg_execution_logs__notify() SET SCHEMA execution_monitor;
ALTER FUNCTION execution_monitor.tg_execution_logs__notify() SET search_path = pg_catalog, execution_monitor, public;
ALTER FUNCTION log_batch(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[]) SET SCHEMA execution_monitor;
ALTER FUNCTION execution_monitor.log_batch(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[]) SET search_path = pg_catalog, execution_monitor, public;
ALTER FUNCTION log_finish(text, text, text, text, timestamptz, text, jsonb, jsonb, text, text, timestamptz) SET SCHEMA execution_monitor;
ALTER FUNCTION execution_monitor.log_finish(text, text, text, text, timestamptz, text, jsonb, jsonb, text, text, timestamptz) SET search_path = pg_catalog, execution_monitor, public;
ALTER FUNCTION check_page(integer, integer) SET SCHEMA execution_monitor;
ALTER FUNCTION execution_monitor.check_page(integer, integer) SET search_path = pg_catalog, execution_monitor, public;
ALTER FUNCTION check_hours(integer) SET SCHEMA execution_monitor;
ALTER FUNCTION execution_monitor.check_hours(integer) SET search_path = pg_catalog, execution_monitor, public;
ALTER FUNCTION check_status(text) SET SCHEMA execution_monitor;
ALTER FUNCTION execution_monitor.check_status(text) SET search_path = pg_catalog, execution_monitor, public;
ALTER FUNCTION list_executions(text, text, text, integer, integer, integer, text) SET SCHEMA execution_monitor;
ALTER FUNCTION execution_monitor.list_executions(text, text, text, integer, integer, integer, text) SET search_path = pg_catalog, execution_monitor, public;
ALTER FUNCTION list_conversation_executions(text, integer, integer) SET SCHEMA execution_monitor;
ALTER FUNCTION execution_monitor.list_conversation_executions(text, integer, integer) SET search_path = pg_catalog, execution_monitor, public;
ALTER FUNCTION execution_stats(integer) SET SCHEMA execution_monitor;
ALTER FUNCTION execution_monitor.execution_stats(integer) SET search_path = pg_catalog, execution_monitor, public;
ALTER FUNCTION node_performance_json(integer) SET SCHEMA execution_monitor;
ALTER FUNCTION execution_monitor.node_performance_json(integer) SET search_path = pg_catalog, execution_monitor, public;
ALTER FUNCTION close_stale_executions(interval) SET SCHEMA execution_monitor;
ALTER FUNCTION execution_monitor.close_stale_executions(interval) SET search_path = pg_catalog, execution_monitor, public;
ALTER FUNCTION log_batch_v2(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[], jsonb[], integer[], integer[], integer[], integer[]) SET SCHEMA execution_monitor;
ALTER FUNCTION execution_monitor.log_batch_v2(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[], jsonb[], integer[], integer[], integer[], integer[]) SET search_path = pg_catalog, execution_monitor, public;

-- Last: the functions' signatures name the table's row type by its old place.
ALTER TABLE conversations SET SCHEMA execution_monitor;
ALTER TABLE execution_logs SET SCHEMA execution_monitor;

-- migrate:down
ALTER FUNCTION execution_monitor.log_batch_v2(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[], jsonb[], integer[], integer[], integer[], integer[]) RESET search_path;
ALTER FUNCTION execution_monitor.log_batch_v2(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[], jsonb[], integer[], integer[], integer[], integer[]) SET SCHEMA public;
ALTER FUNCTION execution_monitor.close_stale_executions(interval) RESET search_path;
ALTER FUNCTION execution_monitor.close_stale_executions(interval) SET SCHEMA public;
ALTER FUNCTION execution_monitor.node_performance_json(integer) RESET search_path;
ALTER FUNCTION execution_monitor.node_performance_json(integer) SET SCHEMA public;
ALTER FUNCTION execution_monitor.execution_stats(integer) RESET search_path;
ALTER FUNCTION execution_monitor.execution_stats(integer) SET SCHEMA public;
ALTER FUNCTION execution_monitor.list_conversation_executions(text, integer, integer) RESET search_path;
ALTER FUNCTION execution_monitor.list_conversation_executions(text, integer, integer) SET SCHEMA public;
ALTER FUNCTION execution_monitor.list_executions(text, text, text, integer, integer, integer, text) RESET search_path;
ALTER FUNCTION execution_monitor.list_executions(text, text, text, integer, integer, integer, text) SET SCHEMA public;
ALTER FUNCTION execution_monitor.check_status(text) RESET search_path;
ALTER FUNCTION execution_monitor.check_status(text) SET SCHEMA public;
ALTER FUNCTION execution_monitor.check_hours(integer) RESET search_path;
ALTER FUNCTION execution_monitor.check_hours(integer) SET SCHEMA public;
ALTER FUNCTION execution_monitor.check_page(integer, integer) RESET search_path;
ALTER FUNCTION execution_monitor.check_page(integer, integer) SET SCHEMA public;
ALTER FUNCTION execution_monitor.log_finish(text, text, text, text, timestamptz, text, jsonb, jsonb, text, text, timestamptz) RESET search_path;
ALTER FUNCTION execution_monitor.log_finish(text, text, text, text, timestamptz, text, jsonb, jsonb, text, text, timestamptz) SET SCHEMA public;
ALTER FUNCTION execution_monitor.log_batch(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[]) RESET search_path;
ALTER FUNCTION execution_monitor.log_batch(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[]) SET SCHEMA public;
ALTER FUNCTION execution_monitor.tg_execution_logs__notify() RESET search_path;
ALTER FUNCTION execution_monitor.tg_execution_logs__notify() SET SCHEMA public;

ALTER FUNCTION execution_monitor.executions_changed_since(bigint, text, text, text, integer) SET SCHEMA public;
ALTER FUNCTION execution_monitor.executions_by_ids(text[]) SET SCHEMA public;
ALTER FUNCTION execution_monitor.get_execution(text) SET SCHEMA public;
ALTER FUNCTION execution_monitor.execution_summary_json(execution_monitor.execution_logs) SET SCHEMA public;
ALTER FUNCTION execution_monitor.node_performance(integer) SET SCHEMA public;
ALTER FUNCTION execution_monitor.failed_nodes_breakdown(integer) SET SCHEMA public;
ALTER FUNCTION execution_monitor.iso_utc(timestamptz) SET SCHEMA public;
ALTER FUNCTION execution_monitor.log_start(text, text, text, text, timestamptz) SET SCHEMA public;
ALTER FUNCTION execution_monitor.like_pattern(text) SET SCHEMA public;
ALTER FUNCTION execution_monitor.execution_search_text(text, text) SET SCHEMA public;

ALTER VIEW execution_monitor.token_usage_daily SET SCHEMA public;
ALTER VIEW execution_monitor.node_performance_24h SET SCHEMA public;
ALTER VIEW execution_monitor.failed_node_breakdown SET SCHEMA public;
ALTER VIEW execution_monitor.execution_stats_hourly SET SCHEMA public;
ALTER VIEW execution_monitor.recent_executions SET SCHEMA public;

ALTER TABLE execution_monitor.execution_logs SET SCHEMA public;
ALTER TABLE execution_monitor.conversations SET SCHEMA public;
-- The schema stays: it holds dbmate's migrations table.
