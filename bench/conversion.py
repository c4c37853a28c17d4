"""The writer's conversion of one finished run, piece by piece, in CPU instructions
(callgrind: the same count on a quiet machine and a busy one).

    python -m bench.conversion [--workload trivial|react] [--runs 300]

A child process under callgrind records `--runs` runs of the workload of
`bench/overhead.py` with a sink that keeps the events, then converts each finish once
per piece (the whole row, the trace, its entries, their timestamps, the trace's JSON,
request, input, response, the five cleaned texts, the batch JSON of one row); the parent
dumps callgrind's counter after each piece. "nothing" is the loop's own cost per run.
"""

import argparse
import asyncio
import glob
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from typing import Any


def child(workload: str, runs: int) -> None:
    warnings.filterwarnings("ignore")
    from bench.overhead import react, trivial
    from langgraph_execution_monitor.capture import ExecutionMonitor
    from langgraph_execution_monitor.events import ExecutionFinished
    from langgraph_execution_monitor.rows import TextCleaner, event_row, rows_to_json, trace_text
    from langgraph_execution_monitor.serialize import (
        entry_dicts,
        iso,
        request_text,
        response_text,
        to_json,
        to_json_uncapped,
    )

    events: list[Any] = []
    graph = ExecutionMonitor(emit=events.append).instrument(
        react() if workload == "react" else trivial()
    )
    config = {"configurable": {"thread_id": "bench", "user_id": "bench"}}

    def given() -> dict[str, Any]:
        if workload == "react":
            return {"messages": [("user", "Weather and population of Paris?")]}
        return {"message": "hi", "n": 0}

    async def record() -> None:
        for _ in range(runs + 50):
            await graph.ainvoke(given(), config)

    asyncio.run(record())
    finishes = [e for e in events if e.__class__ is ExecutionFinished][50:]
    clean = TextCleaner(4000)
    rows = [event_row(f, clean) for f in finishes]
    stored = [
        entry_dicts(f.execution_trace, None, stamp=True, encode_output=False) for f in finishes
    ]
    pieces: dict[str, Callable[[Any, int], Any]] = {
        "nothing": lambda f, i: None,
        "event_row": lambda f, i: event_row(f, clean),
        "trace_text": lambda f, i: trace_text(f.execution_trace, clean),
        "entry_dicts": lambda f, i: entry_dicts(
            f.execution_trace, None, stamp=True, encode_output=False
        ),
        "iso (per entry)": lambda f, i: [iso(e.clock + e.end) for e in f.execution_trace],
        "trace JSON": lambda f, i: to_json_uncapped(stored[i]),
        "request_text": lambda f, i: request_text(f.request_message),
        "input JSON": lambda f, i: to_json(f.input, 4000),
        "response_text": lambda f, i: response_text(f.response_message),
        "5 cleaned texts": lambda f, i: [
            clean(v)
            for v in (f.execution_id, f.conversation_id, f.user_id, f.status, f.error_summary)
        ],
        "rows_to_json (1 row)": lambda f, i: rows_to_json(rows[i : i + 1]),
    }
    for piece in pieces.values():  # warm
        for index, finish in enumerate(finishes[:20]):
            piece(finish, index)
    print("ready", flush=True)
    sys.stdin.readline()
    for name, piece in pieces.items():
        for index, finish in enumerate(finishes):
            piece(finish, index)
        print(name, flush=True)
        sys.stdin.readline()
    print("done", flush=True)
    sys.stdin.readline()


def measure(workload: str, runs: int) -> list[tuple[str, float]]:
    folder = tempfile.mkdtemp(prefix="elm_callgrind_")
    out = os.path.join(folder, "callgrind.out")
    process = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "bench.conversion",
            "--child",
            workload,
            str(runs),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={"PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin", **_pythonpath()},
    )
    assert process.stdin is not None and process.stdout is not None

    def answer() -> None:
        process.stdin.write("\n")  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]

    counts: list[tuple[str, float]] = []
    if process.stdout.readline().strip() != "ready":
        process.kill()
        raise RuntimeError("the child did not get ready")
    subprocess.run(["callgrind_control", "-i", "on", str(process.pid)], check=True)
    answer()
    while (name := process.stdout.readline().strip()) != "done":
        subprocess.run(
            ["callgrind_control", "-d", str(process.pid)], check=True, capture_output=True
        )
        dump = max(glob.glob(f"{out}.*"), key=os.path.getmtime)
        with open(dump) as lines:
            total = next(int(line.split()[1]) for line in lines if line.startswith("summary:"))
        counts.append((name, total / runs))
        answer()
    answer()
    process.communicate(timeout=60)
    for leftover in glob.glob(f"{out}*"):
        os.remove(leftover)
    os.rmdir(folder)
    return counts


def _pythonpath() -> dict[str, str]:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return {"PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", choices=["trivial", "react"], default="trivial")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    from bench.common import print_table

    rows = [("piece", "instructions per finished run")]
    rows += [(name, f"{count:,.0f}") for name, count in measure(args.workload, args.runs)]
    print_table(f"{args.workload}: converting one finished run", rows)


if __name__ == "__main__":
    main()
