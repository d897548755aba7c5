"""A trial's model: the four sources in order, a warning when there is none, and the trials table's
retries and error tracebacks (real Ray)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ends_jobs import run_tuning, write_plugin

from trainaction.backend import LocalBackend
from trainaction.tables import latest_table

pytestmark = pytest.mark.slow  # tuning jobs on a real Ray instance

# Each trial gives its model one way; the earlier ways also leave the later ones, to pin the order.
SOURCES_PLUGIN = """
    from pathlib import Path

    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        pass

    def folder(run, name):
        path = Path(run.output_dir) / name
        path.mkdir(parents=True, exist_ok=True)
        (path / "source.txt").write_text(name)
        return str(path)

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        from ray import tune
        how = hyperparameter["how"]
        metrics = {"accuracy": 0.5}
        if how in ("metrics", "checkpoint", "run_checkpoint_output"):
            run.checkpoint_output = folder(run, "run_checkpoint_output")
        if how == "metrics":
            metrics["checkpoint_output"] = folder(run, "metrics")
        if how in ("metrics", "checkpoint"):
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder(run, "checkpoint")))
        else:
            if how == "output_dir":
                (Path(run.output_dir) / "source.txt").write_text("output_dir")
            tune.report(metrics)
"""

HOWS = ["metrics", "checkpoint", "run_checkpoint_output", "output_dir", "none"]


@pytest.fixture
def setup(ray_instance, backend: LocalBackend, dataset_dir: Path, tmp_path: Path):
    backend.add_dataset(dataset_dir, "data")
    return backend, tmp_path


def test_each_model_source_in_order_and_a_warning_when_there_is_none(setup):
    backend, tmp_path = setup
    plugin = write_plugin(tmp_path / "sources", SOURCES_PLUGIN)
    outcome = run_tuning(backend, plugin, tmp_path / "runs", [{"name": "how", "type": "grid_search", "options": HOWS}])

    assert outcome.status == "SUCCEEDED", outcome.error
    entries = {t["config"]["how"]: t for t in outcome.result["trial_models"]}
    for how in HOWS[:-1]:
        assert entries[how]["model_id"] is not None, how
        assert (backend.model_path(entries[how]["model_id"]) / "source.txt").read_text() == how
        assert "checkpoint_output" not in entries[how]["metrics"]
    none = entries["none"]
    assert none["model_id"] is None
    assert none["note"].startswith(f"trial {none['trial_id']} ended without a model")
    log = backend.read_log(outcome.job_id)
    warnings = [line for line in log.splitlines() if "without a model" in line]
    assert warnings == [f"warning: {none['note']}"]
    for way in ("'checkpoint_output'", "tune.report(metrics, checkpoint=", "run.checkpoint_output", "run.output_dir"):
        assert way in warnings[0]


# Reports with a checkpoint every epoch into the same folder (the reference's shape); ignores `checkpoint`.
EPOCHS_PLUGIN = """
    from pathlib import Path

    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        pass

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        from ray import tune
        run.checkpoint_output = str(Path(run.output_dir) / "weights")
        Path(run.checkpoint_output).mkdir(parents=True, exist_ok=True)
        for epoch in range(4):
            (Path(run.checkpoint_output) / "epoch.txt").write_text(str(epoch))
            tune.report({"accuracy": hyperparameter["lr"] * (epoch + 1)}, checkpoint=tune.Checkpoint.from_directory(run.checkpoint_output))
"""


def test_trials_stopped_early_by_asha_keep_their_last_reported_checkpoint(setup):
    backend, tmp_path = setup
    plugin = write_plugin(tmp_path / "epochs", EPOCHS_PLUGIN)
    outcome = run_tuning(
        backend,
        plugin,
        tmp_path / "runs",
        [{"name": "lr", "type": "uniform", "min": 0.1, "max": 1.0}],
        num_samples=6,
        seed=3,
        scheduler={"name": "asha", "options": {"grace_period": 1, "max_t": 4}},
    )

    assert outcome.status == "SUCCEEDED", outcome.error
    trials = outcome.result["trial_models"]
    iterations = {}
    for trial in trials:
        assert trial["model_id"] is not None, trial
        epoch = int((backend.model_path(trial["model_id"]) / "epoch.txt").read_text())
        iterations[trial["trial_id"]] = epoch + 1
    rows = latest_table(backend, outcome.job_id)["trials"]
    assert {row["status"] for row in rows.values()} == {"TERMINATED"}
    assert min(iterations.values()) < 4, iterations  # some trials were stopped early: the case under test
    assert "without a model" not in backend.read_log(outcome.job_id)


FAILING_PLUGIN = """
    from pathlib import Path

    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        pass

    def load_weights(path):
        raise RuntimeError(f"no weights at {path}")

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        from ray import tune
        if hyperparameter["x"] == "bad":
            load_weights("/nowhere")
        run.checkpoint_output = str(Path(run.output_dir) / "weights")
        Path(run.checkpoint_output).mkdir(parents=True, exist_ok=True)
        for epoch in range(3):
            tune.report({"accuracy": 0.5}, checkpoint=tune.Checkpoint.from_directory(run.checkpoint_output))
"""


def test_table_retries_tracebacks_and_no_checkpoint_noise_in_the_log(setup):
    backend, tmp_path = setup
    plugin = write_plugin(tmp_path / "failing", FAILING_PLUGIN)
    outcome = run_tuning(
        backend, plugin, tmp_path / "runs", [{"name": "x", "type": "grid_search", "options": ["good", "bad"]}]
    )

    assert outcome.status == "SUCCEEDED", outcome.error
    table = latest_table(backend, outcome.job_id)
    # With max_failures 0 nothing is retried: the failure that ended a trial is not a retry.
    assert table["base"] == ["status", "retries"]
    assert all(row["retries"] == 0 for row in table["trials"].values())
    bad = next(t for t in outcome.result["trial_models"] if t["config"] == {"x": "bad"})
    assert bad["error"] == "RuntimeError: no weights at /nowhere"
    lines = backend.read_log(outcome.job_id).splitlines()
    prefix = f"[trial {bad['trial_id']}] "
    traceback = [line[len(prefix) :] for line in lines if line.startswith(prefix)]
    # The whole traceback, down to the plugin's own frames, not only its last line.
    assert any('plugin.py", line 13, in tune' in line for line in traceback), traceback
    assert any('plugin.py", line 8, in load_weights' in line for line in traceback), traceback
    assert not any("\x1b[" in line for line in traceback)
    assert traceback[-1] == "RuntimeError: no weights at /nowhere"
    assert not [line for line in lines if "Checkpoint successfully created" in line]
