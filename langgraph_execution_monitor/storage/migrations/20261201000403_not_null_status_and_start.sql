-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- Every row has a status and a start: a NULL status sorted ahead of the real finish, a
-- NULL started_at made a row that no window shows and no stale sweep closes (both were
-- possible through log_batch_v2). Rows written that way before are repaired first: a
-- NULL status becomes `failed` with a note, a NULL start takes the end (or now).
UPDATE execution_logs
SET status = 'failed',
    error_summary = coalesce(error_summary, 'Logged with no status (repaired by a migration)')
WHERE status IS NULL;
UPDATE execution_logs
SET started_at = coalesce(completed_at, now())
WHERE started_at IS NULL;

ALTER TABLE execution_logs
    ALTER COLUMN status SET NOT NULL,
    ALTER COLUMN started_at SET NOT NULL;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
ALTER TABLE execution_logs
    ALTER COLUMN started_at DROP NOT NULL,
    ALTER COLUMN status DROP NOT NULL;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;
