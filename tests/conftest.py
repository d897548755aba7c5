from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from postgres import PostgresCluster
from trainaction.backend import LocalBackend

REPO = Path(__file__).resolve().parents[1]

# The reference's example spec for each of the 12 distribution types.
REFERENCE_SPECS: dict[str, dict[str, Any]] = {
    "uniform": {"name": "lr", "type": "uniform", "min": 0.0001, "max": 0.01},
    "quniform": {"name": "lr", "type": "quniform", "min": 0.0001, "max": 0.01},
    "loguniform": {"name": "lr", "type": "loguniform", "min": 0.0001, "max": 0.01, "base": 10},
    "qloguniform": {"name": "lr", "type": "qloguniform", "min": 0.0001, "max": 0.01, "base": 10},
    "randn": {"name": "noise", "type": "randn", "mean": 0.0, "sd": 1.0},
    "qrandn": {"name": "noise", "type": "qrandn", "mean": 0.0, "sd": 1.0},
    "randint": {"name": "layers", "type": "randint", "min": 5, "max": 15},
    "qrandint": {"name": "layers", "type": "qrandint", "min": 5, "max": 15},
    "lograndint": {"name": "units", "type": "lograndint", "min": 16, "max": 256, "base": 2},
    "qlograndint": {"name": "units", "type": "qlograndint", "min": 16, "max": 256, "base": 2},
    "choice": {"name": "optimizer", "type": "choice", "options": ["adam", "sgd"]},
    "grid_search": {"name": "batch_size", "type": "grid_search", "options": [16, 32, 64]},
}


def tuning_params(*hyperparameters: dict[str, Any], params: dict[str, Any] | None = None, **tune_config: Any) -> Any:
    """The validated params of a tuning job document; ``params`` adds fields beside tune_config."""
    from trainaction.validation import parse_job

    tune_config.setdefault("metric", "accuracy")
    document = {
        "action": "train",
        "params": {
            "name": "tuning",
            "dataset": 1,
            "is_tune": True,
            "hyperparameters": list(hyperparameters),
            "tune_config": tune_config,
            **(params or {}),
        },
    }
    return parse_job(document).job.params


@pytest.fixture(scope="module")
def ray_instance():
    """One Ray on this machine for a module's in-process tuning jobs (2 CPUs, as the machines here)."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="session")
def postgres_cluster() -> Any:
    """A throwaway PostgreSQL cluster for the session (tests/postgres.py); fails, never skips, without one."""
    with PostgresCluster.running() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """The URL of a database in the session's cluster, shared by the tests that use it."""
    return postgres_cluster.create_database()


@pytest.fixture
def postgres_db(postgres_cluster: PostgresCluster) -> Any:
    """The URL of a new, empty database for this test alone; dropped after it."""
    url = postgres_cluster.create_database()
    yield url
    postgres_cluster.drop_database(url)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty TRAINACTION_HOME for this test, for the library and for CLI subprocesses."""
    path = tmp_path / "home"
    monkeypatch.setenv("TRAINACTION_HOME", str(path))
    return path


@pytest.fixture
def backend(home: Path) -> LocalBackend:
    return LocalBackend(home)


def add_dataset(folder: Path) -> int:
    """Register ``folder`` in ``$TRAINACTION_HOME`` as ``trainaction dataset add FOLDER`` does, in this
    process: the setup of tests about something else (a subprocess per setup added up)."""
    return LocalBackend(os.environ["TRAINACTION_HOME"]).add_dataset(folder, "").id


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def cli(home: Path) -> Callable[..., CliResult]:
    """Run the real ``trainaction`` command in a subprocess."""

    def run(*args: str, timeout: float = 120) -> CliResult:
        done = subprocess.run(
            [sys.executable, "-m", "trainaction", *map(str, args)], capture_output=True, text=True, timeout=timeout
        )
        return CliResult(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def cli_in_process(home: Path) -> Callable[..., CliResult]:
    """The same commands through the app in this process (click's test runner), for tests of what a
    command prints and exits with: a subprocess per call (a second of imports) added up to minutes.
    Each such file keeps real subprocesses where the process itself is under test."""
    from typer.testing import CliRunner

    from trainaction.cli import app

    def run(*args: object, timeout: float | None = None) -> CliResult:
        result = CliRunner().invoke(app, [str(a) for a in args])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def make_plugin(tmp_path: Path) -> Callable[[str], Path]:
    """Write a plugin directory whose plugin.py is ``source`` (dedented)."""
    counter = iter(range(1000))

    def make(source: str, manifest: str | None = None) -> Path:
        directory = tmp_path / f"plugin{next(counter)}"
        directory.mkdir()
        (directory / "plugin.py").write_text(textwrap.dedent(source))
        if manifest is not None:
            (directory / "plugin.yaml").write_text(textwrap.dedent(manifest))
        return directory

    return make


@pytest.fixture
def dataset_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    directory.mkdir()
    (directory / "values.txt").write_text("1\n2\n3\n")
    return directory


@pytest.fixture
def write_job(tmp_path: Path) -> Callable[..., Path]:
    """Write a training job document and return its path."""
    counter = iter(range(1000))

    def write(hyperparameter: dict[str, Any] | None = None, **params: Any) -> Path:
        document = {
            "action": "train",
            "params": {"name": "test-job", "dataset": 1, "hyperparameter": hyperparameter or {}, **params},
        }
        path = tmp_path / f"job{next(counter)}.json"
        path.write_text(json.dumps(document))
        return path

    return write


@dataclass
class LiveServer:
    """The API in this process (uvicorn in a thread): ``url``, ``admin_token``, and the storage it serves."""

    url: str
    admin_token: str
    storage: LocalBackend

    def __iter__(self) -> Any:
        return iter((self.url, self.admin_token))

    def client(self, token: str | None = None) -> Any:
        import httpx

        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token or self.admin_token}"})


@pytest.fixture
def live_server(backend: LocalBackend) -> Any:
    """The API over ``backend`` (the test's TRAINACTION_HOME), served in this process; fast."""
    from servers import live_app

    with live_app(backend) as (url, token):
        yield LiveServer(url, token, backend)


@pytest.fixture
def server(tmp_path: Path) -> Any:
    """A real ``trainaction server`` subprocess over SQLite in tmp_path, started; stopped after the test."""
    from servers import ServerProcess

    process = ServerProcess(tmp_path / "server-home")
    with process:
        yield process
