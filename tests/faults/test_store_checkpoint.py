"""A plugin writing into the checkpoint it was given changes its own copy, never the stored model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # real training and tuning jobs through the CLI

TAMPERING_PLUGIN = """
    from pathlib import Path

    def _tamper(checkpoint):
        if checkpoint is None:
            return None
        folder = Path(checkpoint.path)
        seen = (folder / "weights.txt").read_text()
        (folder / "weights.txt").write_text("tampered")
        (folder / "extra.bin").write_bytes(b"added by the plugin")
        return seen

    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        seen = _tamper(checkpoint)
        out = Path(run.output_dir) / "weights.txt"
        out.write_text(f"from {seen}")
        return str(out)

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        from ray import tune
        seen = _tamper(checkpoint)
        run.log_message(f"trial saw {seen}")
        tune.report({"accuracy": hyperparameter["x"]})
"""


def _stored(backend, model_id: int) -> tuple[str, str, list[str]]:
    folder = backend.model_path(model_id)  # also checks every file against its stored sha256
    return (
        backend.get_model(model_id).sha256,
        (folder / "weights.txt").read_text(),
        sorted(p.name for p in folder.iterdir()),
    )


def test_training_job_writing_into_its_checkpoint_leaves_the_stored_model(
    cli, backend, make_plugin, dataset_dir, write_job, home
):
    plugin = make_plugin(TAMPERING_PLUGIN)
    cli("dataset", "add", dataset_dir)
    first = cli("run", write_job(), "--plugin", plugin, "--json")
    assert first.returncode == 0, first.stderr
    model_id = first.json()["result"]["model_id"]
    before = _stored(backend, model_id)
    assert before[1:] == ("from None", ["weights.txt"])

    writer = cli("run", write_job(checkpoint=model_id), "--plugin", plugin, "--json")

    assert writer.returncode == 0, writer.stderr
    assert _stored(backend, model_id) == before
    # The next job resuming from the same model gets the original files, not the first job's writes.
    again = cli("run", write_job(checkpoint=model_id), "--plugin", plugin, "--json")
    assert again.returncode == 0, again.stderr
    assert (backend.model_path(again.json()["result"]["model_id"]) / "weights.txt").read_text() == "from from None"
    # The job's private copy is scratch, gone with the job.
    assert not (home / "runs" / str(writer.json()["job_id"]) / "checkpoint").exists()


def test_tuning_trials_writing_into_their_checkpoint_leave_the_stored_model(
    cli, backend, make_plugin, dataset_dir, write_job, tmp_path
):
    plugin = make_plugin(TAMPERING_PLUGIN)
    cli("dataset", "add", dataset_dir)
    model_id = cli("run", write_job(), "--plugin", plugin, "--json").json()["result"]["model_id"]
    before = _stored(backend, model_id)
    document = {
        "action": "train",
        "params": {
            "name": "tamper",
            "dataset": 1,
            "is_tune": True,
            "num_cpus": 0.5,
            "checkpoint": model_id,
            "hyperparameters": [{"name": "x", "type": "grid_search", "options": [1, 2]}],
            "tune_config": {"metric": "accuracy", "mode": "max"},
        },
    }
    job = tmp_path / "tune.json"
    job.write_text(json.dumps(document))

    done = cli("run", job, "--plugin", plugin, "--json", timeout=300)

    assert done.returncode == 0, done.stderr
    assert "trial saw from None" in cli("jobs", "logs", done.json()["job_id"]).stdout
    assert _stored(backend, model_id) == before


def test_a_checkpoint_whose_stored_files_changed_fails_the_job_naming_the_file(
    cli, backend, make_plugin, dataset_dir, write_job, home
):
    plugin = make_plugin(TAMPERING_PLUGIN)
    cli("dataset", "add", dataset_dir)
    model_id = cli("run", write_job(), "--plugin", plugin, "--json").json()["result"]["model_id"]
    Path(home / "models" / str(model_id) / "weights.txt").write_text("changed behind the store's back")

    done = cli("run", write_job(checkpoint=model_id), "--plugin", plugin, "--json")

    assert done.returncode == 1
    assert done.json()["status"] == "FAILED"
    assert f"model {model_id}'s file 'weights.txt' changed since it was stored" in done.json()["error"]
