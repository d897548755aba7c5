"""Job files that are not (strict) JSON documents: exit 2 with the path, JSON on stdout, no traceback,
nothing recorded, in ``validate`` and in ``run``."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import REFERENCE_SPECS
from trainaction.cli import app

PLUGIN = """
    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        run.log_metric("training", "loss", 0.5)
"""


def _job(hyperparameter: str = "{}", **params: str) -> str:
    fields = {"name": '"nasty"', "dataset": "1", "hyperparameter": hyperparameter, **params}
    return '{"action": "train", "params": {' + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}}"


# name → (file content, or None for "give a folder", the error path, a phrase of the message)
NASTY: dict[str, tuple[bytes | None, str, str]] = {
    "latin-1": (_job(hyperparameter='{"name": "caf\xe9"}').encode("latin-1"), "", "not UTF-8"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8\xff\x00", "", "not UTF-8"),
    "nul-bytes": (b'{"action": "train"\x00\x00}', "", "not valid JSON"),
    "deep-array": (b"[" * 100_000 + b"]" * 100_000, "", "more than 64 levels"),
    "deep-in-hyperparameter": (
        _job(hyperparameter='{"a": ' + "[" * 70 + "]" * 70 + "}").encode(),
        "",
        "more than 64 levels",
    ),
    "dataset-beyond-int64": (_job(dataset=str(2**63)).encode(), "params.dataset", "between 1 and 9223372036854775807"),
    "checkpoint-beyond-int64": (_job(checkpoint=str(10**30)).encode(), "params.checkpoint", "64-bit"),
    "nan": (_job(hyperparameter='{"lr": NaN}').encode(), "params.hyperparameter.lr", "NaN is not a JSON number"),
    "infinity": (
        _job(hyperparameter='{"lr": [1, Infinity]}').encode(),
        "params.hyperparameter.lr[1]",
        "no NaN or Infinity",
    ),
    "minus-infinity": (_job(dataset="-Infinity").encode(), "params.dataset", "no NaN or Infinity"),
    "float-overflow": (
        _job(hyperparameter='{"lr": 1e400}').encode(),
        "params.hyperparameter.lr",
        "too large for a 64-bit float",
    ),
    "huge-integer": (_job(hyperparameter='{"n": ' + "9" * 5000 + "}").encode(), "params.hyperparameter.n", "too large"),
    "lone-surrogate": (_job(name='"\\ud800x"').encode(), "params.name", "unpaired UTF-16 surrogate"),
    "folder": (None, "", "is a folder"),
}


def _write(tmp_path: Path, name: str, content: bytes | None) -> Path:
    path = tmp_path / f"{name}.json"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    return path


# The real command in a subprocess for a few kinds (the process exits 2 and prints no traceback);
# every kind in process below, through the same app (the subprocesses were most of this file's time).
_IN_SUBPROCESS = ("binary", "deep-array", "folder")


@pytest.mark.parametrize("name", _IN_SUBPROCESS)
@pytest.mark.slow
def test_validate_and_run_refuse_a_nasty_file(cli, backend, make_plugin, tmp_path, name):
    content, path, phrase = NASTY[name]
    job_file = _write(tmp_path, name, content)

    checked = cli("validate", job_file, "--json")
    assert checked.returncode == 2, checked.stderr
    assert "Traceback" not in checked.stderr
    report = checked.json()
    assert report["valid"] is False and report["job"] is None and isinstance(report["notices"], list)
    assert any(e["path"] == path and phrase in e["message"] for e in report["errors"]), report["errors"]

    plain = cli("validate", job_file)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr and phrase in plain.stderr

    ran = cli("run", job_file, "--plugin", make_plugin(PLUGIN), "--json")
    assert ran.returncode == 2, ran.stderr
    assert "Traceback" not in ran.stderr and phrase in ran.stderr
    assert ran.json() == {"job_id": None, "status": "INVALID", "result": None, "error": ran.json()["error"]}
    assert phrase in ran.json()["error"]
    assert backend.list_jobs() == []  # refused before anything was recorded


@pytest.mark.parametrize("name", list(NASTY))
def test_validate_and_run_refuse_a_nasty_file_in_process(backend, make_plugin, tmp_path, name):
    content, path, phrase = NASTY[name]
    job_file = str(_write(tmp_path, name, content))

    checked = _runner.invoke(app, ["validate", job_file, "--json"])
    assert checked.exit_code == 2 and isinstance(checked.exception, SystemExit), repr(checked.exception)
    report = json.loads(checked.stdout)
    assert report["valid"] is False and report["job"] is None and isinstance(report["notices"], list)
    assert any(e["path"] == path and phrase in e["message"] for e in report["errors"]), report["errors"]

    plain = _runner.invoke(app, ["validate", job_file])
    assert plain.exit_code == 2 and "Traceback" not in plain.output and phrase in plain.stderr

    ran = _runner.invoke(app, ["run", job_file, "--plugin", str(make_plugin(PLUGIN)), "--json"])
    assert ran.exit_code == 2 and isinstance(ran.exception, SystemExit), repr(ran.exception)
    assert "Traceback" not in ran.output and phrase in ran.stderr
    answer = json.loads(ran.stdout)
    assert answer == {"job_id": None, "status": "INVALID", "result": None, "error": answer["error"]}
    assert phrase in answer["error"]
    assert backend.list_jobs() == []  # refused before anything was recorded


@pytest.mark.slow
def test_a_missing_job_file(cli, make_plugin, tmp_path):
    missing = tmp_path / "nope.json"
    checked = cli("validate", missing, "--json")
    assert checked.returncode == 2 and "does not exist" in checked.json()["errors"][0]["message"]
    ran = cli("run", missing, "--plugin", make_plugin(PLUGIN))
    assert ran.returncode == 2 and "does not exist" in ran.stderr and "Traceback" not in ran.stderr


def test_a_byte_order_mark_is_accepted(cli, tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + _job().encode())
    assert cli("validate", path, "--json").json()["valid"] is True


# --- in process, many examples: the real typer app, driven through click's test runner ----------

_runner = CliRunner()

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**62, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
_KEYS = [
    "name",
    "dataset",
    "checkpoint",
    "is_tune",
    "num_cpus",
    "num_gpus",
    "hyperparameter",
    "hyperparameters",
    "tune_config",
]
_SPEC = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["a", "b"]),
        "type": st.sampled_from(
            [
                "uniform",
                "quniform",
                "loguniform",
                "qloguniform",
                "randn",
                "qrandn",
                "randint",
                "qrandint",
                "lograndint",
                "qlograndint",
                "choice",
                "grid_search",
            ]
        ),
    },
    optional={k: _scalars | st.floats(-1e3, 1e3) for k in ("min", "max", "q", "base", "mean", "sd")}
    | {"options": _json},
)
_TUNE_CONFIG = st.fixed_dictionaries(
    {"metric": st.just("accuracy")},
    optional={
        "mode": _json,
        "num_samples": _scalars,
        "seed": _scalars,
        "max_concurrent_trials": _scalars,
        "search_alg": st.sampled_from(["basicvariantgenerator", "hyperoptsearch", "optunasearch", "bayesoptsearch"])
        | _json,
        "scheduler": st.sampled_from(["fifo", "asha", "hyperband"]) | _json,
    },
)
# Near-valid tuning jobs: the reference's specs with edge numbers, so the compiler and the preview run.
_edge = st.sampled_from([0, 1, -1, 0.3, 3, 7, 1e-300, 1e300, 1e308, -1e308, 5e-324, 2**63, 10**30]) | st.floats(
    -1e6, 1e6
)
_near_spec = st.builds(
    lambda kind, changes: {**REFERENCE_SPECS[kind], **changes},
    st.sampled_from(list(REFERENCE_SPECS)),
    st.dictionaries(st.sampled_from(["min", "max", "q", "base", "mean", "sd"]), _edge, max_size=2),
)
_near_valid = st.builds(
    lambda specs, searcher, scheduler, resources: {
        "action": "train",
        "params": {
            "name": "edge",
            "dataset": 1,
            "is_tune": True,
            **resources,
            "hyperparameters": [{**spec, "name": f"p{i}"} for i, spec in enumerate(specs)],
            "tune_config": {"metric": "accuracy", "num_samples": 2, "search_alg": searcher, "scheduler": scheduler},
        },
    },
    st.lists(_near_spec, min_size=1, max_size=3),
    st.sampled_from(["basicvariantgenerator", "hyperoptsearch", "optunasearch", "bayesoptsearch"]),
    st.sampled_from(["fifo", "asha", "hyperband", "median_stopping"]),
    st.fixed_dictionaries(
        {}, optional={"num_cpus": st.sampled_from([0, 0.5, 1, 3, 1000]), "num_gpus": st.sampled_from([0, 1])}
    ),
)
_documents = st.one_of(
    _near_valid,
    _json,
    st.fixed_dictionaries(
        {"action": st.sampled_from(["train", "tune"]) | _json},
        optional={"params": st.dictionaries(st.sampled_from(_KEYS), _json, max_size=5)},
    ),
    st.fixed_dictionaries(
        {
            "action": st.just("train"),
            "params": st.fixed_dictionaries(
                {
                    "name": st.text(max_size=5) | _scalars,
                    "dataset": st.integers() | _scalars,
                    "is_tune": st.just(True),
                    "hyperparameters": st.lists(_SPEC, min_size=1, max_size=3),
                    "tune_config": _TUNE_CONFIG,
                },
                optional={"num_cpus": _scalars, "num_gpus": _scalars},
            ),
        }
    ),
)


def _check(directory: str, content: bytes) -> None:
    path = Path(directory) / "job.json"
    path.write_bytes(content)
    result = _runner.invoke(app, ["validate", str(path), "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2), result.output
    report: Any = json.loads(result.stdout)
    assert set(report) == {"valid", "errors", "job", "notices"}
    assert report["valid"] is (result.exit_code == 0)
    assert all(set(e) == {"path", "message"} and e["message"] for e in report["errors"])
    assert "Traceback" not in result.output


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.binary(max_size=200))
def test_arbitrary_bytes_never_end_in_a_traceback(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        _check(directory, content)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_documents)
@pytest.mark.slow
def test_arbitrary_json_never_ends_in_a_traceback(document: Any) -> None:
    # json.dumps writes NaN/Infinity for such floats, as many tools do: the refusal is part of the test.
    with tempfile.TemporaryDirectory() as directory:
        _check(directory, json.dumps(document).encode())
