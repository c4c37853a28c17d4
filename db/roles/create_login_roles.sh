#!/bin/sh
# Login roles for least privilege, run once per database by an administrator (a
# superuser, or a role with CREATEROLE that has ADMIN on the two groups):
#
#   owner   owns the schema and migrates (DATABASE_URL): CREATE on the database and
#           on its public schema (see below);
#   writer  the LogWriter's login (WRITER_DATABASE_URL), in execution_monitor_writer:
#           it can only execute the write functions;
#   reader  the API's login (READER_DATABASE_URL), in execution_monitor_reader: it can
#           only select the views and execute the read functions (LISTEN included).
#
# It also creates the two NOLOGIN groups when missing, so that the owner migrates
# without CREATEROLE (the migration creates them otherwise). Safe to run again: a role
# that exists keeps its attributes and gets the password given now.
#
#   ADMIN_DATABASE_URL=postgres://postgres@host/execution_monitor \
#   MONITOR_OWNER_PASSWORD=... MONITOR_WRITER_PASSWORD=... MONITOR_READER_PASSWORD=... \
#   db/roles/create_login_roles.sh
#
# ADMIN_DATABASE_URL  the administrator's connection to the monitor's database
#                     (unset: psql's defaults, PGHOST, PGUSER, PGDATABASE, ...)
# MONITOR_OWNER_LOGIN, MONITOR_WRITER_LOGIN, MONITOR_READER_LOGIN
#                     the login names (default execution_monitor_owner,
#                     execution_monitor_writer_login, execution_monitor_reader_login)
# MONITOR_OWNER_PASSWORD, MONITOR_WRITER_PASSWORD, MONITOR_READER_PASSWORD
#                     required; read by psql from the environment (never on a command
#                     line); the server stores them hashed (password_encryption)
# PSQL                the psql to run (default psql; 15 or newer, for \getenv)
#
# The passwords reach the server inside ALTER ROLE statements: as a superuser, the
# script turns statement logging off for its session; otherwise make sure
# log_statement does not log DDL while it runs.
set -eu

: "${MONITOR_OWNER_LOGIN:=execution_monitor_owner}"
: "${MONITOR_WRITER_LOGIN:=execution_monitor_writer_login}"
: "${MONITOR_READER_LOGIN:=execution_monitor_reader_login}"
for name in MONITOR_OWNER_PASSWORD MONITOR_WRITER_PASSWORD MONITOR_READER_PASSWORD; do
    eval "value=\${$name:-}"
    if [ -z "$value" ]; then
        echo "error: $name is not set (each login needs a password)" >&2
        exit 2
    fi
done
export MONITOR_OWNER_PASSWORD MONITOR_WRITER_PASSWORD MONITOR_READER_PASSWORD

set -- -X -q -v ON_ERROR_STOP=1 \
    -v owner="$MONITOR_OWNER_LOGIN" \
    -v writer="$MONITOR_WRITER_LOGIN" \
    -v reader="$MONITOR_READER_LOGIN"
if [ -n "${ADMIN_DATABASE_URL:-}" ]; then
    set -- "$@" --dbname "$ADMIN_DATABASE_URL"
fi

"${PSQL:-psql}" "$@" <<'SQL'
\getenv owner_password MONITOR_OWNER_PASSWORD
\getenv writer_password MONITOR_WRITER_PASSWORD
\getenv reader_password MONITOR_READER_PASSWORD

SELECT rolsuper AS admin_is_superuser FROM pg_catalog.pg_roles WHERE rolname = current_user
\gset
\if :admin_is_superuser
SET log_statement = 'none';
SET log_min_duration_statement = -1;
\endif

-- The writer and the reader would bypass every check as superusers.
SELECT count(*) > 0 AS superuser_login FROM pg_catalog.pg_roles
WHERE rolname IN (:'writer', :'reader') AND (rolsuper OR rolbypassrls)
\gset
\if :superuser_login
DO $$ BEGIN RAISE EXCEPTION 'the writer or reader login is a superuser (or bypasses RLS)'
    USING HINT = 'give them roles of their own (MONITOR_WRITER_LOGIN, MONITOR_READER_LOGIN)'; END $$;
\endif

BEGIN;

SELECT format('CREATE ROLE %I NOLOGIN', name)
FROM unnest(ARRAY['execution_monitor_writer', 'execution_monitor_reader']) AS name
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = name)
\gexec

SELECT format('CREATE ROLE %I LOGIN', name)
FROM unnest(ARRAY[:'owner', :'writer', :'reader']) AS name
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = name)
\gexec

SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'owner', :'owner_password')
\gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'writer', :'writer_password')
\gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'reader', :'reader_password')
\gexec

SELECT format('GRANT execution_monitor_writer TO %I', :'writer')
\gexec
SELECT format('GRANT execution_monitor_reader TO %I', :'reader')
\gexec

-- The owner creates the schema (and pg_trgm, a trusted extension) in this database.
SELECT format('GRANT CONNECT ON DATABASE %I TO %I, %I, %I',
              current_database(), :'owner', :'writer', :'reader')
\gexec
SELECT format('GRANT CREATE ON DATABASE %I TO %I', current_database(), :'owner')
\gexec
-- The first migrations (released, so unchanged) create their tables in public, and
-- 20261201000004 moves them into execution_monitor; from PostgreSQL 15 on, only the
-- database's owner may create in public unless granted. Once migrated, the owner
-- holds nothing there: REVOKE CREATE ON SCHEMA public FROM it if you like.
SELECT format('GRANT CREATE ON SCHEMA public TO %I', :'owner')
WHERE EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = 'public')
\gexec

COMMIT;

-- A schema migrated before by another role stays that role's: the owner login cannot
-- migrate it (ALTER SCHEMA/TABLE/FUNCTION ... OWNER TO, or REASSIGN OWNED, moves it).
SELECT coalesce((SELECT nspowner::regrole::text FROM pg_catalog.pg_namespace
                 WHERE nspname = 'execution_monitor'), :'owner') AS schema_owner
\gset
SELECT :'schema_owner' <> :'owner' AS foreign_schema
\gset
\if :foreign_schema
\echo 'note: the schema execution_monitor belongs to' :schema_owner 'not to' :owner
\endif

\echo 'logins ready in database' :DBNAME ':' :owner '(owner),' :writer '(writer),' :reader '(reader)'
SQL
