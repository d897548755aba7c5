"""Benchmark: the downsampled chart read of jobs with 1,000,000 metric points.

Two jobs, stored as the backend stores points (``metric_points`` with their series counts and
min/max blocks): a training job with ONE series of 1,000,000 points, and a tuning job's 1,000
trials x 1,000 steps of one key (``training/loss``). Then ``metric_series`` (what
``GET /api/v1/jobs/{id}/metrics`` answers): the single series at points=500, one trial at
points=500, all trials at points=30 (a 1,000-line chart), each with a target of < 300 ms; and, for
information, all trials at points=500 (500,000 points answered). On SQLite and on a throwaway
PostgreSQL (``tests/postgres.py``: the machine's initdb/pg_ctl).

Run (from the repository root): .venv/bin/python benchmarks/chart_query.py [--trials N] [--steps N]
[--repeats R] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/logging.py would shadow the standard library's logging: keep this folder off sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import contextlib  # noqa: E402
import functools  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402

import sqlalchemy as sa  # noqa: E402

from trainaction.backend import store  # noqa: E402
from trainaction.backend.batches import insert_rows  # noqa: E402
from trainaction.backend.series import metric_series  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def database(kind: str) -> Iterator[sa.engine.Engine]:
    """An empty database with trainaction's schema: a SQLite file as the embedded backend makes it
    (WAL), or a database in a PostgreSQL cluster started for the run."""
    if kind == "sqlite":
        from trainaction.backend.database import sqlite_engine

        with tempfile.TemporaryDirectory() as directory:
            engine = sqlite_engine(Path(directory) / "trainaction.db")
            store.metadata.create_all(engine)
            yield engine
            engine.dispose()
        return
    sys.path.insert(0, str(REPO / "tests"))
    from postgres import PostgresCluster  # the tests' throwaway cluster

    with PostgresCluster.running() as cluster:
        engine = sa.create_engine(cluster.create_database())
        store.metadata.create_all(engine)
        yield engine
        engine.dispose()


def fill(engine: sa.engine.Engine, trials: int, steps: int) -> int:
    """One job with ``trials`` x ``steps`` points of a noisy falling loss (``trials=0``: one training
    series of ``steps`` points); returns the job id."""
    with engine.begin() as conn:
        job_id = conn.execute(
            store.jobs.insert().values(
                action="train",
                params={},
                name="chart",
                display_name="chart",
                status="SUCCEEDED",
                progress={},
                progress_percent=100.0,
                created_at=time.time(),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    rng = random.Random(0)
    names = [f"trial_{trial:05d}" for trial in range(trials)] or [None]
    # Trials report interleaved, as a search's trials do: rows of one series are not adjacent.
    rows = [
        (job_id, name, "training", "loss", float(step), None, 1 / (step + 1) + rng.random() / 10)
        for step in range(steps)
        for name in names
    ]
    for start in range(0, len(rows), 100_000):  # batches as the server stores them, in bulk
        with engine.begin() as conn:
            insert_rows(conn, ([], rows[start : start + 100_000]))
    if engine.dialect.name == "postgresql":
        # What autovacuum does soon after a job's writes: statistics, and the visibility map that
        # lets PostgreSQL answer from the index alone.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("metric_points", "metric_blocks", "metric_series_counts"):
                conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
    return int(job_id)


def timed(call: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    total = args.trials * args.steps
    for kind in args.databases.split(","):
        with database(kind) as engine:
            start = time.perf_counter()
            single = fill(engine, 0, total)
            tuning = fill(engine, args.trials, args.steps)
            print(f"{kind}: 2 jobs of {total:,} metric points each stored in {time.perf_counter() - start:.1f} s")
            one = f"trial_{args.trials // 2:05d}"
            cases = [
                ("one series of a training job", single, None, 500, True),
                ("one trial", tuning, one, 500, True),
                (f"all {args.trials:,} trials", tuning, None, 30, True),
                (f"all {args.trials:,} trials (for information)", tuning, None, 500, False),
            ]
            for label, job_id, trial, points, target in cases:
                read = functools.partial(
                    metric_series, engine, job_id, key="loss", trial=trial, category=None, points=points
                )
                answer = read()
                assert all(len(s["points"]) <= points for s in answer)
                assert sum(s["count"] for s in answer) == (args.steps if trial else total)
                shown = sum(len(s["points"]) for s in answer)
                median, runs = timed(read, args.repeats)
                each = ", ".join(f"{run * 1000:.0f}" for run in runs)
                print(
                    f"{kind}: {label}, points={points} ({shown:,} points answered): "
                    f"{median * 1000:.0f} ms median of {args.repeats} ({each} ms)"
                    + ("; target < 300 ms" if target else "")
                )


if __name__ == "__main__":
    main()
