from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from trainaction.backend import LocalBackend

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty TRAINACTION_HOME for this test, for the library and for CLI subprocesses."""
    path = tmp_path / "home"
    monkeypatch.setenv("TRAINACTION_HOME", str(path))
    return path


@pytest.fixture
def backend(home: Path) -> LocalBackend:
    return LocalBackend(home)


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
