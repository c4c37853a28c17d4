-- migrate:up
-- Two group roles (NOLOGIN) for least privilege; an operator makes login roles members
-- of them (db/roles/create_login_roles.sh):
--   execution_monitor_writer  executes the write functions the LogWriter calls (and the
--                             earlier writers' versions), nothing else: it cannot read a
--                             row, not even through a read function;
--   execution_monitor_reader  selects the views and executes the read functions the API
--                             calls (and the psql read API), nothing else: no table, no
--                             write function. LISTEN needs no privilege.
-- Neither has a privilege on a table: every function granted to them that reads or
-- writes one runs as its owner (SECURITY DEFINER) with a fixed search_path that no
-- caller can change or write into (pg_temp last). The views run as their owner already;
-- the functions two of them call are granted to the reader too.
--
-- Roles are cluster-wide: created only when missing (another database on the server,
-- or another process migrating at this moment, may have created them), which needs
-- CREATEROLE; when they exist already, the migration needs no such right. The
-- migrating role must own the schema's objects (it grants on them).
--
-- The rule for later migrations (a test checks it): a new function is not executable
-- by PUBLIC (REVOKE EXECUTE ... FROM PUBLIC after CREATE FUNCTION); one meant for the
-- writer or the reader is granted to it by name and, unless it is IMMUTABLE (no table
-- read), is SECURITY DEFINER with search_path = pg_catalog, execution_monitor, pg_temp;
-- a CREATE OR REPLACE of a granted function repeats those two clauses (it keeps the
-- grants but replaces them). Default privileges cannot do this for us: a per-schema
-- default cannot revoke PUBLIC's global EXECUTE, and a global one would change every
-- function the migrating role creates in the host's schemas too.
DO $$
DECLARE
    group_role text;
BEGIN
    FOREACH group_role IN ARRAY ARRAY['execution_monitor_writer', 'execution_monitor_reader']
    LOOP
        CONTINUE WHEN EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = group_role);
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', group_role);
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created by a concurrent migration of another database
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'cannot create the group role %: % lacks CREATEROLE',
                    group_role, current_user
                    USING ERRCODE = 'insufficient_privilege',
                          HINT = 'migrate once as a role with CREATEROLE, or create the '
                              'roles first (db/roles/create_login_roles.sh, or CREATE ROLE '
                              || group_role || ' NOLOGIN)';
        END;
    END LOOP;
END;
$$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA execution_monitor FROM PUBLIC;
GRANT USAGE ON SCHEMA execution_monitor TO execution_monitor_writer, execution_monitor_reader;

