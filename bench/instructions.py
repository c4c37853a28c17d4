"""Capture overhead in CPU instructions, counted by valgrind (callgrind): the same
number on a quiet machine and on a busy one, so it can be compared across commits.

    python -m bench.instructions [--runs 200]      # make bench-instructions

Each variant runs in its own process under callgrind twice, with `--runs` and with
three times as many graph runs; the difference divided by the extra runs is the cost
of one run, start-up excluded. Variants, for the trivial 5-node graph and the prebuilt
ReAct agent of `bench/overhead.py`: plain (no monitoring); capture (the monitor with a
sink that does nothing); monitor (the monitor handing events to a real `LogWriter`'s
enqueue: its buffer, without a database, so only the hot path is counted).
Wall-clock overhead is larger than the instruction overhead (cache misses and
allocation the counter does not weigh): `bench/overhead.py` measures that.
"""

import argparse
import asyncio
import shutil
import subprocess
import sys
import warnings

VARIANTS = ("plain", "capture", "monitor")
WORKLOADS = ("trivial", "react")


def child(workload: str, variant: str, runs: int) -> None:
    warnings.filterwarnings("ignore")
    from bench.overhead import react, trivial
    from langgraph_execution_monitor.capture import ExecutionMonitor
    from langgraph_execution_monitor.writer import LogWriter

    graph = trivial() if workload == "trivial" else react()
    if variant == "capture":
        graph = ExecutionMonitor(emit=lambda event: None).instrument(graph)
    elif variant == "monitor":

        async def no_pool() -> None:
            raise ConnectionRefusedError

        writer = LogWriter(no_pool, max_events=10**7, max_bytes=10**12)  # type: ignore[arg-type]
        graph = ExecutionMonitor(emit=writer.enqueue).instrument(graph)
    config = {"configurable": {"thread_id": "bench", "user_id": "bench"}}

    def given() -> dict[str, object]:
        if workload == "trivial":
            return {"message": "hi", "n": 0}
        return {"messages": [("user", "Weather and population of Paris?")]}

    async def main() -> None:
        for _ in range(runs):
            await graph.ainvoke(given(), config)

    asyncio.run(main())


def instructions(workload: str, variant: str, runs: int) -> int:
    result = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            workload,
            variant,
            str(runs),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin"},
    )
    for line in result.stderr.splitlines():
        if "Collected" in line:
            return int(line.split()[-1])
    raise RuntimeError(f"no instruction count in callgrind's output:\n{result.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        workload, variant, runs = args.child
        child(workload, variant, int(runs))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    from bench.common import print_table

    rows = [("workload", "variant", "instructions/run", "overhead")]
    for workload in WORKLOADS:
        per_run = {}
        for variant in VARIANTS:
            low = instructions(workload, variant, args.runs)
            high = instructions(workload, variant, 3 * args.runs)
            per_run[variant] = (high - low) / (2 * args.runs)
        base = per_run["plain"]
        for variant in VARIANTS:
            rows.append(
                (
                    workload,
                    variant,
                    f"{per_run[variant] / 1e6:.3f} M",
                    f"{(per_run[variant] - base) / base * 100:+.2f}%",
                )
            )
    print_table(f"CPU instructions per run (callgrind, {args.runs} and {3 * args.runs} runs)", rows)


if __name__ == "__main__":
    main()
