"""`trainaction ui`: the dashboard over the home's jobs, on loopback, read-only, without a token."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from trainaction.backend import LocalBackend
from trainaction.cli.ui import is_loopback

pytestmark = pytest.mark.slow  # starts the command in a subprocess


@pytest.fixture
def ui_process(home: Path) -> Iterator[tuple[str, LocalBackend]]:
    backend = LocalBackend(home)
    job = backend.create_job("train", {"name": "local job", "is_tune": False}, "local%20job", "local job")
    backend.update_job(job.id, status="SUCCEEDED", progress_percent=100)
    backend.append_log(job.id, "hello from the home\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "trainaction", "ui", "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("dashboard: http://127.0.0.1:"), (line, process.stderr.read() if process.stderr else "")
        url = line.split(" ", 1)[1].strip().rstrip("/")
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/api/v1/whoami", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "`trainaction ui` did not answer in 60 s"
                time.sleep(0.1)
        yield url, backend
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_ui_serves_the_homes_jobs_and_refuses_writes(ui_process: Any):
    url, backend = ui_process
    with httpx.Client(base_url=url, follow_redirects=False) as client:
        assert client.get("/api/v1/whoami").json() == {"name": "local", "role": "read"}
        shell = client.get("/")
        assert shell.status_code == 200 and "/static/app.js" in shell.text  # no login page: no token needed
        jobs = client.get("/api/v1/jobs").json()
        assert [job["display_name"] for job in jobs["jobs"]] == ["local job"] and jobs["total"] == 1
        assert client.get("/api/v1/jobs/1/log").text == "hello from the home\n"
        job = {"action": "train", "params": {"name": "n"}, "name": "n", "display_name": "n"}
        refused = client.post("/api/v1/jobs", json=job)
        assert refused.status_code == 403 and refused.json() == {"detail": "this needs a write token; yours is read"}
        # A token does not lift it: this server only ever reads.
        assert client.delete("/api/v1/jobs/1", headers={"Authorization": "Bearer ta_anything"}).status_code == 403
        assert client.post("/api/v1/tokens", json={"name": "x", "role": "admin"}).status_code == 403
    assert [job.display_name for job in backend.list_jobs()] == ["local job"]


def test_ui_refuses_a_non_loopback_host(cli: Any, home: Path):
    LocalBackend(home)
    done = cli("ui", "--host", "0.0.0.0", "--no-browser")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--host '0.0.0.0' is not a loopback address" in done.stderr and "trainaction server" in done.stderr
    assert not any(map(is_loopback, ["0.0.0.0", "192.168.1.10", "example.com", "::", "localhost.evil.example"]))
    assert all(map(is_loopback, ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"]))


def test_ui_without_a_home_says_how_to_make_one(cli: Any, home: Path):
    done = cli("ui", "--no-browser")
    assert done.returncode == 2 and "no trainaction home" in done.stderr and "Traceback" not in done.stderr
