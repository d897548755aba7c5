"""Events and metric points have no foreign key to jobs (revision 0004: PostgreSQL checked it per
row, half the time of a batch); the job is checked once per batch, in the batch's transaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from trainaction.backend import LocalBackend
from trainaction.backend.storage import open_storage
from trainaction.errors import NotFoundError
from trainaction.events import Event

METRIC = Event("metric", {"category": "train", "key": "loss", "value": 0.5, "metrics": {"step": 1}}, 1.0)


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LocalBackend]:
    if request.param == "sqlite":
        backend = LocalBackend(tmp_path / "home")
    else:
        backend = open_storage(request.getfixturevalue("postgres_db"), tmp_path / "home")
    yield backend
    backend.engine.dispose()


def test_the_row_tables_have_no_key_to_jobs(storage: LocalBackend):
    inspector = sa.inspect(storage.engine)
    for table in ("events", "metric_points"):
        assert [key["referred_table"] for key in inspector.get_foreign_keys(table)] == []


def test_events_of_a_missing_or_deleted_job_are_refused_and_nothing_is_kept(storage: LocalBackend):
    job = storage.create_job("train", {}, "j", "j").id
    storage.add_events(job, [METRIC], batch_id="first")
    storage.update_job(job, status="FAILED")
    storage.delete_job(job)
    for missing in (job, job + 1):
        with pytest.raises(NotFoundError, match=f"job {missing} does not exist"):
            storage.add_events(missing, [METRIC], batch_id=f"late-{missing}")
    with storage.engine.connect() as conn:
        for table in ("events", "metric_points", "batches"):
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 0, table
