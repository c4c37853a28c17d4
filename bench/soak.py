"""Soak: the real server under the highest chat rate it sustains, with dashboards open.

    python -m bench.soak [--seconds 300] [--clients 200] [--concurrency 8]

Two servers, one after the other, each a real uvicorn subprocess on a scratch
database (DATABASE_URL's server, or an embedded one):

- monitored: the app as `make serve` runs it (`app.api.main:app`): every chat turn
  recorded, and `--clients` SSE clients on the stream (bench/stream.py's readers,
  which reconnect with Last-Event-ID as a browser does) the whole time;
- unmonitored: the same demo agent, uninstrumented, behind the same kind of
  endpoint (`bench.soak:unmonitored_app`): what the chat costs without the monitor.

Load: `--concurrency` clients in a closed loop POST /api/v1/chat/v2 for `--seconds`
(each sends its next turn when the last one is answered), so the rate is the highest
the server sustains at that concurrency. Reported per server: turns answered, turns/s,
latency p50 / p99, errors, the server's RSS after warm-up and at the end, its CPU.
For the monitored one also: rows in the table (every answered turn, finished), the
writer's drops and failures from /health, and finished runs missing at any SSE
client (none may be).
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import time
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from bench.common import percentile, print_table, scratch_database
from bench.stream import (
    SseClient,
    free_port,
    health,
    proc_cpu_s,
    proc_status_kb,
    start_server,
    stop_server,
    wait_for_server,
)

CHAT_PATH = "/api/v1/chat/v2"
WARM_UP_S = 10.0


# -- the unmonitored server ---------------------------------------------------


class _Turn(BaseModel):
    message: str
    user_id: str
    conversation_id: str | None = None


def _unmonitored() -> FastAPI:
    from app.agents.conversational_graph import build_graph, initial_state, response_of

    graph = build_graph()
    app = FastAPI()

    @app.post(CHAT_PATH)
    async def chat(turn: _Turn) -> dict[str, Any]:
        state = await graph.ainvoke(
            initial_state(turn.message, turn.user_id, turn.conversation_id or "soak")
        )
        return {"response": response_of(state)}

    @app.get("/health")
    async def alive() -> dict[str, str]:
        return {"status": "ok"}

    return app


unmonitored_app = _unmonitored() if os.environ.get("SOAK_UNMONITORED") else None


# -- the load -----------------------------------------------------------------


async def chat_loop(
    base_url: str, worker: int, until: float, latencies_ms: list[float], errors: list[str]
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        turn = 0
        while time.monotonic() < until:
            turn += 1
            body = {
                "message": f"Create a LinkedIn post about AI ({worker}/{turn})",
                "user_id": f"soak-user-{worker % 20}",
                "conversation_id": f"soak-{worker}",
            }
            began = time.perf_counter()
            try:
                answer = await http.post(CHAT_PATH, json=body)
            except httpx.HTTPError as error:
                errors.append(type(error).__name__)
                continue
            if answer.status_code != 200:
                errors.append(str(answer.status_code))
                continue
            latencies_ms.append((time.perf_counter() - began) * 1000)


async def load(
    base_url: str, seconds: float, concurrency: int, server: subprocess.Popen[bytes]
) -> dict[str, Any]:
    warm: list[float] = []
    await asyncio.gather(
        *(
            chat_loop(base_url, -1 - w, time.monotonic() + WARM_UP_S, warm, [])
            for w in range(concurrency)
        )
    )
    rss_start = proc_status_kb(server.pid, "VmRSS")
    latencies_ms: list[float] = []
    errors: list[str] = []
    cpu_before, began = proc_cpu_s(server.pid), time.monotonic()
    until = began + seconds
    await asyncio.gather(
        *(chat_loop(base_url, w, until, latencies_ms, errors) for w in range(concurrency))
    )
    wall_s = time.monotonic() - began
    return {
        "turns": len(latencies_ms),
        "warm_up_turns": len(warm),
        "rate": len(latencies_ms) / wall_s,
        "p50": statistics.median(latencies_ms),
        "p99": percentile(latencies_ms, 0.99),
        "errors": len(errors),
        "rss_start_mib": rss_start / 1024,
        "rss_end_mib": proc_status_kb(server.pid, "VmRSS") / 1024,
        "cpu_pct": 100 * (proc_cpu_s(server.pid) - cpu_before) / wall_s,
    }


async def monitored(seconds: float, clients: int, concurrency: int) -> dict[str, Any]:
    async with scratch_database("elm_bench_soak") as database_url:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = start_server(database_url, port)
        tasks: list[asyncio.Task[None]] = []
        try:
            await wait_for_server(base_url, server)
            readers = [SseClient(port) for _ in range(clients)]
            for index, reader in enumerate(readers):
                tasks.append(asyncio.create_task(reader.run(), name=f"sse-{index}"))
                if index % 50 == 49:
                    await asyncio.sleep(0.05)
            await asyncio.wait_for(
                asyncio.gather(*(reader.connected.wait() for reader in readers)), 60
            )
            result = await load(base_url, seconds, concurrency, server)
            answered = result["turns"] + result["warm_up_turns"]
            db = await asyncpg.connect(database_url)
            try:
                deadline = time.monotonic() + 30
                while True:
                    rows = await db.fetchval(
                        "SELECT count(*) FROM execution_monitor.execution_logs"
                        " WHERE status <> 'running'"
                    )
                    if rows >= answered or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.5)
                finished_ids = {
                    r["id"]
                    for r in await db.fetch(
                        "SELECT id FROM execution_monitor.execution_logs WHERE status <> 'running'"
                    )
                }
            finally:
                await db.close()

            def missing() -> int:
                return sum(len(finished_ids - reader.finishes.keys()) for reader in readers)

            deadline = time.monotonic() + 30
            while missing() and time.monotonic() < deadline:  # noqa: ASYNC110 (no event)
                await asyncio.sleep(0.5)
            writer = (await health(base_url))["writer"]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            stop_server(server)
    result.update(
        answered=answered,
        rows=rows,
        missing_at_clients=missing(),
        client_drops=sum(r.drops for r in readers),
        writer=writer,
    )
    return result


async def unmonitored(seconds: float, concurrency: int) -> dict[str, Any]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = start_server("", port, "bench.soak:unmonitored_app", SOAK_UNMONITORED="1")
    try:
        await wait_for_server(base_url, server, lambda body: body.get("status") == "ok")
        return await load(base_url, seconds, concurrency, server)
    finally:
        stop_server(server)


def report(with_monitor: dict[str, Any], without: dict[str, Any], clients: int) -> None:
    def row(name: str, key: str, form: str) -> tuple[str, ...]:
        return (name, format(with_monitor[key], form), format(without[key], form))

    writer = with_monitor["writer"]
    print_table(
        "Soak: chat turns in a closed loop, the real server",
        [
            ("measure", f"monitored, {clients} SSE clients", "unmonitored"),
            row("turns answered (after warm-up)", "turns", ","),
            row("turns/s", "rate", ".1f"),
            row("latency p50 (ms)", "p50", ".1f"),
            row("latency p99 (ms)", "p99", ".1f"),
            row("errors", "errors", ","),
            row("server RSS after warm-up (MiB)", "rss_start_mib", ".1f"),
            row("server RSS at the end (MiB)", "rss_end_mib", ".1f"),
            row("server CPU (% of one core)", "cpu_pct", ".0f"),
            (
                "rows finished / turns answered",
                f"{with_monitor['rows']:,} / {with_monitor['answered']:,}",
                "",
            ),
            (
                "writer dropped / failed to log",
                f"{writer.get('dropped')} / {writer.get('failed_to_log')}",
                "",
            ),
            ("finished runs missing at a client", f"{with_monitor['missing_at_clients']:,}", ""),
            ("clients dropped as too slow (resumed)", f"{with_monitor['client_drops']:,}", ""),
        ],
    )


async def run(seconds: float, clients: int, concurrency: int) -> None:
    with_monitor = await monitored(seconds, clients, concurrency)
    without = await unmonitored(seconds, concurrency)
    report(with_monitor, without, clients)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.clients, args.concurrency))


if __name__ == "__main__":
    main()
