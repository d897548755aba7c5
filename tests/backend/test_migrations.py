"""Schema revisions: an older database upgrades on open with its rows intact; new ones are made by the
revisions and match store.py; several processes opening one new database at once all succeed."""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from trainaction.backend import LocalBackend, migrate, store
from trainaction.backend.migrations.versions import r0001_first_release
from trainaction.backend.series import metric_series
from trainaction.backend.storage import open_storage
from trainaction.errors import StoreError
from trainaction.events import Event

_RUNNER_COLUMNS = {"runner_host", "runner_pid", "runner_start", "heartbeat_at"}


def _engine(kind: str, home: Path, request: pytest.FixtureRequest) -> sa.Engine:
    if kind == "sqlite":
        home.mkdir(parents=True, exist_ok=True)
        return sa.create_engine(f"sqlite:///{home / 'trainaction.db'}")
    return sa.create_engine(request.getfixturevalue("postgres_db"))


def _open(kind: str, home: Path, engine: sa.Engine) -> LocalBackend:
    engine.dispose()
    if kind == "sqlite":
        return LocalBackend(home)
    backend = open_storage(engine.url.render_as_string(hide_password=False), home)
    return backend


def _fill_first_release(engine: sa.Engine, *, runner_columns: bool = True) -> None:
    """Rows as the first release stored them: a job, its metric events and a log line, a model."""
    metadata = sa.MetaData()
    tables = {t.name: t for t in r0001_first_release.tables(metadata)}
    job = {
        "action": "train",
        "params": {"name": "old", "dataset": 1},
        "name": "old",
        "display_name": "old",
        "status": "SUCCEEDED",
        "progress": {},
        "progress_percent": 100.0,
        "result": {"model_id": 1},
        "created_at": 1.0,
    }
    if runner_columns:
        job["runner_host"] = "h"
    metric = {"category": "train", "key": "loss", "value": 0.5, "metrics": {"step": 3, "epoch": 1}}
    with engine.begin() as conn:
        conn.execute(tables["jobs"].insert().values(**job))
        conn.execute(
            tables["events"].insert(),
            [
                {"job_id": 1, "type": "metric", "trial_id": None, "data": metric, "time": 2.0},
                {"job_id": 1, "type": "metric", "trial_id": "t1", "data": {**metric, "value": 0.25}, "time": 3.0},
                {"job_id": 1, "type": "message", "trial_id": None, "data": {"message": "hi"}, "time": 4.0},
                {"job_id": 1, "type": "metric", "trial_id": None, "data": {"key": "acc", "value": "n/a"}, "time": 5.0},
            ],
        )
        conn.execute(tables["job_logs"].insert().values(job_id=1, text="line\n"))
        conn.execute(
            tables["models"]
            .insert()
            .values(name="m", job_id=1, config={}, metrics={}, files=[], size=0, sha256="0" * 64, created_at=6.0)
        )


def _create_all_before_revisions(engine: sa.Engine, *, runner_columns: bool) -> None:
    """The first release's tables as ``create_all`` made them before there were revisions (no
    ``alembic_version``); the oldest databases also lack the runner columns, added later."""
    metadata = sa.MetaData()
    r0001_first_release.tables(metadata)
    metadata.create_all(engine)
    if not runner_columns:
        with engine.begin() as conn:
            for name in sorted(_RUNNER_COLUMNS):
                conn.exec_driver_sql(f"ALTER TABLE jobs DROP COLUMN {name}")


def _points(backend: LocalBackend) -> list[tuple[Any, ...]]:
    """(job, trial, category, key, index in the series, step, epoch, value), series by series."""
    with backend.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT s.job_id, s.trial_id, s.category, s.key, p.point_index, p.step, p.epoch, p.value "
            "FROM metric_points p JOIN metric_series_counts s ON s.id = p.series_id "
            "ORDER BY p.series_id, p.point_index"
        )
        return [tuple(row) for row in rows]


def _blocks(backend: LocalBackend) -> list[tuple[Any, ...]]:
    """Each series' counts and its min/max blocks, as storing the points keeps them (charts read these)."""
    with backend.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT c.trial_id, c.category, c.key, c.count, c.with_step, c.with_value, b.block, b.count, "
            "b.max_value, b.max_index FROM metric_series_counts c JOIN metric_blocks b ON b.series_id = c.id "
            "ORDER BY c.trial_id IS NOT NULL, c.trial_id, c.category, c.key, b.block"
        )
        return [tuple(row) for row in rows]


