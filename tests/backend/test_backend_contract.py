"""The Backend contract. Every implementation runs this same suite (add new ones to BACKENDS).

A factory gets the test's tmp_path and request (to ask for fixtures: a PostgreSQL database) and is a
context manager, so that a live server lasts as long as the test. "http-sqlite" and "http-postgres"
are the HTTP backend talking to a live server (uvicorn in this process) over SQLite or PostgreSQL.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from trainaction.backend import Backend, LocalBackend
from trainaction.backend.storage import open_storage
from trainaction.errors import NotFoundError
from trainaction.events import Event


@contextlib.contextmanager
def _embedded(root: Path, request: pytest.FixtureRequest) -> Iterator[Backend]:
    yield LocalBackend(root / "home")


@contextlib.contextmanager
def _postgres_storage(root: Path, request: pytest.FixtureRequest) -> Iterator[LocalBackend]:
    storage = open_storage(request.getfixturevalue("postgres_db"), root / "home")
    try:
        yield storage
    finally:
        storage.engine.dispose()


@contextlib.contextmanager
def _over_http(storage: LocalBackend, root: Path) -> Iterator[Backend]:
    from servers import live_app
    from trainaction.backend.http import HttpBackend

    with live_app(storage) as (url, token), HttpBackend(url, token, cache_dir=root / "cache", retry_s=10) as client:
        yield client


@contextlib.contextmanager
def _http_sqlite(root: Path, request: pytest.FixtureRequest) -> Iterator[Backend]:
    with _over_http(LocalBackend(root / "server"), root) as client:
        yield client


@contextlib.contextmanager
def _http_postgres(root: Path, request: pytest.FixtureRequest) -> Iterator[Backend]:
    with _postgres_storage(root, request) as storage, _over_http(storage, root) as client:
        yield client


BACKENDS: dict[str, Callable[[Path, pytest.FixtureRequest], contextlib.AbstractContextManager[Backend]]] = {
    "embedded": _embedded,
    "embedded-postgres": _postgres_storage,
    "http-sqlite": _http_sqlite,
    "http-postgres": _http_postgres,
}


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with BACKENDS[request.param](tmp_path, request) as backend:
        yield backend


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "folder"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha")
    (root / "sub" / "b.bin").write_bytes(b"\x00\x01")
    return root


def _job(store: Backend) -> int:
    return store.create_job("train", {"name": "n", "dataset": 1}, "a%3Ab", "a:b").id


def test_datasets(store: Backend, folder: Path):
    record = store.add_dataset(folder, "numbers", {"rows": 3})
    assert (record.name, record.metadata) == ("numbers", {"rows": 3})
    # The server's records add each file's sha256 (checked by its downloads); the embedded one's list none.
    assert [(f["path"], f["size"]) for f in record.files] == [("a.txt", 5), ("sub/b.bin", 2)]
    assert all(
        f.get("sha256", hashlib.sha256(b"alpha").hexdigest()) == hashlib.sha256(b"alpha").hexdigest()
        for f in record.files[:1]
    )
    assert store.get_dataset(record.id) == record
    assert store.list_datasets() == [record]
    assert (store.dataset_path(record.id) / "sub" / "b.bin").read_bytes() == b"\x00\x01"
    with pytest.raises(NotFoundError, match=r"dataset 999 does not exist"):
        store.get_dataset(999)
    with pytest.raises(NotFoundError, match=r"does not exist or is not a folder"):
        store.add_dataset(folder / "missing", "x")


def test_job_lifecycle(store: Backend):
    job_id = _job(store)
    created = store.get_job(job_id)
    assert (created.status, created.name, created.display_name) == ("PENDING", "a%3Ab", "a:b")
    assert created.started_at is None and created.finished_at is None and created.progress_percent == 0
    running = store.update_job(job_id, status="RUNNING", progress={"dataset": {"percent": 100}}, progress_percent=20)
    assert running.status == "RUNNING" and running.started_at is not None and running.progress_percent == 20
    done = store.update_job(job_id, status="SUCCEEDED", result={"model_id": 3}, best_trial="t1")
    assert done.finished_at >= done.started_at and done.result == {"model_id": 3} and done.best_trial == "t1"
    assert done.progress == {"dataset": {"percent": 100}}  # untouched fields keep their values
    assert [j.id for j in store.list_jobs()] == [job_id]
    with pytest.raises(NotFoundError, match=r"job 77 does not exist"):
        store.update_job(77, status="FAILED")


def test_records_are_snapshots(store: Backend):
    job = store.get_job(_job(store))
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.status = "FAILED"  # type: ignore[misc]
    job.params["name"] = "changed"
    assert store.get_job(job.id).params["name"] == "n"


def test_logs_append_in_order(store: Backend):
    job_id = _job(store)
    assert store.read_log(job_id) == ""
    for line in ("one\n", "two\n", "", "three\n"):
        store.append_log(job_id, line)
    assert store.read_log(job_id) == "one\ntwo\nthree\n"


def test_events_keep_order_type_and_trial(store: Backend):
    job_id, other = _job(store), _job(store)
    now = time.time()
    events = [
        Event("metric", {"category": "training", "key": "loss", "value": 0.5, "metrics": {"epoch": 0}}, now),
        Event("progress", {"category": "train", "current": 1, "total": 2}, now + 1),
        Event(
            "metric", {"category": "training", "key": "loss", "value": 0.4, "metrics": {}, "trial_id": "t7"}, now + 2
        ),
    ]
    store.add_events(job_id, events)
    store.add_events(job_id, [])
    store.add_events(other, events[:1])
    assert store.list_events(job_id) == events
    assert store.list_events(job_id, "metric") == [events[0], events[2]]
    assert store.list_events(job_id, "metric")[1].trial_id == "t7"
    assert store.list_events(other) == events[:1]
    with pytest.raises(NotFoundError):
        store.list_events(12345)


def test_a_batch_delivered_twice_is_stored_once(store: Backend):
    job_id = _job(store)
    events = [Event("metric", {"category": "train", "key": "loss", "value": 0.5, "metrics": {"step": 1}}, 1.0)]
    store.add_events(job_id, events, batch_id="b1-events")
    store.add_events(job_id, events, batch_id="b1-events")  # the answer was lost: sent again
    store.add_events(job_id, events, batch_id="b2-events")
    store.append_log(job_id, "once\n", batch_id="b1-log")
    store.append_log(job_id, "once\n", batch_id="b1-log")
    assert len(store.list_events(job_id)) == 2
    assert store.read_log(job_id) == "once\n"


def test_a_large_batch_is_stored_whole_and_once(store: Backend):
    """Tens of thousands of events in one batch (PostgreSQL stores them by COPY), metric points with them."""
    job_id = _job(store)
    batch = [
        Event("metric", {"key": "loss", "value": i / 7, "category": "train", "metrics": {"step": i}}, 100.0 + i)
        if i % 3
        else Event("message", {"message": f"line {i} \t 'quoted' \\ \"json\"", "level": "info"}, 100.0 + i)
        for i in range(12000)
    ]
    store.add_events(job_id, batch, batch_id="large-1")
    store.add_events(job_id, batch, batch_id="large-1")
    stored = store.list_events(job_id)
    assert [(e.type, e.data, e.time) for e in stored] == [(e.type, e.data, e.time) for e in batch]


def test_a_nul_in_log_text_is_stored_as_a_replacement_character(store: Backend):
    job_id = _job(store)
    store.append_log(job_id, "binary \x00 output\n")
    assert store.read_log(job_id) == "binary \ufffd output\n"


def test_files(store: Backend):
    job_id = _job(store)
    key = store.put_file(job_id, "visualizations/cm/validation/3.png", b"\x89PNG...")
    assert store.read_file(key) == b"\x89PNG..."
    with pytest.raises(NotFoundError):
        store.read_file("../../etc/passwd")


def test_models_from_a_folder_and_a_file(store: Backend, folder: Path):
    job_id = _job(store)
    model = store.add_model("a%3Ab", folder, job_id=job_id, trial_id="t1", config={"lr": 0.1}, metrics={"acc": 0.9})
    assert (model.name, model.job_id, model.trial_id, model.config, model.metrics) == (
        "a%3Ab",
        job_id,
        "t1",
        {"lr": 0.1},
        {"acc": 0.9},
    )
    assert [f["path"] for f in model.files] == ["a.txt", "sub/b.bin"] and model.size == 7
    assert model.files[0]["sha256"] == hashlib.sha256(b"alpha").hexdigest()
    assert (store.model_path(model.id) / "sub" / "b.bin").read_bytes() == b"\x00\x01"

    same = store.add_model("copy", folder)
    assert same.sha256 == model.sha256 and same.id != model.id
    single = store.add_model("single", folder / "a.txt")
    assert [f["path"] for f in single.files] == ["a.txt"] and single.sha256 != model.sha256
    assert [m.id for m in store.list_models(job_id=job_id)] == [model.id]
    assert [m.id for m in store.list_models()] == [model.id, same.id, single.id]
    with pytest.raises(NotFoundError, match=r"model 404 does not exist"):
        store.get_model(404)
    with pytest.raises(NotFoundError, match=r"do not exist"):
        store.add_model("gone", folder / "gone")


def test_embedded_backend_second_handle_sees_committed_writes(backend: LocalBackend):
    job_id = _job(backend)
    backend.add_events(job_id, [Event("message", {"text": "hi", "level": "info"}, 1.0)])
    assert LocalBackend(backend.home).list_events(job_id)[0].data["text"] == "hi"


def test_a_submitted_job_is_queued_with_its_plugin_and_claimed_once(store: Backend) -> None:
    job = store.submit_job("train", {"name": "q"}, "q", "q", plugin=b"PK-zip", executor="server")
    assert job.status == "QUEUED" and store.get_job(job.id).status == "QUEUED"
    assert [j.id for j in store.list_jobs(status="QUEUED")] == [job.id]
    submission = store.get_submission(job.id)
    assert (submission.executor, submission.stop_requested, submission.worker) == ("server", False, None)
    assert store.read_file(submission.plugin_key) == b"PK-zip"
    claimed = store.claim_submission("worker-1")
    assert claimed is not None and (claimed.job_id, claimed.worker) == (job.id, "worker-1")
    assert store.get_job(job.id).status == "PENDING"
    assert store.claim_submission("worker-2") is None
    store.update_submission(job.id, ray_job_id="raysubmit_1")
    assert store.get_submission(job.id).ray_job_id == "raysubmit_1"
    # A job for a Ray cluster is never claimed by the server's workers.
    ray_job = store.submit_job(
        "train", {"name": "r"}, "r", "r", plugin=b"z", executor="ray", ray_address="http://127.0.0.1:8265"
    )
    assert store.claim_submission("worker-1") is None
    assert store.get_submission(ray_job.id).ray_address == "http://127.0.0.1:8265"


def test_stop_of_a_queued_job_is_at_once_and_of_a_claimed_one_a_request(store: Backend) -> None:
    first = store.submit_job("train", {"name": "a"}, "a", "a", plugin=b"z", executor="server")
    second = store.submit_job("train", {"name": "b"}, "b", "b", plugin=b"z", executor="server")
    assert store.claim_submission("w") is not None  # the older one: `first`
    stopped = store.request_stop(second.id)
    assert stopped.status == "STOPPED" and stopped.finished_at is not None
    assert store.claim_submission("w") is None  # a stopped job is never claimed
    flagged = store.request_stop(first.id)
    assert flagged.status == "PENDING" and store.get_submission(first.id).stop_requested
    with pytest.raises(NotFoundError, match="was not submitted"):
        store.get_submission(store.create_job("train", {}, "c", "c").id)
    with pytest.raises(NotFoundError, match="does not exist"):
        store.get_submission(9999)
