-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- The batch write's statements read no table by a plan's choice: they unnest the
-- batch, and its INSERTs find conflicts through the unique indexes, whatever the
-- plan. So the generic-plan trap (an UPDATE planned against an empty table) cannot
-- reach them, and planning each of them on every call was most of a small batch's
-- server time: about 1.1 of 2.5 ms of CPU for eight runs. Planned once per session.
ALTER FUNCTION log_batch_v5(jsonb) SET plan_cache_mode = force_generic_plan;
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
ALTER FUNCTION log_batch_v5(jsonb) SET plan_cache_mode = force_custom_plan;
SET LOCAL search_path TO DEFAULT;
