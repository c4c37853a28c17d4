"""Dashboard benchmark: how busy the page's main thread is under live load.

    python -m bench.dashboard [--rate 200] [--seconds 25] [--run-ms 250]
                              [--baseline GIT_REF]

The app runs in a real uvicorn subprocess on a scratch database (as in
bench/stream.py); headless Chromium (/usr/bin/chromium) opens the dashboard
and stays on it while `--rate` runs per second are written through the
writer's batch function (bench/stream.py's load) for `--seconds`, each run a
start and, `--run-ms` later, a finish: 2 x rate live events per second, every
one of them on the page's first page.

Reported, per variant of the page, over the load:
  * main-thread busy time per second: Chromium's own TaskDuration metric
    (DevTools Performance domain; every task on the renderer's main thread:
    script, style, layout, paint), and its script and style+layout parts;
  * long tasks (> 50 ms, PerformanceObserver 'longtask'): count and longest;
  * frames drawn per second (requestAnimationFrame callbacks);
  * input delay: how late a 50 ms timer fires, p50 / p99 (what a click or a
    key would wait);
  * events received by the page's EventSource.

`--baseline REF` also measures the dashboard as it was at git commit REF
(its static files are served in place of the current ones), in the same run,
after the current one.
"""

import argparse
import asyncio
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Page, Route, async_playwright

from bench.common import percentile, print_table, scratch_database
from bench.stream import (
    PROJECT_ROOT,
    Load,
    free_port,
    generate,
    start_server,
    stop_server,
    wait_for_server,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STATIC = "langgraph_execution_monitor/dashboard/static"

# Installed before the page's own scripts: counts what the page receives and
# how its main thread fares, once `window.__bench.on` is set.
PROBES = """
(() => {
  const b = { on: false, events: 0, longTasks: 0, longest: 0, frames: 0, lags: [] };
  window.__bench = b;
  const Native = window.EventSource;
  window.EventSource = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('execution', () => { if (b.on) b.events += 1; });
    }
  };
  new PerformanceObserver((list) => {
    if (!b.on) return;
    for (const e of list.getEntries()) {
      b.longTasks += 1;
      b.longest = Math.max(b.longest, e.duration);
    }
  }).observe({ type: 'longtask', buffered: false });
  const frame = () => { if (b.on) b.frames += 1; requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
  const sample = () => {
    const due = performance.now() + 50;
    setTimeout(() => { if (b.on) b.lags.push(performance.now() - due); sample(); }, 50);
  };
  sample();
})();
"""


@dataclass
class Result:
    variant: str
    seconds: float
    metrics: dict[str, float]
    probes: dict[str, Any]
    sent: int
    rows: int


def extract_static(ref: str, into: Path) -> Path:
    """The dashboard's static files at git commit `ref`."""
    listing = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{ref}:{STATIC}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in listing:
        blob = subprocess.run(
            ["git", "show", f"{ref}:{STATIC}/{name}"], cwd=PROJECT_ROOT, capture_output=True
        )
        if blob.returncode == 0:
            (into / name).write_bytes(blob.stdout)
    return into


async def serve_static_from(page: Page, base_url: str, directory: Path) -> None:
    """Answer the page and its /static/ files from `directory`."""

    async def handle(route: Route) -> None:
        path = urlsplit(route.request.url).path
        name = "index.html" if path == "/" else path.removeprefix("/static/")
        file = directory / name
        if file.is_file():
            await route.fulfill(path=str(file))
        else:
            await route.continue_()

    await page.route(re.compile(re.escape(base_url) + r"/(\?.*)?$"), handle)
    await page.route(re.compile(re.escape(base_url) + r"/static/.*"), handle)


async def metrics(cdp: Any) -> dict[str, float]:
    body = await cdp.send("Performance.getMetrics")
    return {m["name"]: m["value"] for m in body["metrics"]}


async def measure(
    browser: Any,
    base_url: str,
    database_url: str,
    variant: str,
    static_dir: Path | None,
    rate: float,
    seconds: float,
    run_ms: float,
) -> Result:
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    await page.add_init_script(PROBES)
    if static_dir is not None:
        await serve_static_from(page, base_url, static_dir)
    await page.goto(base_url + "/")
    await page.wait_for_selector('[data-testid="live-indicator"][data-state="live"]')
    cdp = await context.new_cdp_session(page)
    await cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
    await asyncio.sleep(1)

    load = Load()
    before = await metrics(cdp)
    await page.evaluate("() => { window.__bench.on = true; }")
    began = time.monotonic()
    await generate(database_url, rate, seconds, run_ms / 1000, load)
    await asyncio.sleep(0.5)  # the last events reach the page
    probes = await page.evaluate("() => { window.__bench.on = false; return window.__bench; }")
    elapsed = time.monotonic() - began
    after = await metrics(cdp)
    rows = await page.locator('[data-testid="log-row"]').count()
    await context.close()
    delta = {k: after[k] - before.get(k, 0.0) for k in after}
    sent = 2 * len(load.completed_at)
    return Result(variant, elapsed, delta, probes, sent, rows)


def report(results: list[Result], rate: float) -> None:
    header = (
        "page",
        "events recv/sent",
        "busy ms/s",
        "script ms/s",
        "style+layout ms/s",
        "long tasks (max)",
        "frames/s",
        "input delay p50/p99",
        "rows",
    )
    table = [header]
    for r in results:
        per_s = 1000 / r.seconds
        m = r.metrics
        lags = r.probes["lags"] or [0.0]
        table.append(
            (
                r.variant,
                f"{r.probes['events']:,} / {r.sent:,}",
                f"{m['TaskDuration'] * per_s:.0f}",
                f"{m['ScriptDuration'] * per_s:.0f}",
                f"{(m['RecalcStyleDuration'] + m['LayoutDuration']) * per_s:.0f}",
                f"{r.probes['longTasks']} ({r.probes['longest']:.0f} ms)",
                f"{r.probes['frames'] / r.seconds:.0f}",
                f"{percentile(lags, 0.5):.1f} / {percentile(lags, 0.99):.1f} ms",
                str(r.rows),
            )
        )
    print_table(f"Dashboard under {rate:g} runs/s ({2 * rate:g} live events/s)", table)


async def run(rate: float, seconds: float, run_ms: float, baseline: str | None) -> None:
    async with scratch_database("elm_bench_dashboard") as database_url:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = start_server(database_url, port)
        try:
            await wait_for_server(base_url, server)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS
                )
                try:
                    results = [
                        await measure(
                            browser, base_url, database_url, "current", None, rate, seconds, run_ms
                        )
                    ]
                    if baseline:
                        with tempfile.TemporaryDirectory(prefix="elm-dashboard-") as tmp:
                            old = extract_static(baseline, Path(tmp))
                            results.append(
                                await measure(
                                    browser,
                                    base_url,
                                    database_url,
                                    f"at {baseline}",
                                    old,
                                    rate,
                                    seconds,
                                    run_ms,
                                )
                            )
                finally:
                    await browser.close()
        finally:
            stop_server(server)
    report(results, rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200, help="runs per second")
    parser.add_argument("--seconds", type=float, default=25)
    parser.add_argument("--run-ms", type=float, default=250, help="from a run's start to finish")
    parser.add_argument("--baseline", help="also measure the dashboard at this git commit")
    args = parser.parse_args()
    asyncio.run(run(args.rate, args.seconds, args.run_ms, args.baseline))


if __name__ == "__main__":
    main()
