"""Benchmark: the downsampled chart read of a job with 1,000,000 metric points.

A tuning job's 1,000 trials x 1,000 steps of one key (``training/loss``), stored in ``metric_points``
as the backend stores them, then ``metric_series`` (what ``GET /api/v1/jobs/{id}/metrics`` answers)
for every trial and for one trial at ``points=500``, on SQLite and on a throwaway PostgreSQL
(``tests/postgres.py``: the machine's initdb/pg_ctl). Target: < 300 ms.

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
    """One job with ``trials`` x ``steps`` points of a noisy falling loss; returns the job id."""
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
    # Trials report interleaved, as a search's trials do: rows of one series are not adjacent.
    rows = (
        (job_id, f"trial_{trial:05d}", "training", "loss", float(step), None, 1 / (step + 1) + rng.random() / 10, 0.0)
        for step in range(steps)
        for trial in range(trials)
    )
    columns = "job_id, trial_id, category, key, step, epoch, value, time"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY metric_points ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO metric_points ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        raw.commit()
    finally:
        raw.close()
    if engine.dialect.name == "postgresql":
        # What autovacuum does soon after a job's writes: statistics, and the visibility map that
        # lets PostgreSQL answer from the index alone.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE metric_points")
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
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    total = args.trials * args.steps
    for kind in args.databases.split(","):
        with database(kind) as engine:
            start = time.perf_counter()
            job_id = fill(engine, args.trials, args.steps)
            print(f"{kind}: {total:,} metric points stored in {time.perf_counter() - start:.1f} s")
            answer = metric_series(engine, job_id, key="loss", trial=None, category=None, points=args.points)
            shown = sum(len(s["points"]) for s in answer)
            assert len(answer) == args.trials and all(s["count"] == args.steps for s in answer)
            for label, trial in (("all trials", None), ("one trial", f"trial_{args.trials // 2:05d}")):
                read = functools.partial(
                    metric_series, engine, job_id, key="loss", trial=trial, category=None, points=args.points
                )
                median, runs = timed(read, args.repeats)
                each = ", ".join(f"{run * 1000:.0f}" for run in runs)
                points = shown if trial is None else min(args.points, args.steps)
                print(
                    f"{kind}: {label}, points={args.points} ({points:,} points returned): "
                    f"{median * 1000:.0f} ms median of {args.repeats} ({each} ms); target < 300 ms"
                )


if __name__ == "__main__":
    main()
