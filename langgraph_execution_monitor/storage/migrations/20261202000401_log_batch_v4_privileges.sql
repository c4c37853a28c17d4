-- migrate:up
-- log_batch_v4 (20261202000400) came after the least-privilege roles (20261202000301)
-- and was created with PUBLIC's EXECUTE: as the other write functions, the writer alone
-- may execute it, as its owner, with the fixed search_path.
REVOKE EXECUTE ON FUNCTION execution_monitor.log_batch_v4(jsonb) FROM PUBLIC;
ALTER FUNCTION execution_monitor.log_batch_v4(jsonb)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
GRANT EXECUTE ON FUNCTION execution_monitor.log_batch_v4(jsonb) TO execution_monitor_writer;

-- migrate:down
REVOKE EXECUTE ON FUNCTION execution_monitor.log_batch_v4(jsonb) FROM execution_monitor_writer;
ALTER FUNCTION execution_monitor.log_batch_v4(jsonb)
    SECURITY INVOKER SET search_path = pg_catalog, execution_monitor, public;
GRANT EXECUTE ON FUNCTION execution_monitor.log_batch_v4(jsonb) TO PUBLIC;