-- The helpers, triggers and maintenance functions now run as the owner inside the
-- functions below: their search_path drops `public` too, which any user may write into
-- on a server before PostgreSQL 15 (or one upgraded from it). None of them names an
-- object there (pg_trgm's index operator class is bound by the index).
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'execution_monitor'::regnamespace
          AND 'search_path=pg_catalog, execution_monitor, public' = ANY (p.proconfig)
    LOOP
        EXECUTE format(
            'ALTER FUNCTION %s SET search_path = pg_catalog, execution_monitor, pg_temp', f);
    END LOOP;
END;
$$;

-- The writer: every log_batch version (a rolling deploy runs the previous release's
-- writer beside this one), the single-event functions, the heartbeat and the stale sweep.
ALTER FUNCTION execution_monitor.log_batch(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[])
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.log_batch_v2(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[], jsonb[], integer[], integer[], integer[], integer[])
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.log_batch_v3(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[], jsonb[], integer[], integer[], integer[], integer[])
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.log_start(text, text, text, text, timestamptz)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.log_finish(text, text, text, text, timestamptz, text, jsonb, jsonb, text, text, timestamptz)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.heartbeat_executions(text[])
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.close_stale_executions(interval)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;

GRANT EXECUTE ON FUNCTION
    execution_monitor.log_batch(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[]),
    execution_monitor.log_batch_v2(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[], jsonb[], integer[], integer[], integer[], integer[]),
    execution_monitor.log_batch_v3(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[], jsonb[], integer[], integer[], integer[], integer[]),
    execution_monitor.log_start(text, text, text, text, timestamptz),
    execution_monitor.log_finish(text, text, text, text, timestamptz, text, jsonb, jsonb, text, text, timestamptz),
    execution_monitor.heartbeat_executions(text[]),
    execution_monitor.close_stale_executions(interval)
TO execution_monitor_writer;

-- The reader: what the API calls (queries.sql), the first release's listing, the
-- functions the views call, and the read functions the README shows from psql.
ALTER FUNCTION execution_monitor.list_executions(text, text, text, integer, integer, integer, text)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.list_executions_v2(text, text, text, integer, integer, integer, text, timestamptz, timestamptz, text, text)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.get_execution(text)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.list_conversation_executions(text, integer, integer)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.execution_stats(integer)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.failed_nodes_breakdown(integer)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.node_performance(integer)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.node_performance_json(integer)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.error_occurrences(integer)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.error_groups(integer)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.error_groups_json(integer)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.thread_summaries(integer, text)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.list_threads(integer, text, integer, integer)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.export_executions(text, text, text, integer, text, timestamptz, text, integer)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.executions_by_ids(text[])
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.executions_changed_since(bigint, text, text, text, integer)
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;
ALTER FUNCTION execution_monitor.latest_change_seq()
    SECURITY DEFINER SET search_path = pg_catalog, execution_monitor, pg_temp;

GRANT EXECUTE ON FUNCTION
    execution_monitor.list_executions(text, text, text, integer, integer, integer, text),
    execution_monitor.list_executions_v2(text, text, text, integer, integer, integer, text, timestamptz, timestamptz, text, text),
    execution_monitor.get_execution(text),
    execution_monitor.list_conversation_executions(text, integer, integer),
    execution_monitor.execution_stats(integer),
    execution_monitor.failed_nodes_breakdown(integer),
    execution_monitor.node_performance(integer),
    execution_monitor.node_performance_json(integer),
    execution_monitor.error_occurrences(integer),
    execution_monitor.error_groups(integer),
    execution_monitor.error_groups_json(integer),
    execution_monitor.thread_summaries(integer, text),
    execution_monitor.list_threads(integer, text, integer, integer),
    execution_monitor.export_executions(text, text, text, integer, text, timestamptz, text, integer),
    execution_monitor.executions_by_ids(text[]),
    execution_monitor.executions_changed_since(bigint, text, text, text, integer),
    execution_monitor.latest_change_seq(),
    -- IMMUTABLE, no table read: they run as the caller.
    execution_monitor.monitoring_limits(),
    execution_monitor.error_message_pattern(text)
TO execution_monitor_reader;

GRANT SELECT ON
    execution_monitor.recent_executions,
    execution_monitor.execution_stats_hourly,
    execution_monitor.failed_node_breakdown,
    execution_monitor.node_performance_24h,
    execution_monitor.token_usage_daily
TO execution_monitor_reader;

-- migrate:down
-- Back to every function executable by PUBLIC, as invoker, with its earlier search_path.
-- The group roles stay: they are cluster-wide, and other databases on this server may
-- grant them rights (DROP ROLE them by hand once none does). What this database
-- granted them is revoked, so they hold nothing here.
REVOKE SELECT ON
    execution_monitor.recent_executions,
    execution_monitor.execution_stats_hourly,
    execution_monitor.failed_node_breakdown,
    execution_monitor.node_performance_24h,
    execution_monitor.token_usage_daily
FROM execution_monitor_reader;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA execution_monitor
    FROM execution_monitor_writer, execution_monitor_reader;
REVOKE USAGE ON SCHEMA execution_monitor FROM execution_monitor_writer, execution_monitor_reader;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA execution_monitor TO PUBLIC;

-- As invoker again (the seven below too).
ALTER FUNCTION execution_monitor.export_executions(text, text, text, integer, text, timestamptz, text, integer)
    SECURITY INVOKER;
ALTER FUNCTION execution_monitor.list_threads(integer, text, integer, integer)
    SECURITY INVOKER;
ALTER FUNCTION execution_monitor.thread_summaries(integer, text) SECURITY INVOKER;
ALTER FUNCTION execution_monitor.error_groups_json(integer) SECURITY INVOKER;
ALTER FUNCTION execution_monitor.error_groups(integer) SECURITY INVOKER;
ALTER FUNCTION execution_monitor.error_occurrences(integer) SECURITY INVOKER;
ALTER FUNCTION execution_monitor.node_performance_json(integer) SECURITY INVOKER;
ALTER FUNCTION execution_monitor.execution_stats(integer) SECURITY INVOKER;
ALTER FUNCTION execution_monitor.list_conversation_executions(text, integer, integer)
    SECURITY INVOKER;
ALTER FUNCTION execution_monitor.list_executions_v2(text, text, text, integer, integer, integer, text, timestamptz, timestamptz, text, text)
    SECURITY INVOKER;
ALTER FUNCTION execution_monitor.list_executions(text, text, text, integer, integer, integer, text)
    SECURITY INVOKER;
ALTER FUNCTION execution_monitor.close_stale_executions(interval) SECURITY INVOKER;
ALTER FUNCTION execution_monitor.heartbeat_executions(text[]) SECURITY INVOKER;
ALTER FUNCTION execution_monitor.log_finish(text, text, text, text, timestamptz, text, jsonb, jsonb, text, text, timestamptz)
    SECURITY INVOKER;
ALTER FUNCTION execution_monitor.log_batch_v3(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[], jsonb[], integer[], integer[], integer[], integer[])
    SECURITY INVOKER;
ALTER FUNCTION execution_monitor.log_batch_v2(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[], jsonb[], integer[], integer[], integer[], integer[])
    SECURITY INVOKER;
ALTER FUNCTION execution_monitor.log_batch(text[], text[], text[], text[], double precision[], text[], double precision[], text[], jsonb[], jsonb[], text[])
    SECURITY INVOKER;

-- These had no search_path of their own (SQL-standard bodies, bound when created); every
-- other function of the schema had `public` after ours.
ALTER FUNCTION execution_monitor.latest_change_seq() SECURITY INVOKER RESET search_path;
ALTER FUNCTION execution_monitor.executions_changed_since(bigint, text, text, text, integer)
    SECURITY INVOKER RESET search_path;
ALTER FUNCTION execution_monitor.executions_by_ids(text[]) SECURITY INVOKER RESET search_path;
ALTER FUNCTION execution_monitor.node_performance(integer) SECURITY INVOKER RESET search_path;
ALTER FUNCTION execution_monitor.failed_nodes_breakdown(integer) SECURITY INVOKER RESET search_path;
ALTER FUNCTION execution_monitor.get_execution(text) SECURITY INVOKER RESET search_path;
ALTER FUNCTION execution_monitor.log_start(text, text, text, text, timestamptz) SECURITY INVOKER RESET search_path;
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'execution_monitor'::regnamespace
          AND 'search_path=pg_catalog, execution_monitor, pg_temp' = ANY (p.proconfig)
    LOOP
        EXECUTE format(
            'ALTER FUNCTION %s SET search_path = pg_catalog, execution_monitor, public', f);
    END LOOP;
END;
$$;
