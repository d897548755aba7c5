"""trial_timeout_s and time_budget_s: a hanging trial ends, and so does the whole search (real Ray)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from ends_jobs import run_tuning, tuning_document, write_plugin

from trainaction.backend import LocalBackend
from trainaction.errors import ValidationError
from trainaction.tables import latest_table
from trainaction.validation import parse_job

# Reports with a checkpoint every epoch, never reads its checkpoint argument; x > 1 hangs after its
# first report, in a sleep no report will ever interrupt.
HANGING_PLUGIN = """
    import time
    from pathlib import Path

    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        pass

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        from ray import tune
        run.checkpoint_output = str(Path(run.output_dir) / "weights")
        Path(run.checkpoint_output).mkdir(parents=True, exist_ok=True)
        for epoch in range(2):
            (Path(run.checkpoint_output) / "epoch.txt").write_text(str(epoch))
            tune.report({"accuracy": hyperparameter["x"] + epoch}, checkpoint=tune.Checkpoint.from_directory(run.checkpoint_output))
            if hyperparameter["x"] > 1:
                run.log_metric("training", "hanging", 1.0)
                time.sleep(10**6)
"""

GRID = [{"name": "x", "type": "grid_search", "options": [1, 2, 3]}]


@pytest.fixture
def setup(ray_instance, backend: LocalBackend, dataset_dir: Path, tmp_path: Path):
    backend.add_dataset(dataset_dir, "data")
    return backend, write_plugin(tmp_path / "hanging", HANGING_PLUGIN), tmp_path / "runs"


@pytest.mark.slow
def test_a_hanging_trial_times_out_as_an_error_and_the_job_goes_on(setup):
    backend, plugin, runs = setup
    started = time.monotonic()
    outcome = run_tuning(backend, plugin, runs, GRID, trial_timeout_s=4)
    took = time.monotonic() - started

    assert outcome.status == "SUCCEEDED", outcome.error
    assert took < 150, took  # without the limit it never ends (the test's own timeout fails it)
    entries = {t["config"]["x"]: t for t in outcome.result["trial_models"]}
    for x in (2, 3):
        assert entries[x]["status"] == "ERROR" and entries[x]["model_id"] is None
        assert entries[x]["error"].startswith("timed out after 4 s (tune_config.trial_timeout_s)")
    assert entries[1]["model_id"] is not None and "status" not in entries[1]
    assert outcome.result["trials"] == {"total": 3, "ran": 3, "errored": 2}
    assert outcome.result["best_trial"]["config"] == {"x": 1}
    rows = latest_table(backend, outcome.job_id)["trials"]
    assert sorted(row["status"] for row in rows.values()) == ["ERROR", "ERROR", "TERMINATED"]
    log = backend.read_log(outcome.job_id)
    assert f"[trial {entries[2]['trial_id']}] timed out after 4 s" in log


@pytest.mark.slow
def test_time_budget_stops_the_trials_still_running_and_says_how_many_ran(setup):
    backend, plugin, runs = setup
    outcome = run_tuning(backend, plugin, runs, GRID, time_budget_s=20)

    assert outcome.status == "SUCCEEDED", outcome.error
    result = outcome.result
    entries = {t["config"]["x"]: t for t in result["trial_models"]}
    assert result["trials"] == {"total": 3, "ran": 3, "errored": 0, "stopped": 2}
    assert "time_budget_s (20 s) ran out: 3 of 3 trials ran, 2 of them stopped" in result["note"]
    assert "status" not in entries[1] and {entries[2]["status"], entries[3]["status"]} == {"STOPPED"}
    # A stopped trial keeps the checkpoint of its last report.
    for x in (1, 2, 3):
        model = backend.get_model(entries[x]["model_id"])
        assert (backend.model_path(model.id) / "epoch.txt").read_text() == ("1" if x == 1 else "0")
    rows = latest_table(backend, outcome.job_id)["trials"]
    assert sorted(row["status"] for row in rows.values()) == ["STOPPED", "STOPPED", "TERMINATED"]
    assert "time_budget_s (20 s) ran out" in backend.read_log(outcome.job_id)


def _errors(**tune_config: object) -> list[str]:
    with pytest.raises(ValidationError, match="tune_config") as caught:
        parse_job(tuning_document(GRID, **tune_config))
    return [str(e) for e in caught.value.errors]


@pytest.mark.parametrize("field", ["trial_timeout_s", "time_budget_s"])
def test_time_limits_must_be_positive_numbers_of_seconds(field):
    assert _errors(**{field: 0}) == [
        f"params.tune_config.{field}: must be a positive number of seconds, e.g. "
        f"{3600 if field == 'trial_timeout_s' else 7200}, got 0; omit it for no limit"
    ]
    assert _errors(**{field: "60"}) == [f'params.tune_config.{field}: must be a number, got "60"']
    assert _errors(**{field: True}) == [f"params.tune_config.{field}: must be a number, got true"]
    assert getattr(parse_job(tuning_document(GRID, **{field: 2.5})).job.params.tune_config, field) == 2.5


@pytest.mark.slow
def test_validate_shows_the_time_limits(cli, tmp_path):
    path = tmp_path / "job.json"
    path.write_text(json.dumps(tuning_document(GRID, trial_timeout_s=600, time_budget_s=3600.5)))
    notices = cli("validate", path, "--json").json()["notices"]
    assert 'each trial: ERROR "timed out" after 600 s of wall clock (trial_timeout_s)' in notices
    assert "whole search: trials still running after 3600.5 s are stopped and the job ends (time_budget_s)" in notices

    path.write_text(json.dumps(tuning_document(GRID)))
    notices = cli("validate", path, "--json").json()["notices"]
    assert "each trial: no time limit (set tune_config.trial_timeout_s to add one)" in notices
    assert "whole search: no time budget (set tune_config.time_budget_s to add one)" in notices
