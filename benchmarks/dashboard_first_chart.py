"""Benchmark: the dashboard's first chart of a 1,000-trial, 1,000,000-point job, and its trials table's scrolling.

A temporary home gets one tuning job written straight through ``LocalBackend.add_events`` (bulk):
1,000 trials x 1,000 steps of ``train/loss`` (trials interleaved, as a search reports), one
``trials`` event with the 1,000 rows, the best trial set. A real ``trainaction server`` serves it;
headless Chromium (the system's, through Playwright) signs in with a read token and opens the job's
Metrics page. charts.js marks ``performance.mark('first-chart')`` when its first chart has drawn:
the figure is that mark's time from navigation start (Performance API; target < 1 s). Then the
Trials page: a scripted scroll through the 1,000 rows of its virtual table, one step per animation
frame, records each frame's time (requestAnimationFrame deltas): p50/p95/max frame time.

Run (from the repository root): .venv/bin/python benchmarks/dashboard_first_chart.py [--trials N]
[--steps N] [--repeats R]
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/logging.py would shadow the standard library's logging: keep this folder off sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the tests' server process

import argparse  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402

from servers import ServerProcess  # noqa: E402
from trainaction.backend import LocalBackend  # noqa: E402
from trainaction.events import Event  # noqa: E402
from trainaction.server.auth import TokenStore  # noqa: E402

# Steps through the virtual table's scroller, one per frame, and collects the frame deltas.
_SCROLL = """async () => {
  const box = document.querySelector('.trials-table .table-wrap');
  box.scrollTop = 0;
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  // The same number of frames without scrolling first: what the loaded machine's frames cost anyway.
  const idle = [];
  let last = performance.now();
  for (let i = 0; i < 240; i++) {
    await new Promise(r => requestAnimationFrame(r));
    const now = performance.now();
    idle.push(now - last);
    last = now;
  }
  const deltas = [];
  last = performance.now();
  const step = Math.max(1, Math.round((box.scrollHeight - box.clientHeight) / 240));
  while (box.scrollTop + box.clientHeight < box.scrollHeight - 1) {
    box.scrollTop += step;
    await new Promise(r => requestAnimationFrame(r));
    const now = performance.now();
    deltas.push(now - last);
    last = now;
  }
  return {deltas, idle, rows: Number(box.dataset.rows || 0), shown: box.querySelectorAll('tbody tr').length};
}"""


def fill(backend: LocalBackend, trials: int, steps: int) -> tuple[int, str]:
    params = {
        "name": "dashboard",
        "dataset": 1,
        "is_tune": True,
        "hyperparameters": [
            {"name": "lr", "type": "loguniform", "min": 1e-5, "max": 1e-1, "base": 10},
            {"name": "optimizer", "type": "choice", "options": ["adam", "sgd", "rmsprop"]},
            {"name": "layers", "type": "randint", "min": 1, "max": 8},
        ],
        "tune_config": {"metric": "accuracy", "mode": "max", "num_samples": trials},
    }
    job = backend.create_job("train", params, "dashboard", "dashboard benchmark")
    rng = random.Random(0)
    names = [f"t{trial:05d}" for trial in range(trials)]
    config = {
        name: {
            "lr": 10 ** rng.uniform(-5, -1),
            "optimizer": rng.choice(["adam", "sgd", "rmsprop"]),
            "layers": rng.randint(1, 8),
        }
        for name in names
    }
    batch: list[Event] = []
    for step in range(steps):
        for name in names:
            value = 1 / (step + 1) + config[name]["lr"] + rng.random() / 10
            data = {"category": "train", "key": "loss", "value": value, "metrics": {"step": step}, "trial_id": name}
            batch.append(Event("metric", data, 1.0))
        if len(batch) >= 100_000:
            backend.add_events(job.id, batch)
            batch = []
    backend.add_events(job.id, batch)
    accuracy = {name: 1 - 1 / (steps + 1) - config[name]["lr"] - rng.random() / 10 for name in names}
    best = max(names, key=accuracy.__getitem__)
    rows = {
        name: {"status": "TERMINATED", "retries": 0, **config[name], "accuracy": accuracy[name], "epoch": steps}
        for name in names
    }
    table = {
        "trials": rows,
        "base": ["status", "retries"],
        "hyperparameters": ["lr", "optimizer", "layers"],
        "metrics": ["accuracy", "epoch"],
        "best_trial": best,
    }
    backend.add_events(job.id, [Event("trials", table, 2.0)])
    backend.update_job(job.id, status="SUCCEEDED", best_trial=best, progress_percent=100.0)
    return job.id, best


def _logged_in(browser: Any, url: str, token: str) -> tuple[Any, Any]:
    """A 1280x800 browser context and its page, logged in to the dashboard with ``token``."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#view .view")
    return context, page


