"""The dashboard's browser harness: one real server, one tuning job and one training job per session,
and headless Chromium (Debian's ``chromium``, driven by Playwright; never downloaded here).

Fixtures: ``browser``, ``ui_server``, ``tuning_job``, ``training_job``, ``page`` (logged in with the
read token, 1280×800) and ``shot`` (``shot(page, name)`` saves a screenshot and returns its path)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from servers import ServerProcess

REPO = Path(__file__).resolve().parents[2]

# Each trial: a few short epochs, a metric of each category per epoch, one image per epoch, and
# its model file (run.checkpoint_output is uploaded as the trial's model).
PLUGIN = """
import time
from pathlib import Path

import numpy as np


def train(run, dataset, hyperparameter, checkpoint, **kwargs):
    lr = float(hyperparameter.get("lr", 0.1))
    for epoch in range(3):
        run.log_metric("train", "loss", 1.0 / (1 + lr * (epoch + 1)), epoch=epoch)
        run.log_metric("validation", "accuracy", lr * (epoch + 1) / 3, epoch=epoch)
    print("training done")
    model = Path(run.output_dir) / "model.bin"
    model.write_bytes(b"weights-" + str(lr).encode() * 100)
    return str(model)


def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
    from ray import tune

    lr = float(hyperparameter["lr"])
    run.checkpoint_output = str(Path(run.output_dir) / "ckpt")
    Path(run.checkpoint_output).mkdir(parents=True, exist_ok=True)
    for epoch in range(3):
        time.sleep(0.25)
        accuracy = lr * (epoch + 1) / 3
        run.log_metric("train", "loss", 1.0 / (1 + lr * (epoch + 1)), epoch=epoch)
        run.log_metric("validation", "accuracy", accuracy, epoch=epoch)
        image = np.zeros((16, 16, 3), dtype=np.uint8)
        image[:, : 4 * (epoch + 1), 0] = int(255 * lr)
        run.log_visualization("samples", "validation", epoch, image)
        print(f"trial lr={lr} epoch {epoch} accuracy {accuracy:.3f}")
        (Path(run.checkpoint_output) / "model.bin").write_bytes(f"lr={lr} epoch={epoch}".encode() * 50)
        tune.report({"accuracy": accuracy, "epoch": epoch})
"""

TUNING_NAME = "ui tuning"
TRAINING_NAME = "ui training"


def _chromium() -> str:
    found = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        raise RuntimeError(
            "the browser tests need Debian's Chromium and found none: install it with "
            "`apt-get install chromium` (.ci/run does this); no browser is downloaded at test time"
        )
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium through Playwright's sync API; a missing browser is an error, never a skip."""
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True)
        yield chromium
        chromium.close()


@dataclass
class UiServer:
    """The session's server: ``url``, ``admin_token``, ``read_token``, ``write_token``, ``home`` (its artifacts)."""

    url: str
    admin_token: str
    read_token: str
    write_token: str
    home: Path
    process: ServerProcess

    def client(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token or self.admin_token}"}, timeout=30
        )

    def cli(self, *args: str, token: str | None = None) -> list[str]:
        """A ``trainaction`` command line against this server."""
        return [sys.executable, "-m", "trainaction", *args, "--backend", self.url, "--token", token or self.write_token]


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """A real ``trainaction server`` on a temp home with a read and a write token."""
    root = tmp_path_factory.mktemp("ui")
    process = ServerProcess(root / "server-home")
    with process:
        assert process.admin_token is not None
        admin = {"Authorization": f"Bearer {process.admin_token}"}
        tokens = {}
        for name, role in (("reader", "read"), ("writer", "write")):
            answer = httpx.post(f"{process.url}/api/v1/tokens", json={"name": name, "role": role}, headers=admin)
            assert answer.status_code == 201, answer.text
            tokens[role] = answer.json()["token"]
        yield UiServer(process.url, process.admin_token, tokens["read"], tokens["write"], process.artifacts, process)