def _schema_differences(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), store.metadata))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_first_release_database_upgrades_with_rows_intact_and_points_backfilled(kind, tmp_path, request):
    home = tmp_path / "home"
    engine = _engine(kind, home, request)
    migrate.upgrade(engine, "0001")
    _fill_first_release(engine)
    assert migrate.current_revision(engine) == "0001"

    backend = _open(kind, home, engine)

    assert migrate.current_revision(backend.engine) == migrate.HEAD
    [job] = backend.list_jobs()
    assert (job.id, job.name, job.status, job.result, job.runner_host) == (1, "old", "SUCCEEDED", {"model_id": 1}, "h")
    assert [e.type for e in backend.list_events(1)] == ["metric", "metric", "message", "metric"]
    assert backend.read_log(1) == "line\n"
    assert [(m.id, m.name, m.job_id) for m in backend.list_models()] == [(1, "m", 1)]
    assert _points(backend) == [
        (1, None, "train", "loss", 0, 3.0, 1.0, 0.5),
        (1, "t1", "train", "loss", 0, 3.0, 1.0, 0.25),
        (1, None, "", "acc", 0, None, None, None),  # a value that is no number is kept as a gap
    ]
    assert _blocks(backend) == [
        (None, "", "acc", 1, 0, 0, 0, 1, None, None),
        (None, "train", "loss", 1, 1, 1, 0, 1, 0.5, 0),
        ("t1", "train", "loss", 1, 1, 1, 0, 1, 0.25, 0),
    ]
    assert _schema_differences(backend.engine) == []
    # New ids follow the old ones (SQLite's AUTOINCREMENT, PostgreSQL's sequences survived).
    assert backend.create_job("train", {}, "new", "new").id == 2
    backend.engine.dispose()


