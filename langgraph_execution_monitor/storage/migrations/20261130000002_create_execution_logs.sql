-- migrate:up
-- Every write (insert or finish) takes a new value, so readers can resume a
-- live stream from the last change they saw (SSE Last-Event-ID).
CREATE SEQUENCE execution_logs_change_seq;

-- The seed's table, column for column; change_seq and the status check are ours.
-- (Array literals rather than IN lists: they read back identically from a dump
-- on every PostgreSQL version, which keeps db/schema.sql comparable.)
CREATE TABLE execution_logs (
    id VARCHAR(36) PRIMARY KEY,
    conversation_id VARCHAR(36) REFERENCES conversations(id) ON DELETE CASCADE,
    user_id VARCHAR(255) NOT NULL,
    request_message TEXT NOT NULL,
    response_message TEXT,
    status VARCHAR(50) DEFAULT 'running',
    started_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    completed_at TIMESTAMP WITH TIME ZONE,
    total_duration_ms INTEGER,
    execution_trace JSONB,
    error_summary TEXT,
    failed_nodes JSONB DEFAULT '[]'::jsonb,
    change_seq BIGINT NOT NULL DEFAULT nextval('execution_logs_change_seq'),
    CONSTRAINT execution_logs_status_check
        CHECK (status::text = ANY ('{running,completed,failed,partial}'::text[]))
)
-- Recent rows are updated (running -> finished) and then read by index-only
-- scans: vacuum them early so the visibility map stays fresh.
WITH (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);

ALTER SEQUENCE execution_logs_change_seq OWNED BY execution_logs.change_seq;

-- migrate:down
DROP TABLE execution_logs;
