-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- execution_logs becomes a table partitioned by started_at, one partition per UTC day
-- (execution_logs_pYYYYMMDD), so that retention drops a day at once instead of
-- deleting rows, and reads of a window open only its days. A DEFAULT partition
-- (execution_logs_default) holds the rows of any day that has no partition yet (a
-- start far in the past or the future, or days before maintenance first runs): no
-- row is ever refused. create_execution_logs_partition moves them into their day's
-- partition when it makes it; the maintenance of the next migration calls it ahead.
--
-- A unique key of a partitioned table holds the partition key: the primary key is
-- (id, started_at), and the writers' upsert conflicts on it. A finish repeats its
-- start's started_at (the writer carries it from the start), so the two still meet
-- in one row. An id is no longer unique by itself across days: a caller that sends
-- the same id with two different start times gets two rows.
--
-- PostgreSQL cannot partition a table in place: the rows are copied into a new
-- partitioned table (the whole table is locked meanwhile: minutes for millions of
-- rows). Its indexes, foreign key and triggers are made again from the catalog, as
-- they are at this moment, and so are the objects that depend on the table (views,
-- functions with SQL-standard bodies, the functions that take its row type), with
-- their privileges: whatever the migrations before this one made of them. The
-- copy fires no trigger (the rollups already count these rows; no NOTIFY).

