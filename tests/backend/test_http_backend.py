"""The HTTP backend against a live server: ids that make retries safe, the download cache, errors, tokens,
and the CLI reading from the server exactly as it reads the embedded home."""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from trainaction.backend import LocalBackend, open_backend
from trainaction.backend.http import HttpBackend
from trainaction.errors import InUseError, NotFoundError, StoreError
from trainaction.events import Event
from trainaction.server.auth import TokenStore


class _LoseAnswers(httpx.BaseTransport):
    """Sends each request to the real server, then loses the answer of the first ``count`` matching ones,
    as a connection dropped after the server did the work would."""

    def __init__(self, method: str, path: str, count: int = 1) -> None:
        self._real = httpx.HTTPTransport()
        self._method, self._path, self.left = method, path, count

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._real.handle_request(request)
        if self.left and request.method == self._method and request.url.path.endswith(self._path):
            response.read()
            response.close()
            self.left -= 1
            raise httpx.ReadError("connection reset while reading the answer", request=request)
        return response

    def close(self) -> None:
        self._real.close()


@pytest.fixture
def client(live_server: Any, tmp_path: Path) -> Iterator[HttpBackend]:
    backend = HttpBackend(live_server.url, live_server.admin_token, cache_dir=tmp_path / "cache", retry_s=10)
    yield backend
    backend.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha" * 1000)
    (root / "sub" / "b.bin").write_bytes(bytes(range(256)) * 64)
    return root


def test_a_create_whose_answer_was_lost_makes_one_job(live_server: Any, tmp_path: Path):
    lossy = _LoseAnswers("POST", "/api/v1/jobs", count=2)
    with HttpBackend(
        live_server.url, live_server.admin_token, cache_dir=tmp_path / "c", retry_s=10, transport=lossy
    ) as backend:
        job = backend.create_job("train", {"name": "n"}, "n", "n")
    assert lossy.left == 0  # two answers were lost and the request sent three times
    assert [j.id for j in live_server.storage.list_jobs()] == [job.id]


def test_batches_whose_answers_were_lost_are_stored_once(live_server: Any, tmp_path: Path):
    job_id = live_server.storage.create_job("train", {"name": "n"}, "n", "n").id
    for path in ("/events", "/log"):
        lossy = _LoseAnswers("POST", f"/api/v1/jobs/{job_id}{path}")
        with HttpBackend(
            live_server.url, live_server.admin_token, cache_dir=tmp_path / "c", retry_s=10, transport=lossy
        ) as backend:
            # Without an id from the caller the backend makes one, so a retry is still stored once.
            backend.add_events(job_id, [Event("message", {"text": "hi", "level": "info"}, 1.0)])
            backend.append_log(job_id, "once\n")
        assert lossy.left == 0
    assert len(live_server.storage.list_events(job_id)) == 2  # one per client, not one per send
    assert live_server.storage.read_log(job_id) == "once\nonce\n"


