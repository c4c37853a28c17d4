"""Least privilege, on a real server: the group roles of migration
20261202000301 (execution_monitor_writer, execution_monitor_reader) and the login
roles that db/roles/create_login_roles.sh makes, each refused outside its rights
and working inside them (a real LogWriter as the writer, the app's API as the
reader).

Roles are cluster-wide. Each test makes logins of its own, with unique names,
through the script (or CREATE ROLE), and drops them at its end, after the
databases it created; the two group roles belong to every database migrated on
the server and are never dropped here."""

import asyncio
import json
import os
import re
import secrets
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from app.api.main import create_app
from app.config import Settings
from langgraph_execution_monitor import ExecutionMonitor
from langgraph_execution_monitor.live_events import ChangeBatch, StreamFilters, parse_event_id
from langgraph_execution_monitor.rows import TextCleaner, batch_columns
from langgraph_execution_monitor.storage import queries
from langgraph_execution_monitor.storage.embedded import postgres_bin_dir
from langgraph_execution_monitor.storage.migrate import migrate
from langgraph_execution_monitor.storage.urls import database_name
from langgraph_execution_monitor.writer import LogWriter, writer_pool_factory
from tests.conftest import SESSION_TAG, create_database
from tests.factories import finished, started, write

ROLES_SCRIPT = Path(__file__).resolve().parents[1] / "db" / "roles" / "create_login_roles.sh"
# The script needs psql 15 or newer (\getenv): the embedded one (18) reaches any server.
PSQL = str(postgres_bin_dir() / "psql")
WRITER_GROUP = "execution_monitor_writer"
READER_GROUP = "execution_monitor_reader"
FIXED_PATH = "search_path=pg_catalog, execution_monitor, pg_temp"

TABLES = (
    "execution_logs",
    "conversations",
    "execution_heartbeats",
    "execution_rollups_hourly",
    "execution_durations_hourly",
    "node_rollups_hourly",
    "node_durations_hourly",
    "schema_migrations",
)
VIEWS = (
    "recent_executions",
    "execution_stats_hourly",
    "failed_node_breakdown",
    "node_performance_24h",
    "token_usage_daily",
)
# What the API and the live stream run (queries.sql), with arguments.
READS = (
    "SELECT execution_monitor.list_executions_v2(p_hours => 24)",
    "SELECT execution_monitor.list_executions(NULL, NULL, NULL, 24, 50, 0, NULL)",
    "SELECT execution_monitor.get_execution('x')",
    "SELECT execution_monitor.list_conversation_executions('conv-1', 50, 0)",
    "SELECT execution_monitor.execution_stats(24)",
    "SELECT execution_monitor.node_performance_json(24)",
    "SELECT execution_monitor.error_groups_json(24)",
    "SELECT execution_monitor.list_threads(24, NULL, 50, 0)",
    "SELECT * FROM execution_monitor.export_executions(p_hours => 24, p_limit => 10)",
    "SELECT * FROM execution_monitor.executions_by_ids(ARRAY['x'])",
    "SELECT * FROM execution_monitor.executions_changed_since(0, NULL, NULL, NULL, 10)",
    "SELECT execution_monitor.latest_change_seq()",
    "SELECT * FROM execution_monitor.executions_changed_since_v2('0', 0, NULL, NULL, NULL, 10)",
    "SELECT * FROM execution_monitor.latest_change_position()",
    "SELECT execution_monitor.monitoring_limits()",
    "SELECT * FROM execution_monitor.node_performance(24)",
    "SELECT * FROM execution_monitor.failed_nodes_breakdown(24)",
    "SELECT * FROM execution_monitor.error_groups(24)",
    "SELECT * FROM execution_monitor.error_occurrences(24)",
    "SELECT * FROM execution_monitor.thread_summaries(24, NULL)",
    "SELECT execution_monitor.execution_stats_filtered(p_status => 'failed')",
    "SELECT execution_monitor.node_performance_filtered(p_status => 'failed')",
    "SELECT execution_monitor.user_id_suggestions('a', 10)",
    "SELECT * FROM execution_monitor.export_executions_v2(p_hours => 24, p_limit => 10)",
    "SELECT execution_monitor.error_groups_window_json(p_hours => 24)",
    "SELECT execution_monitor.list_threads_v2(p_hours => 24)",
)
# Writes other than log_batch_v3 (called with real rows by the tests).
WRITES = (
    "SELECT execution_monitor.heartbeat_executions(ARRAY['x'])",
    "SELECT execution_monitor.close_stale_executions(interval '1 hour')",
    "SELECT execution_monitor.log_start(p_id => 'x', p_user_id => 'u', p_request_message => 'hi')",
    "SELECT execution_monitor.log_finish(p_id => 'x', p_status => 'completed', p_user_id => 'u',"
    " p_request_message => 'hi', p_started_at => now())",
    "SELECT * FROM execution_monitor.log_batch_v4('[]')",
    "SELECT * FROM execution_monitor.log_batch_v5('[]')",
    "SELECT execution_monitor.compact_rollups()",
    "SELECT execution_monitor.maintain_execution_logs(30, 400)",
)
WRITE_FUNCTIONS = {
    "log_batch",
    "log_batch_v2",
    "log_batch_v3",
    "log_batch_v4",
    "log_batch_v5",
    "log_start",
    "log_finish",
    "heartbeat_executions",
    "close_stale_executions",
    "compact_rollups",
    "maintain_execution_logs",
}
READ_FUNCTIONS = {
    *(re.search(r"execution_monitor\.(\w+)\(", statement)[1] for statement in READS),
    "error_message_pattern",
}
MAINTENANCE = ("SELECT execution_monitor.rebuild_rollups()",)
DIRECT_WRITES = (
    "INSERT INTO execution_monitor.conversations (id) VALUES ('c')",
    "UPDATE execution_monitor.execution_logs SET status = 'failed'",
    "DELETE FROM execution_monitor.execution_logs",
    "TRUNCATE execution_monitor.execution_logs",
)


