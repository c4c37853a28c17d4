"""Live side: writes are announced on `execution_events`, once per statement,
with a small payload of [id, status, change_seq] triples."""

import asyncio
import json

import asyncpg

from tests.factories import finished, started, write


class Inbox:
    """Collects notifications of one LISTEN connection."""

    def __init__(self) -> None:
        self.payloads: list[list[list]] = []

    def __call__(self, connection: object, pid: int, channel: str, payload: str) -> None:
        self.payloads.append(json.loads(payload))

    async def settle(self, connection: asyncpg.Connection) -> None:
        """Let every sent notification arrive (a round trip flushes them)."""
        await asyncio.sleep(0.05)
        await connection.fetchval("SELECT 1")


async def listen(database_url: str) -> tuple[asyncpg.Connection, Inbox]:
    connection = await asyncpg.connect(database_url)
    inbox = Inbox()
    await connection.add_listener("execution_events", inbox)
    return connection, inbox


async def test_a_batch_of_starts_is_announced_once(
    db: asyncpg.Connection, database_url: str
) -> None:
    listener, inbox = await listen(database_url)
    runs = [started() for _ in range(3)]
    await write(db, *runs)
    await inbox.settle(listener)
    assert len(inbox.payloads) == 1
    assert sorted(entry[0] for entry in inbox.payloads[0]) == sorted(r.execution_id for r in runs)
    assert {entry[1] for entry in inbox.payloads[0]} == {"running"}
    await listener.close()


async def test_a_batch_of_finishes_is_announced_once_with_final_statuses(
    db: asyncpg.Connection, database_url: str
) -> None:
    runs = [started() for _ in range(3)]
    await write(db, *runs)
    listener, inbox = await listen(database_url)
    await write(db, *[finished(r, status="partial") for r in runs])
    await inbox.settle(listener)
    assert len(inbox.payloads) == 1
    assert {entry[1] for entry in inbox.payloads[0]} == {"partial"}
    await listener.close()


async def test_change_seq_grows_with_each_change(db: asyncpg.Connection, database_url: str) -> None:
    run = started()
    listener, inbox = await listen(database_url)
    await write(db, run)
    await write(db, finished(run))
    await inbox.settle(listener)
    (first,), (second,) = inbox.payloads
    assert second[2] > first[2]
    await listener.close()


async def test_large_batches_are_announced_in_chunks_under_the_payload_limit(
    db: asyncpg.Connection, database_url: str
) -> None:
    listener, inbox = await listen(database_url)
    await write(db, *[started() for _ in range(250)])
    await inbox.settle(listener)
    assert [len(payload) for payload in inbox.payloads] == [100, 100, 50]
    await listener.close()


async def test_a_retried_batch_announces_nothing(db: asyncpg.Connection, database_url: str) -> None:
    run = started()
    await write(db, run, finished(run))
    listener, inbox = await listen(database_url)
    await write(db, run, finished(run))
    await inbox.settle(listener)
    assert inbox.payloads == []
    await listener.close()