@pytest.fixture(scope="session")
def dataset(ui_server: UiServer, tmp_path_factory: pytest.TempPathFactory) -> int:
    """Dataset 1 on the session's server, for its jobs."""
    data = tmp_path_factory.mktemp("data")
    (data / "values.txt").write_text("1\n2\n3\n")
    done = subprocess.run(
        ui_server.cli("dataset", "add", str(data), "--json"), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return int(json.loads(done.stdout)["id"])


@dataclass
class BackgroundJob:
    """A ``trainaction run`` in the background against the session's server."""

    server: UiServer
    display_name: str
    proc: subprocess.Popen[str]
    output: Path
    _job_id: int | None = field(default=None, init=False)

    @property
    def job_id(self) -> int:
        """The job's id, once the run has created its record (waits for it, up to a minute)."""
        deadline = time.monotonic() + 60
        while self._job_id is None:
            with self.server.client() as client:
                jobs = client.get("/api/v1/jobs", params={"q": self.display_name}).json()["jobs"]
            found = [job["id"] for job in jobs if job["display_name"] == self.display_name]
            if found:
                self._job_id = found[0]
                break
            if self.proc.poll() is not None and self.proc.returncode != 0:
                raise AssertionError(f"`trainaction run` exited {self.proc.returncode}: {self.output.read_text()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no job named {self.display_name!r} appeared on the server in 60 s")
            time.sleep(0.2)
        return self._job_id

    def wait(self, timeout: float = 300) -> int:
        """Blocks until the run exits; asserts it succeeded; returns the job id."""
        status = self.proc.wait(timeout)
        assert status == 0, self.output.read_text()
        return self.job_id


def _start_job(server: UiServer, root: Path, name: str, params: dict[str, Any], dataset: int) -> BackgroundJob:
    root.mkdir(parents=True, exist_ok=True)
    plugin = root / "plugin"
    plugin.mkdir(exist_ok=True)
    (plugin / "plugin.py").write_text(textwrap.dedent(PLUGIN))
    document = root / "job.json"
    document.write_text(json.dumps({"action": "train", "params": {"name": name, "dataset": dataset, **params}}))
    output = root / "run.log"
    with open(output, "w") as sink:
        proc = subprocess.Popen(
            server.cli("run", str(document), "--plugin", str(plugin)),
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "TRAINACTION_HOME": str(root / "home")},
        )
    return BackgroundJob(server, name, proc, output)


@pytest.fixture(scope="session")
def _jobs(
    ui_server: UiServer, dataset: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, BackgroundJob]]:
    """Both session jobs, started together: the training job runs while Ray starts for the tuning job."""
    tuning = _start_job(
        ui_server,
        tmp_path_factory.mktemp("tuning-job"),
        TUNING_NAME,
        {
            "is_tune": True,
            "num_cpus": 0.5,
            "hyperparameters": [{"name": "lr", "type": "grid_search", "options": [0.2, 0.4, 0.6, 0.8]}],
            "tune_config": {"metric": "accuracy", "mode": "max"},
        },
        dataset,
    )
    training = _start_job(
        ui_server, tmp_path_factory.mktemp("training-job"), TRAINING_NAME, {"hyperparameter": {"lr": 0.5}}, dataset
    )
    jobs = {"tuning": tuning, "training": training}
    yield jobs
    for job in jobs.values():
        if job.proc.poll() is None:
            job.proc.kill()
            job.proc.wait(30)


@pytest.fixture(scope="session")
def tuning_job(_jobs: dict[str, BackgroundJob]) -> BackgroundJob:
    """A small tuning job (4 trials × 3 epochs) running in the background; ``.wait()`` for it to end."""
    return _jobs["tuning"]


@pytest.fixture(scope="session")
def training_job(_jobs: dict[str, BackgroundJob]) -> BackgroundJob:
    """One finished small training job on the session's server."""
    _jobs["training"].wait()
    return _jobs["training"]


@pytest.fixture
def login(browser: Any, ui_server: UiServer) -> Iterator[Callable[..., Any]]:
    """``login(token=None, viewport=(1280, 800))``: a fresh context and page signed in through the login form."""
    contexts: list[Any] = []

    def open_page(token: str | None = None, viewport: tuple[int, int] = (1280, 800)) -> Any:
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{ui_server.url}/login")
        page.fill("#token", token or ui_server.read_token)
        page.click("button[type=submit]")
        page.wait_for_selector("#view .view")
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(login: Callable[..., Any]) -> Any:
    """A fresh context and page, signed in with the read token (the cookie set by the login form), 1280×800."""
    return login()


def _screenshots() -> Path:
    return Path(os.environ.get("TRAINACTION_SCREENSHOTS") or REPO / "test-artifacts" / "screenshots")


def save_shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as ``<screenshots>/<name>.png``; returns its path."""
    folder = _screenshots()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="session")
def shot() -> Callable[[Any, str], Path]:
    """``shot(page, name)``: saves test-artifacts/screenshots/<name>.png (TRAINACTION_SCREENSHOTS overrides)."""
    return save_shot


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests named ``test_live_*`` run first among tests/ui: they watch the session's tuning job
    while it runs, which a test that waits for it to end (any other view's) would otherwise take away."""
    here = Path(__file__).parent
    places = [n for n, item in enumerate(items) if here in Path(str(item.path)).parents]
    ours = [items[n] for n in places]
    ours.sort(key=lambda item: not item.name.startswith("test_live"))  # stable: otherwise as collected
    for n, item in zip(places, ours, strict=True):
        items[n] = item
