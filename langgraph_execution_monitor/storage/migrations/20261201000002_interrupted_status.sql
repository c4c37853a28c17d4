-- migrate:up
-- A run that stopped for a human (interrupt(), interrupt_before/after) is
-- `interrupted`: waiting, not failed and not completed.
ALTER TABLE execution_logs DROP CONSTRAINT execution_logs_status_check;
ALTER TABLE execution_logs ADD CONSTRAINT execution_logs_status_check
    CHECK (status::text = ANY ('{running,completed,failed,partial,interrupted}'::text[]))
    NOT VALID;
ALTER TABLE execution_logs VALIDATE CONSTRAINT execution_logs_status_check;

CREATE OR REPLACE FUNCTION check_status(p_status text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_status IS NOT NULL
       AND p_status NOT IN ('running', 'completed', 'failed', 'partial', 'interrupted') THEN
        RAISE EXCEPTION 'status must be one of running, completed, failed, partial, interrupted, got %',
            p_status
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;

-- migrate:down
UPDATE execution_logs SET status = 'completed' WHERE status = 'interrupted';
ALTER TABLE execution_logs DROP CONSTRAINT execution_logs_status_check;
ALTER TABLE execution_logs ADD CONSTRAINT execution_logs_status_check
    CHECK (status::text = ANY ('{running,completed,failed,partial}'::text[]));

CREATE OR REPLACE FUNCTION check_status(p_status text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_status IS NOT NULL AND p_status NOT IN ('running', 'completed', 'failed', 'partial') THEN
        RAISE EXCEPTION 'status must be one of running, completed, failed, partial, got %', p_status
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;