def login_url(url: str, user: str, password: str) -> str:
    """`url`'s server and database, logged in as `user`."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user)}:{quote(password, safe='')}@{host}"))


@dataclass
class Logins:
    owner: str
    writer: str
    reader: str
    passwords: dict[str, str]
    database_url: str  # the administrator's URL of the database they were made for

    def url(self, role: str) -> str:
        return login_url(self.database_url, role, self.passwords[role])


class Cluster:
    """Databases and roles this test made, dropped at its end in that order."""

    def __init__(self, server_url: str, template: str) -> None:
        self.server_url = server_url
        self.template = template
        self.databases: list[str] = []
        self.roles: list[str] = []

    def role_name(self, kind: str) -> str:
        name = f"{SESSION_TAG}_{uuid.uuid4().hex[:8]}_{kind}"
        self.roles.append(name)
        return name

    async def database(self, *, migrated: bool = True) -> str:
        url = await create_database(self.server_url, template=self.template if migrated else None)
        self.databases.append(database_name(url))
        return url

    def run_script(self, database_url: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ROLES_SCRIPT)],
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith(("PG", "MONITOR_"))},
                "ADMIN_DATABASE_URL": database_url,
                "PSQL": PSQL,
                **env,
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def logins(self, database_url: str) -> Logins:
        """Owner, writer and reader logins made by the script for this database."""
        owner, writer, reader = (self.role_name(kind) for kind in ("owner", "writer", "reader"))
        passwords = {role: secrets.token_urlsafe(12) for role in (owner, writer, reader)}
        result = self.run_script(
            database_url,
            MONITOR_OWNER_LOGIN=owner,
            MONITOR_WRITER_LOGIN=writer,
            MONITOR_READER_LOGIN=reader,
            MONITOR_OWNER_PASSWORD=passwords[owner],
            MONITOR_WRITER_PASSWORD=passwords[writer],
            MONITOR_READER_PASSWORD=passwords[reader],
        )
        assert result.returncode == 0, result.stderr
        return Logins(owner, writer, reader, passwords, database_url)

    async def cleanup(self) -> None:
        admin = await asyncpg.connect(self.server_url)
        try:
            for name in self.databases:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for name in self.roles:
                await admin.execute(f'DROP ROLE IF EXISTS "{name}"')
        finally:
            await admin.close()


@pytest.fixture
async def cluster(server_url: str, template_database: str) -> AsyncIterator[Cluster]:
    made = Cluster(server_url, template_database)
    yield made
    await made.cleanup()


@pytest.fixture
async def migrated_by_owner(cluster: Cluster) -> Logins:
    """A database migrated from nothing by the script's owner login (no superuser,
    no CREATEROLE), with its writer and reader logins."""
    url = await cluster.database(migrated=False)
    logins = cluster.logins(url)
    migrate(logins.url(logins.owner))
    return logins


async def refused(url: str, statements: tuple[str, ...]) -> list[str]:
    """The statements that `url`'s user may NOT run (each in a transaction that is
    rolled back, so a permitted write leaves nothing behind)."""
    connection = await asyncpg.connect(url)
    denied = []
    try:
        for statement in statements:
            transaction = connection.transaction()
            await transaction.start()
            try:
                await connection.execute(statement)
            except asyncpg.InsufficientPrivilegeError:
                denied.append(statement)
            finally:
                await transaction.rollback()
    finally:
        await connection.close()
    return denied


def selects(*relations: str) -> tuple[str, ...]:
    return tuple(f"SELECT * FROM execution_monitor.{name} LIMIT 1" for name in relations)


def batch(*events: object) -> list[list[object]]:
    columns, unconvertible = batch_columns(list(events), TextCleaner(65_536))
    assert not unconvertible
    return columns


async def admin_fetch(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetch(sql, *args)
    finally:
        await connection.close()


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 15
) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


# -- the script -------------------------------------------------------------------


async def test_the_script_makes_logins_with_passwords_in_their_groups(cluster: Cluster) -> None:
    url = await cluster.database()
    logins = cluster.logins(url)

    roles = {
        row["rolname"]: row
        for row in await admin_fetch(
            url,
            "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolpassword"
            " FROM pg_authid WHERE rolname = ANY($1::text[])",
            [logins.owner, logins.writer, logins.reader, WRITER_GROUP, READER_GROUP],
        )
    }
    memberships = {
        (row[0], row[1])
        for row in await admin_fetch(
            url,
            "SELECT member::regrole::text, roleid::regrole::text FROM pg_auth_members"
            " WHERE member::regrole::text = ANY($1::text[])",
            [logins.owner, logins.writer, logins.reader],
        )
    }
    for login in (logins.owner, logins.writer, logins.reader):
        assert roles[login]["rolcanlogin"] and not roles[login]["rolsuper"]
        assert not roles[login]["rolcreaterole"]
        assert roles[login]["rolpassword"].startswith(("SCRAM-SHA-256$", "md5"))
    assert not roles[WRITER_GROUP]["rolcanlogin"] and not roles[READER_GROUP]["rolcanlogin"]
    assert memberships == {(logins.writer, WRITER_GROUP), (logins.reader, READER_GROUP)}


async def test_the_script_run_again_sets_the_new_passwords(cluster: Cluster) -> None:
    url = await cluster.database()
    logins = cluster.logins(url)
    before = await admin_fetch(
        url, "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = $1", logins.writer
    )

    again = cluster.run_script(
        url,
        MONITOR_OWNER_LOGIN=logins.owner,
        MONITOR_WRITER_LOGIN=logins.writer,
        MONITOR_READER_LOGIN=logins.reader,
        MONITOR_OWNER_PASSWORD="owner-2",
        MONITOR_WRITER_PASSWORD="writer-2",
        MONITOR_READER_PASSWORD="reader-2",
    )

    assert again.returncode == 0, again.stderr
    after = await admin_fetch(
        url, "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = $1", logins.writer
    )
    assert after[0]["rolpassword"] != before[0]["rolpassword"]


async def test_the_script_refuses_to_run_without_every_password(cluster: Cluster) -> None:
    url = await cluster.database()
    writer = cluster.role_name("writer")

    result = cluster.run_script(
        url,
        MONITOR_WRITER_LOGIN=writer,
        MONITOR_OWNER_PASSWORD="o",
        MONITOR_WRITER_PASSWORD="w",
    )

    assert result.returncode == 2
    assert "MONITOR_READER_PASSWORD is not set" in result.stderr
    assert await admin_fetch(url, "SELECT 1 FROM pg_roles WHERE rolname = $1", writer) == []


async def test_the_script_refuses_a_superuser_as_the_writer_login(cluster: Cluster) -> None:
    url = await cluster.database()
    superuser, reader = cluster.role_name("super"), cluster.role_name("reader")
    await admin_fetch(url, f'CREATE ROLE "{superuser}" SUPERUSER')

    result = cluster.run_script(
        url,
        MONITOR_OWNER_LOGIN=cluster.role_name("owner"),
        MONITOR_WRITER_LOGIN=superuser,
        MONITOR_READER_LOGIN=reader,
        MONITOR_OWNER_PASSWORD="o",
        MONITOR_WRITER_PASSWORD="w",
        MONITOR_READER_PASSWORD="r",
    )

    assert result.returncode != 0
    assert "superuser" in result.stderr
    assert await admin_fetch(url, "SELECT 1 FROM pg_roles WHERE rolname = $1", reader) == []


async def test_the_owner_login_migrates_a_database_from_nothing(
    migrated_by_owner: Logins,
) -> None:
    logins = migrated_by_owner
    owners = await admin_fetch(
        logins.database_url,
        "SELECT DISTINCT proowner::regrole::text FROM pg_proc"
        " WHERE pronamespace = 'execution_monitor'::regnamespace"
        " UNION SELECT relowner::regrole::text FROM pg_class"
        " WHERE relnamespace = 'execution_monitor'::regnamespace",
    )
    assert [row[0] for row in owners] == [logins.owner]


# -- refused outside their rights ------------------------------------------------


async def test_public_cannot_execute_any_function_of_the_schema(cluster: Cluster) -> None:
    url = await cluster.database()
    plain = cluster.role_name("plain")
    # Only PUBLIC's rights stand in its way: it may use the schema, as a host could let
    # every role do.
    await admin_fetch(url, f"CREATE ROLE \"{plain}\" LOGIN PASSWORD 'plain'")
    await admin_fetch(url, f'GRANT USAGE ON SCHEMA execution_monitor TO "{plain}"')

    executable = await admin_fetch(
        url,
        "SELECT p.oid::regprocedure::text FROM pg_proc p"
        " WHERE p.pronamespace = 'execution_monitor'::regnamespace"
        "   AND has_function_privilege('public', p.oid, 'EXECUTE')",
    )
    statements = READS + WRITES + MAINTENANCE + selects(*TABLES, *VIEWS)
    assert executable == []
    assert await refused(login_url(url, plain, "plain"), statements) == list(statements)


async def test_the_writer_cannot_read_a_row(cluster: Cluster) -> None:
    url = await cluster.database()
    logins = cluster.logins(url)
    statements = selects(*TABLES, *VIEWS) + READS + MAINTENANCE

    assert await refused(logins.url(logins.writer), statements) == list(statements)


async def test_the_writer_cannot_change_rows_but_through_the_write_functions(
    cluster: Cluster,
) -> None:
    url = await cluster.database()
    logins = cluster.logins(url)

    denied = await refused(logins.url(logins.writer), DIRECT_WRITES + WRITES)

    assert denied == list(DIRECT_WRITES)


async def test_the_reader_cannot_write(cluster: Cluster) -> None:
    url = await cluster.database()
    logins = cluster.logins(url)
    start = started()

    reader = await asyncpg.connect(logins.url(logins.reader))
    try:
        for write_batch in (queries.log_batch_v3, queries.log_batch_v2):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await write_batch(reader, batch(start, finished(start)))
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await write(reader, start, finished(start))  # log_batch_v4, as the writer does
    finally:
        await reader.close()
    denied = await refused(logins.url(logins.reader), WRITES + MAINTENANCE + DIRECT_WRITES)

    assert denied == list(WRITES + MAINTENANCE + DIRECT_WRITES)
    assert await admin_fetch(url, "SELECT 1 FROM execution_monitor.execution_logs") == []


async def test_the_reader_cannot_select_the_tables(cluster: Cluster) -> None:
    url = await cluster.database()
    logins = cluster.logins(url)
    statements = selects(*TABLES)

    assert await refused(logins.url(logins.reader), statements) == list(statements)


# -- the rules the grants follow --------------------------------------------------


async def test_every_query_the_library_runs_is_granted_to_the_role_that_runs_it(
    database_url: str,
) -> None:
    writer_queries = {
        "log_batch",
        "log_batch_v2",
        "log_batch_v3",
        "log_batch_v4",
        "log_batch_v5",
        "heartbeat_executions",
        "close_stale_executions",
        "compact_rollups",
        "maintain_execution_logs",
    }
    connection = await asyncpg.connect(database_url)
    try:
        wrong = []
        for name, sql in queries.SQL.items():
            role, other = (
                (WRITER_GROUP, READER_GROUP)
                if name in writer_queries
                else (READER_GROUP, WRITER_GROUP)
            )
            for function in re.findall(r"execution_monitor\.(\w+)\(", sql):
                rights = await connection.fetchrow(
                    "SELECT bool_and(has_function_privilege($1, p.oid, 'EXECUTE')),"
                    "       bool_or(has_function_privilege($2, p.oid, 'EXECUTE'))"
                    " FROM pg_proc p WHERE p.pronamespace = 'execution_monitor'::regnamespace"
                    "   AND p.proname = $3",
                    role,
                    other,
                    function,
                )
                if rights[0] is not True or rights[1] is not False:
                    wrong.append((name, function))
            for relation in re.findall(r"FROM execution_monitor\.(\w+)\b(?!\()", sql):
                if not await connection.fetchval(
                    "SELECT has_table_privilege($1, 'execution_monitor.' || $2, 'SELECT')",
                    role,
                    relation,
                ):
                    wrong.append((name, relation))
    finally:
        await connection.close()

    assert wrong == []


async def test_granted_functions_run_as_their_owner_with_a_fixed_search_path(
    database_url: str,
) -> None:
    """The rule for later migrations (see 20261202000301): a function granted to the
    writer or the reader is SECURITY DEFINER with the fixed path unless IMMUTABLE, and
    no function of the schema searches public."""
    rows = await admin_fetch(
        database_url,
        "SELECT p.proname, p.prosecdef, p.provolatile::text, p.proconfig,"
        "       has_function_privilege($1, p.oid, 'EXECUTE') AS writer,"
        "       has_function_privilege($2, p.oid, 'EXECUTE') AS reader,"
        "       has_function_privilege($1, p.oid, 'EXECUTE')"
        "       OR has_function_privilege($2, p.oid, 'EXECUTE') AS granted"
        " FROM pg_proc p WHERE p.pronamespace = 'execution_monitor'::regnamespace",
        WRITER_GROUP,
        READER_GROUP,
    )
    granted = [row for row in rows if row["granted"]]
    by_role = {
        role: sorted(row["proname"] for row in rows if row[role]) for role in ("writer", "reader")
    }
    not_definer = [
        row["proname"]
        for row in granted
        if row["provolatile"] != "i"
        and not (row["prosecdef"] and FIXED_PATH in (row["proconfig"] or []))
    ]
    searching_public = [
        row["proname"]
        for row in rows
        if any(
            setting.startswith("search_path=") and "public" in setting
            for setting in row["proconfig"] or []
        )
    ]

    assert by_role == {"writer": sorted(WRITE_FUNCTIONS), "reader": sorted(READ_FUNCTIONS)}
    assert not_definer == []
    assert searching_public == []


# -- working inside them ------------------------------------------------------------


async def test_a_log_writer_logged_in_as_the_writer_writes_heartbeats_and_closes_stale(
    migrated_by_owner: Logins,
) -> None:
    logins = migrated_by_owner
    admin = await asyncpg.connect(logins.database_url)
    abandoned = started(ago_s=7200)  # another process's run, never stamped, never finished
    await write(admin, abandoned)
    writer = LogWriter(
        writer_pool_factory(logins.url(logins.writer), 2),
        flush_interval_s=0.01,
        stale_after_s=3600,
        stale_check_interval_s=0.05,
        heartbeat_interval_s=0.05,
    )
    done, live = started(), started()
    try:
        writer.start()
        writer.enqueue(done)
        writer.enqueue(finished(done))
        writer.enqueue(live)

        async def all_written() -> bool:
            return (
                writer.stats.written == 3
                and writer.stats.heartbeats > 0
                and writer.stats.stale_closed == 1
            )

        await eventually(all_written, "the writes, a heartbeat and the stale close")
        users = await admin.fetch(
            "SELECT DISTINCT usename FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'execution-log-writer'"
        )
        statuses = dict(
            await admin.fetch("SELECT id, status FROM execution_monitor.execution_logs ORDER BY id")
        )
        stamped = await admin.fetchval(
            "SELECT count(*) FROM execution_monitor.execution_heartbeats WHERE execution_id = $1",
            live.execution_id,
        )
    finally:
        await writer.stop(5)
        await admin.close()

    assert [row[0] for row in users] == [logins.writer]
    assert statuses == {
        done.execution_id: "completed",
        live.execution_id: "running",
        abandoned.execution_id: "failed",
    }
    assert stamped == 1
    stats = writer.stats
    assert (stats.retries, stats.permanent_errors, stats.heartbeat_errors) == (0, 0, 0)
    assert (stats.failed_to_log, stats.dropped) == (0, 0)


async def test_the_app_reads_as_the_reader_and_writes_as_the_writer(
    migrated_by_owner: Logins,
) -> None:
    logins = migrated_by_owner
    settings = Settings(
        database_url=logins.url(logins.owner),
        writer_database_url=logins.url(logins.writer),
        reader_database_url=logins.url(logins.reader),
        migrate_on_start=False,
        monitoring_api_token=None,
        writer_flush_interval_s=0.01,
        stale_check_interval_s=3600,
        _env_file=None,
    )
    application = create_app(settings)
    api = "/api/v1/monitoring"
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver"
        ) as http,
    ):
        broadcaster = application.state.broadcaster

        async def listener_connected() -> bool:
            return broadcaster.state == "connected"

        await eventually(listener_connected, "the listener")
        subscriber = broadcaster.subscribe(StreamFilters())
        chat = await http.post("/api/v1/chat/v2", json={"message": "hello", "user_id": "ada"})
        assert chat.status_code == 200
        execution_id = chat.json()["execution_id"]

        async def listed_completed() -> bool:
            logs = (await http.get(f"{api}/logs")).json()["logs"]
            return [(log["id"], log["status"]) for log in logs] == [(execution_id, "completed")]

        await eventually(listed_completed, "the run in the listing")
        streamed: list[tuple[str, str]] = []  # (id, status) as the stream told them
        while (execution_id, "completed") not in streamed:
            item = await asyncio.wait_for(subscriber.queue.get(), 10)
            subscriber.taken(item)
            if isinstance(item, ChangeBatch):
                streamed += [
                    (row["id"], row["status"])
                    for row in (json.loads(change.data) for change in item.changes)
                ]
        detail = await http.get(f"{api}/logs/{execution_id}")
        conversation_id = detail.json()["conversation_id"]
        answers = {
            path: (await http.get(path)).status_code
            for path in (
                f"{api}/logs/{execution_id}",
                f"{api}/conversations/{conversation_id}/logs",
                f"{api}/stats",
                f"{api}/nodes",
                f"{api}/errors",
                f"{api}/threads",
                f"{api}/logs/export?format=json",
                "/health/ready",
            )
        }
        stats = (await http.get(f"{api}/stats")).json()
        replay = await broadcaster.plan_replay(parse_event_id("0:0"))
        read_user = await application.state.pool.fetchval("SELECT current_user")
        users = dict(
            await admin_fetch(
                logins.database_url,
                "SELECT application_name, string_agg(DISTINCT usename, ',') FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name LIKE 'execution-%'"
                " GROUP BY application_name",
            )
        )

    assert answers == dict.fromkeys(answers, 200)
    assert stats["total_executions"] == 1 and stats["by_status"]["completed"] == 1
    assert not replay.reset
    assert read_user == logins.reader
    assert users == {
        "execution-log-writer": logins.writer,
        "execution-listener": logins.reader,
        "execution-fan-out": logins.reader,
        "execution-monitor-api": logins.reader,
    }


async def test_a_library_monitor_reads_with_its_reader_login(migrated_by_owner: Logins) -> None:
    logins = migrated_by_owner
    monitor = ExecutionMonitor(
        logins.url(logins.writer), reader_database_url=logins.url(logins.reader)
    )
    async with monitor:
        read_user = await monitor.read_pool.fetchval("SELECT current_user")
        limits = await queries.monitoring_limits(monitor.read_pool)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await queries.log_batch_v3(monitor.read_pool, batch(started()))

    assert read_user == logins.reader
    assert '"page_limit_max"' in limits
