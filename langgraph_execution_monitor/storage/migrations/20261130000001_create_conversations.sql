-- migrate:up
-- The seed's execution_logs references conversations(id); a monitor must not
-- depend on the application creating it, so the write path upserts into it.
CREATE TABLE conversations (
    id VARCHAR(36) PRIMARY KEY,
    user_id VARCHAR(255),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);

-- migrate:down
DROP TABLE conversations;
