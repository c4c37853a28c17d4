"""list_executions_v2: the listing for any window (since/until), keyset pages
(before / next_cursor), a bounded offset, a capped total, search over more
fields on a bounded prefix, and the user-id prefix filter."""

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from langgraph_execution_monitor import limits
from langgraph_execution_monitor.storage import queries
from tests.factories import finished, started, write


async def listing(db: asyncpg.Connection, **arguments: Any) -> dict[str, Any]:
    return json.loads(await queries.list_executions_v2(db, **arguments))


def epoch_now() -> float:
    """Now, in whole seconds: a run written at `epoch_now() - n` and a bound at the
    same instant are equal to the microsecond on both sides."""
    return float(int(time.time()))


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


async def walk(db: asyncpg.Connection, between_pages: Any = None, **arguments: Any) -> list[str]:
    """Every id, page after page through next_cursor."""
    seen: list[str] = []
    cursor = None
    while True:
        page = await listing(db, before=cursor, **arguments)
        seen += [log["id"] for log in page["logs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        if between_pages is not None:
            await between_pages()


async def bulk_rows(db: asyncpg.Connection, count: int, user_id: str = "bulk") -> None:
    """`count` finished runs of one user in the last hour, written in SQL."""
    await db.execute(
        "INSERT INTO execution_logs (id, user_id, request_message, status, started_at) "
        "SELECT 'bulk-' || g, $2, 'bulk', 'completed', now() - make_interval(secs => g % 3600) "
        "FROM generate_series(1, $1) AS g",
        count,
        user_id,
    )


async def test_cursor_pages_list_every_row_once_even_with_equal_start_times(
    db: asyncpg.Connection,
) -> None:
    same_time = epoch_now() - 5
    runs = [started(started_at=same_time) for _ in range(10)] + [
        started(ago_s=index) for index in range(7)
    ]
    await write(db, *runs)

    seen = await walk(db, limit=4)

    assert sorted(seen) == sorted(run.execution_id for run in runs)
    assert len(seen) == len(set(seen))


async def test_cursor_pages_neither_repeat_nor_skip_under_concurrent_inserts(
    db: asyncpg.Connection, database_url: str
) -> None:
    existing = [started(ago_s=100 + index) for index in range(30)]
    await write(db, *existing)
    other = await asyncpg.connect(database_url)
    newer = iter(range(1000))

    async def insert_concurrently() -> None:
        # Another session commits newer runs, and runs at the very time of
        # existing ones (their order then depends on the id), between pages.
        await write(other, started(ago_s=next(newer) / 1000))
        await write(other, started(started_at=existing[next(newer) % 30].started_at))

    try:
        seen = await walk(db, between_pages=insert_concurrently, limit=7)
    finally:
        await other.close()

    assert len(seen) == len(set(seen))
    assert {run.execution_id for run in existing} <= set(seen)


async def test_the_last_page_has_no_next_cursor(db: asyncpg.Connection) -> None:
    await write(db, *[started(ago_s=index) for index in range(4)])

    assert (await listing(db, limit=4))["next_cursor"] is None
    assert (await listing(db, limit=3))["next_cursor"] is not None


async def test_a_cursor_continues_with_the_same_filters(db: asyncpg.Connection) -> None:
    mine = [started(user_id="me", ago_s=index) for index in range(5)]
    await write(db, *mine, *[started(user_id="other", ago_s=index + 0.5) for index in range(5)])

    assert await walk(db, user_id="me", limit=2) == [run.execution_id for run in mine]


async def test_a_cursor_that_was_not_given_by_the_listing_is_refused(
    db: asyncpg.Connection,
) -> None:
    with pytest.raises(asyncpg.InvalidParameterValueError, match="before must be a next_cursor"):
        await listing(db, before="bm90LWEtY3Vyc29y")


async def test_the_total_ignores_the_cursor_and_the_offset(db: asyncpg.Connection) -> None:
    await write(db, *[started(ago_s=index) for index in range(9)])
    first = await listing(db, limit=2)

    assert (await listing(db, limit=2, before=first["next_cursor"]))["total"] == 9
    assert (await listing(db, limit=2, offset=4))["total"] == 9


async def test_offset_up_to_its_bound_is_accepted(db: asyncpg.Connection) -> None:
    page = await listing(db, offset=limits.OFFSET_MAX)
    assert (page["offset"], page["logs"]) == (limits.OFFSET_MAX, [])


async def test_offset_past_its_bound_is_refused_pointing_at_the_cursor(
    db: asyncpg.Connection,
) -> None:
    with pytest.raises(asyncpg.InvalidParameterValueError, match=r"at most 10000.*before"):
        await listing(db, offset=limits.OFFSET_MAX + 1)


async def test_the_total_is_exact_up_to_the_cap(db: asyncpg.Connection) -> None:
    await bulk_rows(db, limits.TOTAL_CAP)

    page = await listing(db, limit=1)

    assert (page["total"], page["total_capped"]) == (limits.TOTAL_CAP, False)


async def test_the_total_past_the_cap_is_the_cap_and_says_so(db: asyncpg.Connection) -> None:
    await bulk_rows(db, limits.TOTAL_CAP + 1)

    page = await listing(db, limit=1)

    assert (page["total"], page["total_capped"]) == (limits.TOTAL_CAP, True)


async def test_a_filter_that_fits_on_one_page_counts_it(db: asyncpg.Connection) -> None:
    await write(db, *[started(user_id="few", ago_s=index) for index in range(3)])

    page = await listing(db, user_id="few")

    assert (page["total"], page["total_capped"], len(page["logs"])) == (3, False, 3)


async def test_since_is_inclusive_and_until_exclusive(db: asyncpg.Connection) -> None:
    now = epoch_now()
    edge, middle, end = (started(started_at=now - ago) for ago in (300, 200, 100))
    await write(db, edge, middle, end)

    page = await listing(db, since=at(now - 300), until=at(now - 100))

    assert [log["id"] for log in page["logs"]] == [middle.execution_id, edge.execution_id]


async def test_since_lists_runs_older_than_the_hours_limit(db: asyncpg.Connection) -> None:
    now = epoch_now()
    old = started(started_at=now - 30 * 86400)
    await write(db, old, started(started_at=now))

    page = await listing(db, since=at(now - 31 * 86400), until=at(now - 29 * 86400))

    assert [log["id"] for log in page["logs"]] == [old.execution_id]


async def test_until_alone_lists_everything_before_it(db: asyncpg.Connection) -> None:
    now = epoch_now()
    old, recent = started(started_at=now - 400 * 86400), started(started_at=now - 60)
    await write(db, old, recent)

    page = await listing(db, until=at(now - 120))

    assert [log["id"] for log in page["logs"]] == [old.execution_id]


async def test_without_a_window_the_last_24_hours_are_listed(db: asyncpg.Connection) -> None:
    inside, outside = started(ago_s=23 * 3600), started(ago_s=25 * 3600)
    await write(db, inside, outside)

    assert [log["id"] for log in (await listing(db))["logs"]] == [inside.execution_id]


async def test_hours_is_not_combined_with_since(db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InvalidParameterValueError, match="hours cannot be combined"):
        await listing(db, hours=2, since=at(epoch_now()))


async def test_since_must_be_before_until(db: asyncpg.Connection) -> None:
    now = epoch_now()
    with pytest.raises(asyncpg.InvalidParameterValueError, match="must be before until"):
        await listing(db, since=at(now), until=at(now))


async def test_hours_keeps_the_seeds_limits(db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InvalidParameterValueError, match="between 1 and 168"):
        await listing(db, hours=169)


@pytest.mark.parametrize(
    ("field", "query"),
    [
        ("request", "haiku"),
        ("response", "sonnet"),
        ("error summary", "NoneType"),
        ("failed node", "data_checker"),
        ("execution id", "run-4711"),
        ("conversation id", "thread-0815"),
        ("user id", "ada-lovelace"),
    ],
)
async def test_search_finds_a_run_by_each_field(
    db: asyncpg.Connection, field: str, query: str
) -> None:
    run = started(
        "run-4711-x", user_id="ada-lovelace", conversation_id="thread-0815", request_message="haiku"
    )
    await write(
        db,
        finished(
            run,
            status="failed",
            response_message="a sonnet",
            failed_nodes=["data_checker"],
            error_summary="'NoneType' object has no attribute 'get'",
        ),
        started(user_id="someone", conversation_id="c", request_message="unrelated"),
    )

    page = await listing(db, q=query.upper())

    assert [log["id"] for log in page["logs"]] == [run.execution_id], field


async def test_search_looks_only_within_the_bounded_prefix(db: asyncpg.Connection) -> None:
    prefix = limits.SEARCH_PREFIX_CHARS
    early = started(request_message="x" * (prefix - 6) + "needle")
    late = started(request_message="x" * prefix + "needle")
    await write(db, early, late)

    assert [log["id"] for log in (await listing(db, q="needle"))["logs"]] == [early.execution_id]


async def test_search_treats_wildcards_literally(db: asyncpg.Connection) -> None:
    literal = started(request_message="discount 100% off")
    await write(db, literal, started(request_message="discount 1000 off"))

    assert [log["id"] for log in (await listing(db, q="100%"))["logs"]] == [literal.execution_id]


async def family(db: asyncpg.Connection, index: str) -> list[str]:
    """An index's name and, on the partitioned table, its partitions' indexes'."""
    return [
        row[0]
        for row in await db.fetch(
            "SELECT relid::regclass::text FROM pg_partition_tree($1::text::regclass)", index
        )
    ]


async def test_search_is_index_backed(db: asyncpg.Connection) -> None:
    await write(db, *[started(request_message=f"message number {i}") for i in range(50)])
    await db.execute("ANALYZE execution_logs")
    await db.execute("SET enable_seqscan = off")

    plan = await db.fetch(
        "EXPLAIN SELECT count(*) FROM execution_logs l WHERE execution_search_text_v2(l.id, "
        "l.conversation_id, l.user_id, l.request_message, l.response_message, l.error_summary, "
        "l.failed_nodes) ILIKE like_pattern('number 4')"
    )

    names = await family(db, "idx_execution_search_prefix")
    assert any(name in row[0] for row in plan for name in names)


async def test_user_id_prefix_lists_the_users_it_starts(db: asyncpg.Connection) -> None:
    team = [started(user_id="team-a/ada"), started(user_id="team-a/bob")]
    await write(db, *team, started(user_id="team-b/cy"), started(user_id="xteam-a/dan"))

    page = await listing(db, user_id_prefix="team-a/")

    assert {log["id"] for log in page["logs"]} == {run.execution_id for run in team}


async def test_user_id_prefix_treats_wildcards_literally(db: asyncpg.Connection) -> None:
    literal = started(user_id="u_1")
    await write(db, literal, started(user_id="ux1"), started(user_id="u%1"))

    assert [log["id"] for log in (await listing(db, user_id_prefix="u_"))["logs"]] == [
        literal.execution_id
    ]


async def test_user_id_prefix_is_index_backed(db: asyncpg.Connection) -> None:
    await write(db, *[started(user_id=f"user-{i}") for i in range(50)])
    await db.execute("ANALYZE execution_logs")
    await db.execute("SET enable_seqscan = off")

    plan = await db.fetch(
        "EXPLAIN SELECT * FROM execution_logs WHERE user_id LIKE like_prefix_pattern('user-4')"
    )

    names = await family(db, "idx_execution_user_prefix")
    assert any(name in row[0] for row in plan for name in names)


async def test_the_first_release_listing_still_answers(db: asyncpg.Connection) -> None:
    run = started()
    await write(db, run)

    page = json.loads(await db.fetchval("SELECT list_executions(p_q => 'LinkedIn')::text"))

    assert [log["id"] for log in page["logs"]] == [run.execution_id]


async def test_a_cursor_keeps_microseconds(db: asyncpg.Connection) -> None:
    base = epoch_now() - 10
    close = [started(started_at=base + micros / 1e6) for micros in (10, 20, 30)]
    await write(db, *close)

    assert await walk(db, limit=1) == [run.execution_id for run in reversed(close)]


async def test_a_page_of_old_runs_uses_the_window_and_the_cursor(db: asyncpg.Connection) -> None:
    now = epoch_now()
    days = [started(started_at=now - (200 + day) * 86400) for day in range(5)]
    await write(db, *days)
    window = {"since": at(now - 210 * 86400), "until": at(now) - timedelta(days=199)}

    assert await walk(db, limit=2, **window) == [run.execution_id for run in days]


async def test_a_common_text_in_a_large_window_gets_a_floor_for_total(
    db: asyncpg.Connection,
) -> None:
    await bulk_rows(db, limits.SEARCH_SCAN_ROWS + 500)

    page = await listing(db, q="bulk", limit=1)

    assert (page["total"], page["total_capped"]) == (limits.SEARCH_SCAN_ROWS, True)


async def test_a_rare_text_in_a_large_window_is_counted_exactly(db: asyncpg.Connection) -> None:
    await bulk_rows(db, limits.SEARCH_SCAN_ROWS + 500)
    needles = [started(request_message="a needle", ago_s=2 * 3600 + index) for index in range(3)]
    await write(db, *needles)

    page = await listing(db, q="needle", limit=1)

    assert (page["total"], page["total_capped"]) == (3, False)


async def test_a_search_in_a_small_window_is_counted_exactly(db: asyncpg.Connection) -> None:
    await write(db, *[started(request_message=f"hay {index % 2}") for index in range(9)])

    page = await listing(db, q="hay 1", limit=2)

    assert (page["total"], page["total_capped"]) == (4, False)


async def test_cursor_pages_of_a_rare_text_in_a_large_window_list_each_match_once(
    db: asyncpg.Connection,
) -> None:
    await bulk_rows(db, limits.SEARCH_SCAN_ROWS + 500)
    needles = [started(request_message="a needle", ago_s=2 * 3600 + index) for index in range(5)]
    await write(db, *needles)

    assert await walk(db, q="needle", limit=2) == [run.execution_id for run in needles]


async def test_a_text_rare_lately_but_common_before_gets_a_capped_total(
    db: asyncpg.Connection,
) -> None:
    await bulk_rows(db, limits.SEARCH_SCAN_ROWS + 500)
    await db.execute(
        "INSERT INTO execution_logs (id, user_id, request_message, status, started_at) "
        "SELECT 'old-' || g, 'old', 'a needle', 'completed', now() - interval '20 hours' "
        "FROM generate_series(1, $1) AS g",
        limits.TOTAL_CAP + 1,
    )

    page = await listing(db, q="needle", limit=3)

    assert (page["total"], page["total_capped"], len(page["logs"])) == (limits.TOTAL_CAP, True, 3)