-- One UTC day's partition, [p_day, p_day + 1), made when missing (true when made).
-- It is made apart and then attached (SHARE UPDATE EXCLUSIVE on the table: writes
-- and reads go on; CREATE TABLE ... PARTITION OF would take ACCESS EXCLUSIVE), after
-- the rows the default partition holds for that day have moved into it (a day
-- cannot be attached over rows the default partition holds). Moving a row is no
-- change of it: neither rollups nor NOTIFY see it (their triggers are on the table).
CREATE FUNCTION create_execution_logs_partition(p_day date) RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
DECLARE
    name text := 'execution_logs_p' || to_char(p_day, 'YYYYMMDD');
    day_start timestamptz := p_day::timestamp AT TIME ZONE 'UTC';
    day_end timestamptz := (p_day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF p_day IS NULL THEN
        RAISE EXCEPTION 'create_execution_logs_partition: the day must not be NULL'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF to_regclass(format('execution_monitor.%I', name)) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- Attaching checks the foreign key, which locks conversations; a writer locks
    -- conversations before execution_logs. Taking it first, as writers do, waits for
    -- the writes in flight instead of deadlocking with one (and holds new ones back
    -- until this transaction ends).
    LOCK TABLE execution_monitor.conversations IN SHARE ROW EXCLUSIVE MODE;
    -- A query planned before the attach reads the partitions it knew of: rows moved
    -- out of the default partition under it would vanish from its view. When there
    -- are rows to move, no query runs meanwhile (a moment: they are a day's
    -- stragglers); an empty day is attached beside running queries.
    IF EXISTS (SELECT FROM execution_monitor.execution_logs_default AS d
               WHERE d.started_at >= day_start AND d.started_at < day_end) THEN
        LOCK TABLE execution_monitor.execution_logs IN ACCESS EXCLUSIVE MODE;
    END IF;
    EXECUTE format(
        'CREATE TABLE execution_monitor.%I (LIKE execution_monitor.execution_logs'
        ' INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION)'
        -- the table's own settings: an update of a recent day must be vacuumed soon
        ' WITH (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02)',
        name);
    EXECUTE format(
        'WITH moved AS (DELETE FROM execution_monitor.execution_logs_default AS d'
        '               WHERE d.started_at >= $1 AND d.started_at < $2 RETURNING d.*)'
        ' INSERT INTO execution_monitor.%I SELECT * FROM moved', name)
        USING day_start, day_end;
    EXECUTE format(
        'ALTER TABLE execution_monitor.execution_logs ATTACH PARTITION execution_monitor.%I'
        ' FOR VALUES FROM (%L) TO (%L)', name, day_start, day_end);
    RETURN true;
END;
$$;
REVOKE EXECUTE ON FUNCTION create_execution_logs_partition(date) FROM PUBLIC;

-- The rebuild, one way or the other (the down migration holds the same function).
CREATE FUNCTION pg_temp.rebuild_execution_logs(p_partitioned boolean) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    obj record;
    a record;
    d date;
    table_acl aclitem[];
    rewritten integer := 0;
BEGIN
    -- What depends on the table, through any chain (a view's or a function's
    -- dependents too), deepest last; with its definition and privileges now.
    CREATE TEMPORARY TABLE rebuilt_dependents ON COMMIT DROP AS
    WITH RECURSIVE dep(kind, oid, depth) AS (
        SELECT o.kind, o.oid, 1
        FROM pg_depend AS pd
        CROSS JOIN LATERAL (
            SELECT 'FUNCTION'::text AS kind, pd.objid AS oid
            WHERE pd.classid = 'pg_proc'::regclass
            UNION ALL
            SELECT 'VIEW', r.ev_class FROM pg_rewrite AS r
            WHERE pd.classid = 'pg_rewrite'::regclass AND r.oid = pd.objid
        ) AS o
        WHERE pd.deptype = 'n'
          AND ((pd.refclassid = 'pg_class'::regclass
                AND pd.refobjid = 'execution_logs'::regclass)
               OR (pd.refclassid = 'pg_type'::regclass
                   AND pd.refobjid = 'execution_logs'::regtype))
        UNION ALL
        SELECT o.kind, o.oid, dep.depth + 1
        FROM dep
        JOIN pg_depend AS pd
          ON pd.deptype = 'n'
         AND ((dep.kind = 'FUNCTION' AND pd.refclassid = 'pg_proc'::regclass
               AND pd.refobjid = dep.oid)
              OR (dep.kind = 'VIEW' AND pd.refclassid = 'pg_class'::regclass
                  AND pd.refobjid = dep.oid)
              OR (dep.kind = 'VIEW' AND pd.refclassid = 'pg_type'::regclass
                  AND pd.refobjid = (SELECT c.reltype FROM pg_class AS c WHERE c.oid = dep.oid)))
        CROSS JOIN LATERAL (
            SELECT 'FUNCTION'::text AS kind, pd.objid AS oid
            WHERE pd.classid = 'pg_proc'::regclass
            UNION ALL
            SELECT 'VIEW', r.ev_class FROM pg_rewrite AS r
            WHERE pd.classid = 'pg_rewrite'::regclass AND r.oid = pd.objid
        ) AS o
        WHERE dep.depth < 20 AND o.oid <> dep.oid
    )
    SELECT dep.kind, max(dep.depth) AS depth,
           CASE dep.kind WHEN 'FUNCTION' THEN dep.oid::regprocedure::text
                ELSE dep.oid::regclass::text END AS name,
           CASE dep.kind WHEN 'FUNCTION' THEN pg_get_functiondef(dep.oid)
                ELSE format('CREATE VIEW %s%s AS %s', dep.oid::regclass,
                            (SELECT ' WITH (' || array_to_string(c.reloptions, ', ') || ')'
                             FROM pg_class AS c WHERE c.oid = dep.oid),
                            pg_get_viewdef(dep.oid)) END AS ddl,
           CASE dep.kind WHEN 'FUNCTION' THEN (SELECT p.proacl FROM pg_proc AS p WHERE p.oid = dep.oid)
                ELSE (SELECT c.relacl FROM pg_class AS c WHERE c.oid = dep.oid) END AS acl
    FROM dep
    GROUP BY dep.kind, dep.oid;

    -- The table's indexes (but its primary key), foreign keys and triggers.
    CREATE TEMPORARY TABLE rebuilt_parts ON COMMIT DROP AS
    SELECT 1 AS step, replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ') AS ddl
    FROM pg_index AS i
    WHERE i.indrelid = 'execution_logs'::regclass AND NOT i.indisprimary
    UNION ALL
    SELECT 2, format('ALTER TABLE execution_logs ADD CONSTRAINT %I %s',
                     c.conname, pg_get_constraintdef(c.oid))
    FROM pg_constraint AS c
    WHERE c.conrelid = 'execution_logs'::regclass AND c.contype = 'f'
    UNION ALL
    SELECT 3, pg_get_triggerdef(t.oid)
    FROM pg_trigger AS t
    WHERE t.tgrelid = 'execution_logs'::regclass AND NOT t.tgisinternal AND t.tgparentid = 0;
    SELECT c.relacl INTO table_acl FROM pg_class AS c WHERE c.oid = 'execution_logs'::regclass;

    FOR obj IN SELECT * FROM rebuilt_dependents ORDER BY depth DESC, name LOOP
        EXECUTE format('DROP %s %s', obj.kind, obj.name);
    END LOOP;

    ALTER TABLE execution_logs RENAME TO execution_logs_before_rebuild;
    ALTER SEQUENCE execution_logs_change_seq OWNED BY NONE;
    IF p_partitioned THEN
        CREATE TABLE execution_logs (
            LIKE execution_logs_before_rebuild
            INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION
        ) PARTITION BY RANGE (started_at);
        CREATE TABLE execution_logs_default (
            LIKE execution_logs
            INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION
        ) WITH (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);
        -- PostgreSQL 18 catalogues NOT NULL constraints, and LIKE copies their names
        -- (the table's): named as the partition's own before it is attached, as a dump
        -- reloaded has them (db/schema.sql). Before 18 there are none to rename.
        FOR obj IN
            SELECT c.conname, format('execution_logs_default_%s_not_null', att.attname) AS own
            FROM pg_constraint AS c
            JOIN pg_attribute AS att ON att.attrelid = c.conrelid AND att.attnum = c.conkey[1]
            WHERE c.conrelid = 'execution_logs_default'::regclass AND c.contype = 'n'
        LOOP
            CONTINUE WHEN obj.conname = obj.own;
            EXECUTE format('ALTER TABLE execution_logs_default RENAME CONSTRAINT %I TO %I',
                           obj.conname, obj.own);
        END LOOP;
        ALTER TABLE execution_logs ATTACH PARTITION execution_logs_default DEFAULT;
        -- A partition per day that has rows, within a year back and a week ahead
        -- (maintenance drops those past the retention at its first run); the rest
        -- wait in the default partition for their day's partition.
        FOR d IN
            SELECT DISTINCT (l.started_at AT TIME ZONE 'UTC')::date
            FROM execution_logs_before_rebuild AS l
            WHERE l.started_at >= now() - interval '366 days'
              AND l.started_at < now() + interval '7 days'
        LOOP
            PERFORM create_execution_logs_partition(d);
        END LOOP;
    ELSE
        IF EXISTS (SELECT FROM execution_logs_before_rebuild AS l
                   GROUP BY l.id HAVING count(*) > 1) THEN
            RAISE EXCEPTION 'execution_logs holds an id under two start times: a table '
                            'keyed by id alone cannot hold both rows'
                USING HINT = 'delete one row of each such id, then migrate down again';
        END IF;
        CREATE TABLE execution_logs (
            LIKE execution_logs_before_rebuild
            INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION
        ) WITH (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);
    END IF;

    -- No trigger exists on the new table yet: the copy neither counts twice in the
    -- rollups nor notifies.
    INSERT INTO execution_logs SELECT * FROM execution_logs_before_rebuild;
    DROP TABLE execution_logs_before_rebuild;  -- RESTRICT: a dependent missed above stops it
    ALTER SEQUENCE execution_logs_change_seq OWNED BY execution_logs.change_seq;
    IF p_partitioned THEN
        ALTER TABLE execution_logs ADD CONSTRAINT execution_logs_pkey PRIMARY KEY (id, started_at);
    ELSE
        ALTER TABLE execution_logs ADD CONSTRAINT execution_logs_pkey PRIMARY KEY (id);
    END IF;
    FOR obj IN SELECT * FROM rebuilt_parts ORDER BY step, ddl LOOP
        EXECUTE obj.ddl;
    END LOOP;
    FOR a IN SELECT * FROM aclexplode(table_acl) AS x
             WHERE x.grantee <> (SELECT c.relowner FROM pg_class AS c
                                 WHERE c.oid = 'execution_logs'::regclass) LOOP
        EXECUTE format('GRANT %s ON TABLE execution_logs TO %s%s', a.privilege_type,
                       CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                       CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;

    FOR obj IN SELECT * FROM rebuilt_dependents ORDER BY depth, name LOOP
        EXECUTE obj.ddl;
        CONTINUE WHEN obj.acl IS NULL;  -- the default privileges, as made
        EXECUTE format('REVOKE ALL ON %s %s FROM PUBLIC',
                       CASE obj.kind WHEN 'FUNCTION' THEN 'FUNCTION' ELSE 'TABLE' END, obj.name);
        FOR a IN SELECT * FROM aclexplode(obj.acl) AS x WHERE x.grantee <> x.grantor LOOP
            EXECUTE format('GRANT %s ON %s %s TO %s%s', a.privilege_type,
                           CASE obj.kind WHEN 'FUNCTION' THEN 'FUNCTION' ELSE 'TABLE' END, obj.name,
                           CASE a.grantee WHEN 0 THEN 'PUBLIC'
                                ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                           CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
    END LOOP;

    -- The writers' upsert names the table's unique key: (id, started_at) on the
    -- partitioned table, (id) on the plain one. Rewritten in whichever body each
    -- log_batch version has now (CREATE OR REPLACE keeps its grants and settings).
    FOR obj IN
        SELECT p.oid
        FROM pg_proc AS p
        WHERE p.pronamespace = 'execution_monitor'::regnamespace
          AND p.prosrc LIKE CASE WHEN p_partitioned THEN '%ON CONFLICT (id) DO UPDATE%'
                                 ELSE '%ON CONFLICT (id, started_at) DO UPDATE%' END
    LOOP
        EXECUTE CASE WHEN p_partitioned
                     THEN replace(pg_get_functiondef(obj.oid), 'ON CONFLICT (id) DO UPDATE',
                                  'ON CONFLICT (id, started_at) DO UPDATE')
                     ELSE replace(pg_get_functiondef(obj.oid), 'ON CONFLICT (id, started_at) DO UPDATE',
                                  'ON CONFLICT (id) DO UPDATE') END;
        rewritten := rewritten + 1;
    END LOOP;
    IF rewritten = 0 THEN
        RAISE EXCEPTION 'no write function upserts into execution_logs: nothing to rewrite';
    END IF;

    DROP TABLE rebuilt_dependents, rebuilt_parts;
END;
$$;

SELECT pg_temp.rebuild_execution_logs(true);
DROP FUNCTION pg_temp.rebuild_execution_logs(boolean);
ANALYZE execution_logs;

-- The single events from psql: the table's key is now (id, started_at), and a psql
-- caller may not repeat a start's started_at in its finish (the writer always does).
-- A finish then moves the row its start made to its own start time (a finish's word
-- wins, as when both are in one batch) and ends it, or changes nothing when that run
-- has ended already; a start whose run is logged under another start time changes
-- nothing (a late start never overwrites). Lookups by id over every partition: one
-- event, not the writer's path.
CREATE OR REPLACE FUNCTION log_start(
    p_id text,
    p_user_id text,
    p_request_message text,
    p_conversation_id text DEFAULT NULL,
    p_started_at timestamptz DEFAULT now()
) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT FROM execution_logs AS l
               WHERE l.id = p_id
                 AND l.started_at <> to_timestamp(extract(epoch FROM p_started_at)::double precision)) THEN
        RETURN 0;
    END IF;
    RETURN (log_batch_v5(jsonb_build_array(jsonb_build_array(
        p_id, p_conversation_id, p_user_id, p_request_message,
        extract(epoch FROM p_started_at)::double precision, 'running', NULL, NULL, NULL, NULL,
        NULL, NULL, NULL, NULL, NULL, NULL)))).written;
END;
$$;

CREATE OR REPLACE FUNCTION log_finish(
    p_id text,
    p_status text,
    p_user_id text,
    p_request_message text,
    p_started_at timestamptz,
    p_response_message text DEFAULT NULL,
    p_execution_trace jsonb DEFAULT '[]'::jsonb,
    p_failed_nodes jsonb DEFAULT '[]'::jsonb,
    p_error_summary text DEFAULT NULL,
    p_conversation_id text DEFAULT NULL,
    p_completed_at timestamptz DEFAULT now()
) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
DECLARE
    -- the start time as log_batch_v5 stores it (through epoch seconds)
    stored_start timestamptz := to_timestamp(extract(epoch FROM p_started_at)::double precision);
    other record;
BEGIN
    IF p_status IS NULL OR p_status NOT IN ('completed', 'failed', 'partial', 'interrupted') THEN
        RAISE EXCEPTION 'log_finish: status must be completed, failed, partial or '
                        'interrupted, got %', coalesce(p_status, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT l.started_at, l.status, l.closed_stale_at, l.stale_close_replaced_at INTO other
    FROM execution_logs AS l
    WHERE l.id = p_id AND l.started_at <> stored_start
    ORDER BY l.started_at
    LIMIT 1;
    IF FOUND THEN
        IF other.status <> 'running'
           AND NOT (other.closed_stale_at IS NOT NULL AND other.stale_close_replaced_at IS NULL) THEN
            RETURN 0;
        END IF;
        UPDATE execution_logs AS l SET started_at = stored_start
        WHERE l.id = p_id AND l.started_at = other.started_at;
    END IF;
    RETURN (log_batch_v5(jsonb_build_array(jsonb_build_array(
        p_id, p_conversation_id, p_user_id, p_request_message,
        extract(epoch FROM p_started_at)::double precision, p_status,
        extract(epoch FROM p_completed_at)::double precision, p_response_message,
        p_execution_trace, p_failed_nodes, p_error_summary, NULL, NULL, NULL, NULL,
        NULL)))).written;
END;
$$;

-- dbmate records the migration in this transaction, in current_schema()'s table when it
-- is not given one (a bare `dbmate up`): give it back the search_path it had.
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
-- Back to a plain table keyed by id, with every row (the default partition's too);
-- it fails, and changes nothing, when an id has rows under two start times.

-- The same rebuild as the up migration's.
CREATE FUNCTION pg_temp.rebuild_execution_logs(p_partitioned boolean) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    obj record;
    a record;
    d date;
    table_acl aclitem[];
    rewritten integer := 0;
BEGIN
    -- What depends on the table, through any chain (a view's or a function's
    -- dependents too), deepest last; with its definition and privileges now.
    CREATE TEMPORARY TABLE rebuilt_dependents ON COMMIT DROP AS
    WITH RECURSIVE dep(kind, oid, depth) AS (
        SELECT o.kind, o.oid, 1
        FROM pg_depend AS pd
        CROSS JOIN LATERAL (
            SELECT 'FUNCTION'::text AS kind, pd.objid AS oid
            WHERE pd.classid = 'pg_proc'::regclass
            UNION ALL
            SELECT 'VIEW', r.ev_class FROM pg_rewrite AS r
            WHERE pd.classid = 'pg_rewrite'::regclass AND r.oid = pd.objid
        ) AS o
        WHERE pd.deptype = 'n'
          AND ((pd.refclassid = 'pg_class'::regclass
                AND pd.refobjid = 'execution_logs'::regclass)
               OR (pd.refclassid = 'pg_type'::regclass
                   AND pd.refobjid = 'execution_logs'::regtype))
        UNION ALL
        SELECT o.kind, o.oid, dep.depth + 1
        FROM dep
        JOIN pg_depend AS pd
          ON pd.deptype = 'n'
         AND ((dep.kind = 'FUNCTION' AND pd.refclassid = 'pg_proc'::regclass
               AND pd.refobjid = dep.oid)
              OR (dep.kind = 'VIEW' AND pd.refclassid = 'pg_class'::regclass
                  AND pd.refobjid = dep.oid)
              OR (dep.kind = 'VIEW' AND pd.refclassid = 'pg_type'::regclass
                  AND pd.refobjid = (SELECT c.reltype FROM pg_class AS c WHERE c.oid = dep.oid)))
        CROSS JOIN LATERAL (
            SELECT 'FUNCTION'::text AS kind, pd.objid AS oid
            WHERE pd.classid = 'pg_proc'::regclass
            UNION ALL
            SELECT 'VIEW', r.ev_class FROM pg_rewrite AS r
            WHERE pd.classid = 'pg_rewrite'::regclass AND r.oid = pd.objid
        ) AS o
        WHERE dep.depth < 20 AND o.oid <> dep.oid
    )
    SELECT dep.kind, max(dep.depth) AS depth,
           CASE dep.kind WHEN 'FUNCTION' THEN dep.oid::regprocedure::text
                ELSE dep.oid::regclass::text END AS name,
           CASE dep.kind WHEN 'FUNCTION' THEN pg_get_functiondef(dep.oid)
                ELSE format('CREATE VIEW %s%s AS %s', dep.oid::regclass,
                            (SELECT ' WITH (' || array_to_string(c.reloptions, ', ') || ')'
                             FROM pg_class AS c WHERE c.oid = dep.oid),
                            pg_get_viewdef(dep.oid)) END AS ddl,
           CASE dep.kind WHEN 'FUNCTION' THEN (SELECT p.proacl FROM pg_proc AS p WHERE p.oid = dep.oid)
                ELSE (SELECT c.relacl FROM pg_class AS c WHERE c.oid = dep.oid) END AS acl
    FROM dep
    GROUP BY dep.kind, dep.oid;

    -- The table's indexes (but its primary key), foreign keys and triggers.
    CREATE TEMPORARY TABLE rebuilt_parts ON COMMIT DROP AS
    SELECT 1 AS step, replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ') AS ddl
    FROM pg_index AS i
    WHERE i.indrelid = 'execution_logs'::regclass AND NOT i.indisprimary
    UNION ALL
    SELECT 2, format('ALTER TABLE execution_logs ADD CONSTRAINT %I %s',
                     c.conname, pg_get_constraintdef(c.oid))
    FROM pg_constraint AS c
    WHERE c.conrelid = 'execution_logs'::regclass AND c.contype = 'f'
    UNION ALL
    SELECT 3, pg_get_triggerdef(t.oid)
    FROM pg_trigger AS t
    WHERE t.tgrelid = 'execution_logs'::regclass AND NOT t.tgisinternal AND t.tgparentid = 0;
    SELECT c.relacl INTO table_acl FROM pg_class AS c WHERE c.oid = 'execution_logs'::regclass;

    FOR obj IN SELECT * FROM rebuilt_dependents ORDER BY depth DESC, name LOOP
        EXECUTE format('DROP %s %s', obj.kind, obj.name);
    END LOOP;

    ALTER TABLE execution_logs RENAME TO execution_logs_before_rebuild;
    ALTER SEQUENCE execution_logs_change_seq OWNED BY NONE;
    IF p_partitioned THEN
        CREATE TABLE execution_logs (
            LIKE execution_logs_before_rebuild
            INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION
        ) PARTITION BY RANGE (started_at);
        CREATE TABLE execution_logs_default (
            LIKE execution_logs
            INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION
        ) WITH (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);
        -- PostgreSQL 18 catalogues NOT NULL constraints, and LIKE copies their names
        -- (the table's): named as the partition's own before it is attached, as a dump
        -- reloaded has them (db/schema.sql). Before 18 there are none to rename.
        FOR obj IN
            SELECT c.conname, format('execution_logs_default_%s_not_null', att.attname) AS own
            FROM pg_constraint AS c
            JOIN pg_attribute AS att ON att.attrelid = c.conrelid AND att.attnum = c.conkey[1]
            WHERE c.conrelid = 'execution_logs_default'::regclass AND c.contype = 'n'
        LOOP
            CONTINUE WHEN obj.conname = obj.own;
            EXECUTE format('ALTER TABLE execution_logs_default RENAME CONSTRAINT %I TO %I',
                           obj.conname, obj.own);
        END LOOP;
        ALTER TABLE execution_logs ATTACH PARTITION execution_logs_default DEFAULT;
        -- A partition per day that has rows, within a year back and a week ahead
        -- (maintenance drops those past the retention at its first run); the rest
        -- wait in the default partition for their day's partition.
        FOR d IN
            SELECT DISTINCT (l.started_at AT TIME ZONE 'UTC')::date
            FROM execution_logs_before_rebuild AS l
            WHERE l.started_at >= now() - interval '366 days'
              AND l.started_at < now() + interval '7 days'
        LOOP
            PERFORM create_execution_logs_partition(d);
        END LOOP;
    ELSE
        IF EXISTS (SELECT FROM execution_logs_before_rebuild AS l
                   GROUP BY l.id HAVING count(*) > 1) THEN
            RAISE EXCEPTION 'execution_logs holds an id under two start times: a table '
                            'keyed by id alone cannot hold both rows'
                USING HINT = 'delete one row of each such id, then migrate down again';
        END IF;
        CREATE TABLE execution_logs (
            LIKE execution_logs_before_rebuild
            INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION
        ) WITH (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);
    END IF;

    -- No trigger exists on the new table yet: the copy neither counts twice in the
    -- rollups nor notifies.
    INSERT INTO execution_logs SELECT * FROM execution_logs_before_rebuild;
    DROP TABLE execution_logs_before_rebuild;  -- RESTRICT: a dependent missed above stops it
    ALTER SEQUENCE execution_logs_change_seq OWNED BY execution_logs.change_seq;
    IF p_partitioned THEN
        ALTER TABLE execution_logs ADD CONSTRAINT execution_logs_pkey PRIMARY KEY (id, started_at);
    ELSE
        ALTER TABLE execution_logs ADD CONSTRAINT execution_logs_pkey PRIMARY KEY (id);
    END IF;
    FOR obj IN SELECT * FROM rebuilt_parts ORDER BY step, ddl LOOP
        EXECUTE obj.ddl;
    END LOOP;
    FOR a IN SELECT * FROM aclexplode(table_acl) AS x
             WHERE x.grantee <> (SELECT c.relowner FROM pg_class AS c
                                 WHERE c.oid = 'execution_logs'::regclass) LOOP
        EXECUTE format('GRANT %s ON TABLE execution_logs TO %s%s', a.privilege_type,
                       CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                       CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;

    FOR obj IN SELECT * FROM rebuilt_dependents ORDER BY depth, name LOOP
        EXECUTE obj.ddl;
        CONTINUE WHEN obj.acl IS NULL;  -- the default privileges, as made
        EXECUTE format('REVOKE ALL ON %s %s FROM PUBLIC',
                       CASE obj.kind WHEN 'FUNCTION' THEN 'FUNCTION' ELSE 'TABLE' END, obj.name);
        FOR a IN SELECT * FROM aclexplode(obj.acl) AS x WHERE x.grantee <> x.grantor LOOP
            EXECUTE format('GRANT %s ON %s %s TO %s%s', a.privilege_type,
                           CASE obj.kind WHEN 'FUNCTION' THEN 'FUNCTION' ELSE 'TABLE' END, obj.name,
                           CASE a.grantee WHEN 0 THEN 'PUBLIC'
                                ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                           CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
    END LOOP;

    -- The writers' upsert names the table's unique key: (id, started_at) on the
    -- partitioned table, (id) on the plain one. Rewritten in whichever body each
    -- log_batch version has now (CREATE OR REPLACE keeps its grants and settings).
    FOR obj IN
        SELECT p.oid
        FROM pg_proc AS p
        WHERE p.pronamespace = 'execution_monitor'::regnamespace
          AND p.prosrc LIKE CASE WHEN p_partitioned THEN '%ON CONFLICT (id) DO UPDATE%'
                                 ELSE '%ON CONFLICT (id, started_at) DO UPDATE%' END
    LOOP
        EXECUTE CASE WHEN p_partitioned
                     THEN replace(pg_get_functiondef(obj.oid), 'ON CONFLICT (id) DO UPDATE',
                                  'ON CONFLICT (id, started_at) DO UPDATE')
                     ELSE replace(pg_get_functiondef(obj.oid), 'ON CONFLICT (id, started_at) DO UPDATE',
                                  'ON CONFLICT (id) DO UPDATE') END;
        rewritten := rewritten + 1;
    END LOOP;
    IF rewritten = 0 THEN
        RAISE EXCEPTION 'no write function upserts into execution_logs: nothing to rewrite';
    END IF;

    DROP TABLE rebuilt_dependents, rebuilt_parts;
END;
$$;

SELECT pg_temp.rebuild_execution_logs(false);
DROP FUNCTION pg_temp.rebuild_execution_logs(boolean);
DROP FUNCTION create_execution_logs_partition(date);
ANALYZE execution_logs;

-- The single events as 20261207000104 made them.
CREATE OR REPLACE FUNCTION log_start(
    p_id text,
    p_user_id text,
    p_request_message text,
    p_conversation_id text DEFAULT NULL,
    p_started_at timestamptz DEFAULT now()
) RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, execution_monitor, pg_temp
RETURN (log_batch_v5(jsonb_build_array(jsonb_build_array(
    p_id, p_conversation_id, p_user_id, p_request_message,
    extract(epoch FROM p_started_at)::double precision, 'running', NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL)))).written;

CREATE OR REPLACE FUNCTION log_finish(
    p_id text,
    p_status text,
    p_user_id text,
    p_request_message text,
    p_started_at timestamptz,
    p_response_message text DEFAULT NULL,
    p_execution_trace jsonb DEFAULT '[]'::jsonb,
    p_failed_nodes jsonb DEFAULT '[]'::jsonb,
    p_error_summary text DEFAULT NULL,
    p_conversation_id text DEFAULT NULL,
    p_completed_at timestamptz DEFAULT now()
) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, execution_monitor, pg_temp
AS $$
BEGIN
    IF p_status IS NULL OR p_status NOT IN ('completed', 'failed', 'partial', 'interrupted') THEN
        RAISE EXCEPTION 'log_finish: status must be completed, failed, partial or '
                        'interrupted, got %', coalesce(p_status, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN (log_batch_v5(jsonb_build_array(jsonb_build_array(
        p_id, p_conversation_id, p_user_id, p_request_message,
        extract(epoch FROM p_started_at)::double precision, p_status,
        extract(epoch FROM p_completed_at)::double precision, p_response_message,
        p_execution_trace, p_failed_nodes, p_error_summary, NULL, NULL, NULL, NULL,
        NULL)))).written;
END;
$$;

SET LOCAL search_path TO DEFAULT;
