-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- The rollups of the rows written before the write path kept them (an hour of rows at a
-- time; about a minute per million rows on a small machine).
SELECT rebuild_rollups();

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
TRUNCATE execution_rollups_hourly, execution_durations_hourly, node_rollups_hourly,
         node_durations_hourly;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;
