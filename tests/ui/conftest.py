"""Stand-in browser harness (the dashboard's own conftest replaces it): the same fixture names.

A real server, a real tuning job and a real training job through the CLI, and headless Chromium.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from servers import ServerProcess

REPO = Path(__file__).resolve().parents[2]

PLUGIN = """
    from pathlib import Path
    import numpy as np

    def _epochs(run, hyperparameter, report):
        lr = hyperparameter["lr"]
        for epoch in range(1, 4):
            loss = 1.0 / (epoch * lr * 100 + 1)
            run.log_metric("train", "loss", loss, epoch=epoch, step=epoch * 10)
            run.log_metric("validation", "accuracy", 1 - loss, epoch=epoch, step=epoch * 10)
            image = np.full((16, 16, 3), int(epoch * 60), dtype=np.uint8)
            run.log_visualization("samples", "digits", epoch, image)
            print(f"epoch {epoch}: loss {loss:.4f}")
            report(epoch, 1 - loss)

    def _model(run, name):
        path = Path(run.output_dir) / name
        path.mkdir(parents=True, exist_ok=True)
        (path / "weights.txt").write_text(name)
        return str(path)

    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        _epochs(run, hyperparameter, lambda epoch, acc: None)
        run.checkpoint_output = _model(run, "model")

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        from ray import tune as ray_tune
        def report(epoch, acc):
            metrics = {"accuracy": acc, "epoch": epoch}
            if epoch == 3:
                checkpoint = ray_tune.Checkpoint.from_directory(_model(run, "model"))
                ray_tune.report(metrics, checkpoint=checkpoint)
            else:
                ray_tune.report(metrics)
        _epochs(run, hyperparameter, report)
"""


def _cli(*args: str, server: Any, token: str, **popen: Any) -> Any:
    command = [sys.executable, "-m", "trainaction", *args, "--backend", server.url, "--token", token]
    env = {**os.environ, "TRAINACTION_HOME": str(server.home)}
    return subprocess.Popen(command, env=env, text=True, **popen)


@dataclass
class UiServer:
    process: ServerProcess
    home: Path
    admin_token: str
    read_token: str
    write_token: str
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = self.process.url


@dataclass
class RunningJob:
    server: UiServer
    proc: Any
    job_id: int | None = None

    def wait(self) -> int:
        out, err = self.proc.communicate(timeout=600)
        assert self.proc.returncode == 0, (out, err)
        self.job_id = self.job_id or _last_job_id(self.server)
        return self.job_id


def _last_job_id(server: UiServer) -> int:
    jobs = httpx.get(f"{server.url}/api/v1/jobs", headers={"Authorization": f"Bearer {server.read_token}"}).json()
    return int(jobs["jobs"][-1]["id"])


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    root = tmp_path_factory.mktemp("ui")
    with ServerProcess(root / "server") as process:
        assert process.admin_token
        admin = {"Authorization": f"Bearer {process.admin_token}"}
        tokens = {
            role: httpx.post(f"{process.url}/api/v1/tokens", json={"name": role, "role": role}, headers=admin).json()[
                "token"
            ]
            for role in ("read", "write")
        }
        server = UiServer(process, root / "client-home", process.admin_token, tokens["read"], tokens["write"])
        server.home.mkdir()
        data = root / "data"
        data.mkdir()
        (data / "values.txt").write_text("1\n")
        added = _cli("dataset", "add", str(data), "--name", "data", server=server, token=server.write_token)
        assert added.wait(120) == 0
        plugin = root / "plugin"
        plugin.mkdir()
        (plugin / "plugin.py").write_text(textwrap.dedent(PLUGIN))
        server.plugin = plugin  # type: ignore[attr-defined]
        yield server


def _job(server: UiServer, document: dict[str, Any], name: str) -> RunningJob:
    path = Path(server.home) / f"{name}.json"
    path.write_text(json.dumps(document))
    proc = _cli(
        "run",
        str(path),
        "--plugin",
        str(server.plugin),  # type: ignore[attr-defined]
        server=server,
        token=server.write_token,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    return RunningJob(server, proc)


@pytest.fixture(scope="session")
def tuning_job(ui_server: UiServer) -> RunningJob:
    document = {
        "action": "train",
        "params": {
            "name": "ui tuning",
            "dataset": 1,
            "is_tune": True,
            "hyperparameters": [{"name": "lr", "type": "grid_search", "options": [0.001, 0.01, 0.05, 0.1]}],
            "tune_config": {"metric": "accuracy", "mode": "max", "max_concurrent_trials": 2},
        },
    }
    job = _job(ui_server, document, "tuning")
    job.wait()
    return job


@pytest.fixture(scope="session")
def training_job(ui_server: UiServer, tuning_job: RunningJob) -> RunningJob:
    document = {"action": "train", "params": {"name": "ui training", "dataset": 1, "hyperparameter": {"lr": 0.02}}}
    job = _job(ui_server, document, "training")
    job.wait()
    return job


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        raise RuntimeError("no Chromium at /usr/bin/chromium; install it: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, ui_server: UiServer) -> Iterator[Any]:
    # The stand-in authenticates with the read token's header; the dashboard's harness logs in with the form.
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        extra_http_headers={"Authorization": f"Bearer {ui_server.read_token}"},
        base_url=ui_server.url,
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(name="shot")
def shot_fixture() -> Any:
    return shot


def shot(page: Any, name: str) -> Path:
    folder = Path(os.environ.get("TRAINACTION_SCREENSHOTS") or REPO / "test-artifacts" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
