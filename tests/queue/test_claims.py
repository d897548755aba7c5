"""Claiming queued jobs is atomic: threads hammering claim_submission never get one job twice, on
SQLite (each thread its own engine, as separate processes have) and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from trainaction.backend import LocalBackend
from trainaction.backend.storage import open_storage

_JOBS = 30
_THREADS = 6


def _hammer(open_backend: Callable[[], LocalBackend]) -> None:
    first = open_backend()
    submitted = [
        first.submit_job("train", {"n": n}, f"j{n}", f"j{n}", plugin=b"zip", executor="server").id for n in range(_JOBS)
    ]
    claimed: dict[str, list[int]] = {}
    start = threading.Barrier(_THREADS)

    def worker(name: str) -> None:
        backend = open_backend()
        mine = claimed.setdefault(name, [])
        start.wait()
        while (submission := backend.claim_submission(name)) is not None:
            mine.append(submission.job_id)

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    every = [job_id for ids in claimed.values() for job_id in ids]
    assert sorted(every) == submitted  # each job exactly once
    for name, ids in claimed.items():
        assert all(first.get_submission(job_id).worker == name for job_id in ids)
    assert {job.status for job in first.list_jobs()} == {"PENDING"}


def test_concurrent_claims_on_sqlite_never_share_a_job(tmp_path: Path) -> None:
    LocalBackend(tmp_path / "home")  # made once, before the threads open it
    _hammer(lambda: LocalBackend(tmp_path / "home"))


@pytest.mark.slow
def test_concurrent_claims_on_postgres_never_share_a_job(tmp_path: Path, postgres_db: str) -> None:
    backends: list[LocalBackend] = []

    def opened() -> LocalBackend:
        backends.append(open_storage(postgres_db, tmp_path / "artifacts"))
        return backends[-1]

    try:
        _hammer(opened)
    finally:
        for backend in backends:
            backend.engine.dispose()
