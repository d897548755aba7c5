"""The digits example through the real CLI: train, resume from the produced checkpoint, name encoding."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from PIL import Image

from conftest import REPO

pytestmark = pytest.mark.slow  # trains the digits example through the CLI

DIGITS = REPO / "examples" / "digits"


def test_digits_trains_resumes_and_logs_a_confusion_matrix(cli, backend, tmp_path):
    data = tmp_path / "digits"
    subprocess.run([sys.executable, str(DIGITS / "prepare_data.py"), str(data)], check=True, capture_output=True)
    assert cli("dataset", "add", data, "--name", "digits").returncode == 0

    trained = cli("run", DIGITS / "jobs" / "simple_training.json", "--plugin", DIGITS, "--json", timeout=300)
    assert trained.returncode == 0, trained.stderr
    first = trained.json()
    assert first["status"] == "SUCCEEDED"
    assert first["result"]["metrics"]["validation"]["accuracy"] >= 0.95
    model = backend.get_model(first["result"]["model_id"])
    assert {f["path"] for f in model.files} == {"model.pt", "config.json"}
    accuracy = [e.data["value"] for e in backend.list_events(first["job_id"], "metric") if e.data["key"] == "accuracy"]
    assert len(accuracy) == 2 * 30  # training and validation, every epoch
    (matrix,) = backend.list_events(first["job_id"], "visualization")
    image = Image.open(io.BytesIO(backend.read_file(matrix.data["file"])))
    assert image.format == "PNG" and image.width >= 320

    resumed = cli("run", DIGITS / "jobs" / "resume_from_checkpoint.json", "--plugin", DIGITS, "--json", timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.json()["result"]["metrics"]["validation"]["accuracy"] >= 0.95  # starts from the trained weights
    assert f"resumed from checkpoint {model.id} 'digits_training'" in backend.read_log(resumed.json()["job_id"])

    named = cli("run", DIGITS / "jobs" / "named_training.json", "--plugin", DIGITS, "--json", timeout=300)
    assert named.returncode == 0, named.stderr
    assert backend.get_model(named.json()["result"]["model_id"]).name == "digits%3Av1%2Cbatch%3A32"