def test_a_damaged_or_partial_download_is_not_used(client: HttpBackend, folder: Path, tmp_path: Path):
    dataset = client.add_dataset(folder, "numbers")
    path = client.dataset_path(dataset.id)
    assert path.is_relative_to(tmp_path / "cache" / "datasets")
    assert (path / "a.txt").read_text() == "alpha" * 1000
    (path / "a.txt").write_text("alpha" * 999 + "omega")  # same size, other bytes
    (path / "sub" / "b.bin").unlink()
    again = client.dataset_path(dataset.id)
    assert (again / "a.txt").read_text() == "alpha" * 1000
    assert (again / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 64

    model = client.add_model("m", folder)
    stored = client.model_path(model.id)
    (stored / "sub" / "b.bin").write_bytes(b"half")  # a download cut short
    (stored / "extra.txt").write_text("not the model's")
    fresh = client.model_path(model.id)
    assert hashlib.sha256((fresh / "sub" / "b.bin").read_bytes()).hexdigest() == model.files[1]["sha256"]
    assert sorted(p.name for p in fresh.rglob("*") if p.is_file()) == ["a.txt", "b.bin"]
    assert not [p for p in fresh.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_a_file_damaged_on_the_way_is_refused(live_server: Any, client: HttpBackend, folder: Path):
    model = client.add_model("m", folder)
    stored = live_server.storage.model_path(model.id)
    (stored / "a.txt").write_text("alpha" * 999 + "omega")  # the server's copy changed behind its back
    with pytest.raises((StoreError, NotFoundError), match=r"a\.txt"):
        client.model_path(model.id)
    assert not (client.cache_dir / "models" / str(model.id)).exists()  # nothing half-made was placed


def test_errors_map_to_the_embedded_backends(live_server: Any, client: HttpBackend, folder: Path):
    with pytest.raises(NotFoundError, match=r"job 999 does not exist"):
        client.get_job(999)
    with pytest.raises(NotFoundError, match=r"model 404 does not exist"):
        client.model_path(404)
    job_id = client.create_job("train", {"name": "n", "dataset": 1}, "n", "n").id
    client.update_job(job_id, status="RUNNING")
    client.heartbeat(job_id)
    with pytest.raises(InUseError, match=rf"job {job_id} is not deleted: it is RUNNING"):
        client.delete_job(job_id)
    with pytest.raises(NotFoundError, match=r"dataset folder '.*missing' does not exist"):
        client.add_dataset(folder / "missing", "x")


def test_a_missing_wrong_or_weak_token_is_a_clear_error(
    live_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    with (
        HttpBackend(live_server.url, "ta_wrong", cache_dir=tmp_path / "c", retry_s=1) as wrong,
        pytest.raises(StoreError, match=r"refused the token .*TRAINACTION_TOKEN"),
    ):
        wrong.list_jobs()
    _, secret = TokenStore(live_server.storage.engine).create("dashboard", "read")
    with HttpBackend(live_server.url, secret, cache_dir=tmp_path / "c", retry_s=1) as reader:
        assert reader.list_jobs() == []
        with pytest.raises(StoreError, match=r"write token; yours is read.*role"):
            reader.create_job("train", {"name": "n"}, "n", "n")
    monkeypatch.setenv("TRAINACTION_BACKEND", live_server.url)
    monkeypatch.delenv("TRAINACTION_TOKEN", raising=False)
    with pytest.raises(StoreError, match=r"no token is given; set TRAINACTION_TOKEN"):
        open_backend()
    monkeypatch.setenv("TRAINACTION_TOKEN", secret)
    selected = open_backend()
    assert isinstance(selected, HttpBackend) and selected.url == live_server.url
    selected.close()


def test_a_server_that_does_not_answer_is_named_after_the_retry_window(tmp_path: Path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening: connections are refused
        with (
            HttpBackend(url, "ta_x", cache_dir=tmp_path / "c", retry_s=0.5) as backend,
            pytest.raises(StoreError, match=rf"the server at {url} did not answer for \d+ s: ConnectError"),
        ):
            backend.get_job(1)


def test_a_server_never_reached_is_reported_in_seconds_not_after_the_whole_window(tmp_path: Path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening: connections are refused
        started = time.monotonic()
        with (
            HttpBackend(url, "ta_x", cache_dir=tmp_path / "c", retry_s=120) as backend,
            pytest.raises(StoreError, match=rf"the server at {url} did not answer"),
        ):
            backend.list_jobs()
        # The 120 s window is for a server that restarts under a running job; a wrong URL is said at once.
        assert time.monotonic() - started < 60


def test_events_and_logs_page_through_the_server(live_server: Any, client: HttpBackend):
    storage: LocalBackend = live_server.storage
    job_id = storage.create_job("train", {"name": "n"}, "n", "n").id
    events = [Event("metric", {"key": "loss", "value": i, "metrics": {"step": i}}, 1000.0 + i) for i in range(12_345)]
    storage.add_events(job_id, events)
    for n in range(1500):
        storage.append_log(job_id, f"line {n}\n")
    read = list(client.iter_events(job_id))
    assert [e.data["value"] for e in read] == list(range(12_345)) and read[0].time == 1000.0
    assert [e.data["value"] for e in client.iter_events(job_id, "metric", after=read[99].id, limit=6000)] == list(
        range(100, 6100)
    )
    assert client.read_log(job_id) == "".join(f"line {n}\n" for n in range(1500))
    chunks = list(client.log_since(job_id, after=list(client.log_since(job_id))[1199][0]))
    assert [text for _, text in chunks] == [f"line {n}\n" for n in range(1200, 1500)]


def _records(storage: LocalBackend, folder: Path) -> int:
    """A finished tuning job with metrics, a trials table and a model, stored as a run would store it."""
    job_id = storage.create_job("train", {"name": "t", "is_tune": True}, "t", "t").id
    storage.update_job(job_id, status="RUNNING", progress={"trials": {"current": 2, "total": 2}}, progress_percent=80)
    metrics = [
        Event(
            "metric",
            {"category": "training", "key": "loss", "value": 1.0 / (s + 1), "metrics": {"step": s}, "trial_id": t},
            1_700_000_000.0 + s,
        )
        for t in ("t1", "t2")
        for s in range(5)
    ]
    table = {"columns": ["trial_id", "status", "loss"], "rows": [["t1", "TERMINATED", 0.2], ["t2", "TERMINATED", 0.3]]}
    storage.add_events(job_id, [*metrics, Event("trials", {"table": table, **table}, 1_700_000_010.0)])
    model = storage.add_model("t", folder, job_id=job_id, trial_id="t1", metrics={"loss": 0.2})
    storage.append_log(job_id, "[trainaction] job started\ntrial t1: loss 0.2\n")
    storage.update_job(job_id, status="SUCCEEDED", best_trial="t1", result={"model_id": model.id})
    return job_id


@pytest.mark.slow
def test_cli_reads_from_the_server_as_from_the_home(live_server: Any, cli: Any, folder: Path):
    job_id = _records(live_server.storage, folder)
    server = ("--backend", live_server.url, "--token", live_server.admin_token)
    for command in (
        ("jobs", "list", "--json"),
        ("jobs", "show", str(job_id), "--json"),
        ("models", "list", "--json"),
        ("metrics", str(job_id), "--format", "json"),
        ("metrics", str(job_id), "--format", "csv", "--trial", "t2"),
        ("jobs", "logs", str(job_id)),
        ("jobs", "events", str(job_id), "--json"),
    ):
        local, remote = cli(*command), cli(*command, *server)
        assert (remote.returncode, remote.stdout) == (local.returncode, local.stdout), command
        assert local.returncode == 0 and local.stdout.strip(), (command, local.stderr)
    trials = cli("trials", str(job_id), "--json")
    assert cli("trials", str(job_id), "--json", *server).stdout == trials.stdout
    missing = cli("jobs", "show", "999", *server)
    assert missing.returncode == 2 and "job 999 does not exist" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.slow
def test_cli_without_a_token_exits_2(live_server: Any, cli: Any):
    done = cli("jobs", "list", "--backend", live_server.url)
    assert done.returncode == 2 and "TRAINACTION_TOKEN" in done.stderr and "Traceback" not in done.stderr
    done = cli("jobs", "list", "--backend", live_server.url, "--token", "ta_nope")
    assert done.returncode == 2 and "refused the token" in done.stderr


def test_the_cache_copy_of_a_removed_download_is_replaced(client: HttpBackend, folder: Path):
    dataset = client.add_dataset(folder, "")
    assert dataset.name == "data"
    path = client.dataset_path(dataset.id)
    shutil.rmtree(path)
    path.mkdir()  # an empty folder left where the download was
    assert (client.dataset_path(dataset.id) / "a.txt").exists()