@pytest.mark.parametrize("runner_columns", [True, False], ids=["with-runner-columns", "without-runner-columns"])
def test_a_database_from_before_migrations_is_stamped_and_upgraded(runner_columns, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    engine = sa.create_engine(f"sqlite:///{home / 'trainaction.db'}")
    _create_all_before_revisions(engine, runner_columns=runner_columns)
    _fill_first_release(engine, runner_columns=runner_columns)
    engine.dispose()

    backend = LocalBackend(home)

    assert migrate.current_revision(backend.engine) == migrate.HEAD
    assert _schema_differences(backend.engine) == []
    assert backend.get_job(1).runner_host == ("h" if runner_columns else None)
    assert len(_points(backend)) == 3
    assert len(_blocks(backend)) == 3
    backend.heartbeat(1)  # writes the runner columns
    assert LocalBackend(home).get_job(1).name == "old"  # opening it again changes nothing


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_new_database_is_made_by_the_revisions_and_matches_the_schema(kind, tmp_path, request):
    home = tmp_path / "home"
    engine = _engine(kind, home, request)
    backend = _open(kind, home, engine)
    assert migrate.current_revision(backend.engine) == migrate.HEAD
    assert _schema_differences(backend.engine) == []
    backend.engine.dispose()


def test_a_database_from_a_newer_trainaction_is_refused(tmp_path):
    home = tmp_path / "home"
    LocalBackend(home).engine.dispose()
    with sqlite3.connect(home / "trainaction.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    connection.close()
    with pytest.raises(StoreError, match=r"at schema revision 0099, made by a newer trainaction .*upgrade trainaction"):
        LocalBackend(home)


@pytest.mark.slow
def test_processes_opening_one_new_home_at_once_all_succeed(tmp_path):
    for round_ in range(3):
        home = tmp_path / f"home{round_}"
        code = (
            "import sys; from trainaction.backend import LocalBackend; "
            "print(LocalBackend(sys.argv[1]).create_job('train', {}, 'n', 'n').id)"
        )
        started = [
            subprocess.Popen([sys.executable, "-c", code, str(home)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(4)
        ]
        outputs = [process.communicate(timeout=120) for process in started]
        assert [p.returncode for p in started] == [0] * 4, [err.decode() for _, err in outputs]
        assert sorted(int(out) for out, _ in outputs) == [1, 2, 3, 4]
        assert migrate.current_revision(LocalBackend(home).engine) == migrate.HEAD


def test_threads_upgrading_one_new_postgresql_database_at_once_all_succeed(postgres_db, tmp_path):
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def upgrade(n: int) -> None:
        engine = sa.create_engine(postgres_db)
        try:
            barrier.wait(timeout=30)
            migrate.upgrade(engine)
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=upgrade, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    backend = open_storage(postgres_db, tmp_path / "home")
    assert migrate.current_revision(backend.engine) == migrate.HEAD
    assert _schema_differences(backend.engine) == []
    backend.engine.dispose()


def _read_only(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A command on ``home`` bind-mounted read-only (tests run as root, whom file modes do not stop)."""
    folder = shlex.quote(str(home))
    mount = f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}"
    command = shlex.join([sys.executable, "-m", "trainaction", *args])
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"{mount} && touch {folder}/probe; {command}"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TRAINACTION_HOME": str(home)},
    )


def _first_release_home(home: Path, *, revision: bool, runner_columns: bool) -> None:
    home.mkdir()
    engine = sa.create_engine(f"sqlite:///{home / 'trainaction.db'}")
    if revision:
        migrate.upgrade(engine, "0001")
    else:
        _create_all_before_revisions(engine, runner_columns=runner_columns)
    _fill_first_release(engine, runner_columns=runner_columns)
    engine.dispose()


@pytest.mark.slow
def test_a_read_only_home_at_an_older_revision_is_read_as_it_is(tmp_path):
    home = tmp_path / "home"
    _first_release_home(home, revision=True, runner_columns=True)
    before = (home / "trainaction.db").read_bytes()

    listed = _read_only(home, "jobs", "list", "--json")

    assert listed.returncode == 0, listed.stderr
    assert "Read-only file system" in listed.stderr  # the probe: the folder really was read-only
    assert [j["name"] for j in json.loads(listed.stdout)] == ["old"]
    assert (home / "trainaction.db").read_bytes() == before  # not migrated


@pytest.mark.slow
def test_a_read_only_home_that_needs_an_upgrade_to_be_read_says_how(tmp_path):
    home = tmp_path / "home"
    _first_release_home(home, revision=False, runner_columns=False)

    listed = _read_only(home, "jobs", "list", "--json")

    assert listed.returncode == 2 and "Traceback" not in listed.stderr, listed.stderr
    assert "was made by an older trainaction (from before schema revisions) and lacks jobs.runner_host" in listed.stderr
    assert "open it once with a writable home" in listed.stderr


def _series_lists(points: Any) -> dict[tuple[Any, ...], list[tuple[Any, ...]]]:
    """(job, trial, category, key, step, epoch, value) rows as each series' numbers, in order."""
    series: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for point in points:
        series.setdefault(tuple(point[:4]), []).append(tuple(point[4:]))
    return series


def _store_points_as_0004(engine: sa.Engine, job_id: int, points: list[tuple[Any, ...]]) -> None:
    """Points as revision 0004's code stored them: a row each with its series' columns, counted into
    the series and blocks by the same counting the events route does."""
    from trainaction.backend.blocks import add_blocks

    with engine.begin() as conn:
        rows = [(job_id, *point, 7.0) for point in points]
        mark = "?" if engine.dialect.name == "sqlite" else "%s"
        conn.exec_driver_sql(
            "INSERT INTO metric_points (job_id, trial_id, category, key, step, epoch, value, time) "
            f"VALUES ({', '.join([mark] * 8)})",
            rows,
        )
        add_blocks(conn, [row[:7] for row in rows])


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_points_stored_by_revision_0004_move_to_their_series_in_the_order_stored(kind, tmp_path, request):
    home = tmp_path / "home"
    engine = _engine(kind, home, request)
    migrate.upgrade(engine, "0004")
    with engine.begin() as conn:
        for name in ("tune", "train"):
            conn.exec_driver_sql(
                "INSERT INTO jobs (action, params, name, display_name, status, progress, progress_percent, "
                f"created_at) VALUES ('train', '{{}}', '{name}', '{name}', 'SUCCEEDED', '{{}}', 100, 1)"
            )
    # Trials report interleaved; one series has a gap (no value) and no step on one point.
    tuning = [
        (trial, "training", "loss", float(step), None, 1.0 / (step + 1) + (0.5 if trial == "b" else 0))
        for step in range(70)
        for trial in ("a", "b")
    ] + [("a", "validation", "acc", None, 1.0, None), ("a", "validation", "acc", 2.0, 2.0, 0.75)]
    training = [(None, "training", "loss", float(step), None, 10.0 - step) for step in range(5)]
    _store_points_as_0004(engine, 1, tuning[:100])
    _store_points_as_0004(engine, 2, training)
    _store_points_as_0004(engine, 1, tuning[100:])

    backend = _open(kind, home, engine)

    assert migrate.current_revision(backend.engine) == migrate.HEAD
    assert _schema_differences(backend.engine) == []
    stored = _series_lists([(1, *point) for point in tuning] + [(2, *point) for point in training])
    expected = [(*series, i, *numbers) for series, points in stored.items() for i, numbers in enumerate(points)]
    assert sorted(_points(backend), key=repr) == sorted(expected, key=repr)
    # A chart reads the moved points: x by step, or by epoch where a step is missing; gaps skipped.
    chart = metric_series(backend.engine, 1, key=None, trial="a", category=None, points=1000)
    assert [(s["key"], s["x"], s["count"]) for s in chart] == [("loss", "step", 70), ("acc", "epoch", 2)]
    assert chart[0]["points"] == [[step, 1.0 / (step + 1)] for step in range(70)]
    assert chart[1]["points"] == [[2, 0.75]]
    # New points continue their series' indexes.
    backend.add_events(2, [Event("metric", {"category": "training", "key": "loss", "value": 1.0}, 9.0)])
    assert [p for p in _points(backend) if p[0] == 2][-2:] == [
        (2, None, "training", "loss", 4, 4.0, None, 6.0),
        (2, None, "training", "loss", 5, None, None, 1.0),
    ]
    # And back: revision 0004's table, every point with its series' columns, in each series' order.
    from alembic import command

    with backend.engine.begin() as conn:
        command.downgrade(migrate._config(conn), "0004")
        old = conn.exec_driver_sql(
            "SELECT job_id, trial_id, category, key, step, epoch, value FROM metric_points ORDER BY id"
        ).all()
    moved = expected + [(2, None, "training", "loss", 5, None, None, 1.0)]
    assert _series_lists(old) == _series_lists([point[:4] + point[5:] for point in moved])
    backend.engine.dispose()
