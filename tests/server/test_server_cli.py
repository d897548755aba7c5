"""`trainaction server` as users start it: a real subprocess, its token, its docs, its signals, its memory."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from servers import ServerProcess

pytestmark = pytest.mark.slow

_TOKEN_LINE = "admin token (shown once, store it now): "


def _max_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_the_admin_token_is_printed_once_docs_are_served_and_sigterm_stops_it(tmp_path: Path):
    server = ServerProcess(tmp_path / "home").start()
    try:
        assert server.admin_token is not None and server.admin_token.startswith("ta_")
        assert sum(line.startswith(_TOKEN_LINE) for line in server.stdout) == 1
        assert any("listening on http://127.0.0.1:" in line for line in server.stdout)
        assert any(line.startswith("storage: sqlite:///") for line in server.stdout)
        docs = httpx.get(f"{server.url}/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        assert "/api/v1/jobs/{job_id}/events" in httpx.get(f"{server.url}/openapi.json").json()["paths"]
        headers = {"Authorization": f"Bearer {server.admin_token}"}
        assert httpx.get(f"{server.url}/api/v1/whoami", headers=headers).json()["role"] == "admin"
        assert server.stop() == 0
        server.start()
        assert not any(line.startswith(_TOKEN_LINE) for line in server.stdout)
        assert httpx.get(f"{server.url}/api/v1/whoami", headers=headers).status_code == 200
        assert server.stop() == 0
    finally:
        server.kill()


def test_restart_keeps_jobs_and_events(server: ServerProcess):
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    job = httpx.post(
        f"{server.url}/api/v1/jobs", json={"action": "train", "params": {}, "name": "j"}, headers=headers
    ).json()
    batch = {"batch_id": "b1", "events": [{"type": "message", "data": {"text": "hi"}, "time": 1.0}]}
    assert httpx.post(f"{server.url}/api/v1/jobs/{job['id']}/events", json=batch, headers=headers).json()["stored"] == 1
    server.restart()
    assert httpx.post(f"{server.url}/api/v1/jobs/{job['id']}/events", json=batch, headers=headers).json()["stored"] == 0
    events = httpx.get(f"{server.url}/api/v1/jobs/{job['id']}/events", headers=headers).json()["events"]
    assert [e["data"] for e in events] == [{"text": "hi"}]


def test_server_and_embedded_cli_share_the_home(home: Path, cli: Any, dataset_dir: Path):
    added = cli("dataset", "add", str(dataset_dir), "--name", "local")
    assert added.returncode == 0, added.stderr
    # No --artifacts, no --db: $TRAINACTION_HOME and its SQLite database, as the embedded backend's.
    assert Path(os.environ["TRAINACTION_HOME"]) == home
    with ServerProcess(home, pass_artifacts=False) as server:
        headers = {"Authorization": f"Bearer {server.admin_token}"}
        datasets = httpx.get(f"{server.url}/api/v1/datasets", headers=headers).json()["datasets"]
        assert [d["name"] for d in datasets] == ["local"]
        body = {"action": "train", "params": {"dataset": 1}, "name": "from-the-server"}
        job = httpx.post(f"{server.url}/api/v1/jobs", json=body, headers=headers).json()
    listed = cli("jobs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(j["id"], j["name"]) for j in listed.json()] == [(job["id"], "from-the-server")]


def test_a_50_mb_file_streams_through_with_flat_memory(tmp_path: Path):
    size = 50 * 2**20
    source = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with open(source, "wb") as handle:
        for n in range(50):
            block = bytes([n]) * 2**20
            handle.write(block)
            digest.update(block)
    with ServerProcess(tmp_path / "home") as server:
        assert server.process is not None
        pid = server.process.pid
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.admin_token}"}) as api:
            api.get("/api/v1/whoami")
            before = _max_rss_kib(pid)
            upload_id = api.post("/api/v1/uploads").json()["upload_id"]

            def chunks() -> Any:
                with open(source, "rb") as handle:
                    while block := handle.read(256 * 1024):
                        yield block

            answer = api.put(
                f"/api/v1/uploads/{upload_id}/files/big.bin",
                content=chunks(),
                headers={"X-Content-SHA256": digest.hexdigest()},
                timeout=120,
            )
            assert answer.status_code == 201, answer.text
            model = api.post("/api/v1/models", json={"name": "big", "upload_id": upload_id}).json()
            received = hashlib.sha256()
            with api.stream("GET", f"/api/v1/models/{model['id']}/files/big.bin", timeout=120) as download:
                assert download.headers["X-Content-SHA256"] == digest.hexdigest()
                for block in download.iter_bytes():
                    received.update(block)
            after = _max_rss_kib(pid)
    assert received.hexdigest() == digest.hexdigest()
    # The file went through in chunks: the server's peak memory grew by far less than the file's size.
    assert (after - before) * 1024 < size / 4, f"peak memory grew by {after - before} KiB"


def test_a_foreign_database_is_refused_with_exit_2(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "trainaction.db").write_text("not a database")
    done = subprocess.run(
        [sys.executable, "-m", "trainaction", "server", "--artifacts", str(home), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "is not a trainaction database" in done.stderr and "Traceback" not in done.stderr


def test_port_0_prints_the_port_it_got_and_a_taken_port_exits_2(tmp_path: Path):
    command = [sys.executable, "-m", "trainaction", "server", "--port", "0"]
    with subprocess.Popen(
        [*command, "--artifacts", str(tmp_path / "a")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as first:
        try:
            assert first.stdout is not None
            line = next(line for line in first.stdout if "listening on" in line)
            url = line.split("listening on ", 1)[1].split()[0]
            port = int(url.rsplit(":", 1)[1])
            assert port > 0 and url == f"http://127.0.0.1:{port}"
            assert httpx.get(f"{url}/openapi.json", timeout=30).status_code == 200

            taken = subprocess.run(
                [*command[:-1], str(port), "--artifacts", str(tmp_path / "b")],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert taken.returncode == 2 and "Traceback" not in taken.stderr, taken.stderr
            assert f"--port {port} cannot be used on 127.0.0.1" in taken.stderr
            assert "listening on" not in taken.stdout and not (tmp_path / "b" / "trainaction.db").exists()
        finally:
            first.terminate()
            first.communicate(timeout=60)