def first_chart(browser: Any, url: str, token: str, job_id: int) -> dict[str, float]:
    context, page = _logged_in(browser, url, token)
    page.goto("about:blank")
    page.goto(f"{url}/#/jobs/{job_id}/metrics")
    page.wait_for_function("() => performance.getEntriesByName('first-chart').length > 0", timeout=60_000)
    series = page.locator("figure.chart").first.get_attribute("data-series")
    mark = page.evaluate("() => performance.getEntriesByName('first-chart')[0].startTime")
    # Where the time went: each API request's start and end (ms from navigation start).
    requests = page.evaluate(
        "() => performance.getEntriesByType('resource').filter(e => e.name.includes('/api/v1/'))"
        ".map(e => [e.name.split('/api/v1')[1], e.startTime, e.responseEnd])"
    )
    context.close()
    return {"first_chart_ms": mark, "series": float(series or 0), "requests": requests}


def scroll(browser: Any, url: str, token: str, job_id: int) -> dict[str, float]:
    context, page = _logged_in(browser, url, token)
    page.goto(f"{url}/#/jobs/{job_id}/trials")
    page.wait_for_selector(".trials-table tbody tr[data-key]", timeout=60_000)
    page.wait_for_timeout(500)  # let the page settle before the scripted scroll
    result = page.evaluate(_SCROLL)
    context.close()
    deltas = sorted(result["deltas"])
    idle = sorted(result["idle"])
    return {
        "idle_p50_ms": statistics.median(idle),
        "idle_p95_ms": idle[int(0.95 * (len(idle) - 1))],
        "frames": len(deltas),
        "p50_ms": statistics.median(deltas),
        "p95_ms": deltas[int(0.95 * (len(deltas) - 1))],
        "max_ms": deltas[-1],
        "rows_in_dom": result["shown"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="a folder to keep the filled home in (and reuse)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as directory:
        home = (args.keep or Path(directory)) / "home"
        if args.keep is not None and home.exists():
            job_id = 1
        else:
            start = time.perf_counter()
            job_id, _ = fill(LocalBackend(home), args.trials, args.steps)
            print(f"{args.trials:,} trials x {args.steps:,} steps stored in {time.perf_counter() - start:.1f} s")
        backend = LocalBackend(home)
        read = TokenStore(backend.engine).create(f"bench-{uuid.uuid4().hex[:8]}", "read")[1]
        with ServerProcess(home) as server:
            executable = shutil.which("chromium") or "/usr/bin/chromium"
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=executable, headless=True)
                runs = [first_chart(browser, server.url, read, job_id) for _ in range(args.repeats)]
                times = [run["first_chart_ms"] for run in runs]
                print(
                    f"first chart ({int(runs[0]['series'])} lines): median {statistics.median(times):.0f} ms "
                    f"(runs {', '.join(f'{t:.0f}' for t in times)}; target < 1000 ms)"
                )
                for path, begin, end in runs[-1]["requests"]:
                    print(f"  {begin:6.0f} → {end:6.0f} ms  GET {path[:90]}")
                frames = scroll(browser, server.url, read, job_id)
                print(
                    f"trials table scroll through {args.trials:,} rows: {frames['frames']} frames, "
                    f"p50 {frames['p50_ms']:.1f} ms, p95 {frames['p95_ms']:.1f} ms, max {frames['max_ms']:.1f} ms; "
                    f"{frames['rows_in_dom']} rows in the DOM; the same page's frames without scrolling: "
                    f"p50 {frames['idle_p50_ms']:.1f} ms, p95 {frames['idle_p95_ms']:.1f} ms"
                )
                browser.close()
    print(f"load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
