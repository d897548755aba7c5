"""Tuning jobs that must end and obey their config, on a real Ray (2 CPUs), through TrainAction.

The plugins are written like the reference's tune(): a checkpoint with every report, and (but for
the resuming one) no look at the ``checkpoint`` argument. Each call of tune() appends a line to a
file, so the tests can see when trials ran and how often tune() was started.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from trainaction.action import TrainAction
from trainaction.backend import LocalBackend
from trainaction.plugin import load_plugin
from trainaction.tables import latest_table
from trainaction.tuning.plan import plan_tuning
from trainaction.tuning.preview import tuning_preview
from trainaction.validation import parse_job

pytestmark = pytest.mark.slow  # tuning jobs on a real Ray instance

# Reports `accuracy` with a checkpoint every epoch; never reads `checkpoint`.
IGNORING_PLUGIN = """
    import json, time
    from pathlib import Path

    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        pass

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        from ray import tune
        log = Path(hyperparameter["log_dir"]) / "calls.jsonl"
        with log.open("a") as f:
            f.write(json.dumps({"trial": run.trial_id, "start": time.time(), "restored": checkpoint is not None}) + "\\n")
        folder = Path(run.output_dir) / "weights"
        folder.mkdir(parents=True, exist_ok=True)
        run.checkpoint_output = str(folder)
        for epoch in range(hyperparameter["epochs"]):
            time.sleep(hyperparameter.get("sleep", 0.05))
            (folder / "epoch.txt").write_text(str(epoch))
            tune.report({"accuracy": hyperparameter["lr"] * (epoch + 1)}, checkpoint=tune.Checkpoint.from_directory(str(folder)))
        with log.open("a") as f:
            f.write(json.dumps({"trial": run.trial_id, "end": time.time()}) + "\\n")
"""


@pytest.fixture
def tune_job(backend: LocalBackend, dataset_dir: Path, make_plugin, tmp_path: Path, ray_instance):
    """Run a tuning job in-process on the shared Ray; returns (outcome, calls, seconds)."""
    backend.add_dataset(dataset_dir, "data")
    log_dir = tmp_path / "log"
    log_dir.mkdir()

    def run(
        hyperparameters: list[dict[str, Any]], plugin: str = IGNORING_PLUGIN, num_cpus: float = 1.0, **tune_config: Any
    ):
        space = [*hyperparameters, {"name": "log_dir", "type": "choice", "options": [str(log_dir)]}]
        document = {
            "action": "train",
            "params": {
                "name": "sched",
                "dataset": 1,
                "is_tune": True,
                "num_cpus": num_cpus,
                "hyperparameters": space,
                "tune_config": {"metric": "accuracy", "mode": "max", **tune_config},
            },
        }
        job = parse_job(document).job
        action = TrainAction(backend, load_plugin(make_plugin(plugin)), work_root=tmp_path / "runs")
        started = time.monotonic()
        outcome = action.execute(job)
        seconds = time.monotonic() - started
        calls_file = log_dir / "calls.jsonl"
        calls = [json.loads(line) for line in calls_file.read_text().splitlines()] if calls_file.exists() else []
        calls_file.unlink(missing_ok=True)
        return outcome, calls, seconds

    return run


def _iterations(trial: dict[str, Any]) -> int:
    """The highest training_iteration Ray recorded for a trial (its result.json, one line a report)."""
    lines = (Path(trial["trial_logdir"]) / "result.json").read_text().splitlines()
    return max(json.loads(line)["training_iteration"] for line in lines)


def _max_overlap(calls: list[dict[str, Any]]) -> int:
    """The most tune() calls that were running at one moment."""
    edges = sorted([(c["start"], 1) for c in calls if "start" in c] + [(c["end"], -1) for c in calls if "end" in c])
    running = peak = 0
    for _, step in edges:  # at equal times the end (-1) sorts first: touching intervals do not overlap
        running += step
        peak = max(peak, running)
    return peak


@pytest.mark.parametrize("searcher", ["basicvariantgenerator", "hyperoptsearch"])
def test_max_concurrent_trials_holds_where_more_trials_would_fit(tune_job, searcher):
    space = [
        {"name": "epochs", "type": "choice", "options": [3]},
        {"name": "lr", "type": "uniform", "min": 0.1, "max": 1.0},
        {"name": "sleep", "type": "choice", "options": [0.5]},
    ]
    config = {"num_samples": 6, "max_concurrent_trials": 2, "seed": 3, "search_alg": searcher}
    # 0.25 CPU per trial: 8 would fit in Ray's 2 CPUs (and in this machine's, for the preview).
    outcome, calls, _ = tune_job(space, num_cpus=0.25, **config)
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.result["trials"] == {"total": 6, "ran": 6, "errored": 0}
    assert len([c for c in calls if "end" in c]) == 6
    assert _max_overlap(calls) <= 2, calls
    from conftest import tuning_params

    preview = tuning_preview(plan_tuning(tuning_params(*space, params={"num_cpus": 0.25}, **config)))
    assert preview["trials_at_once"] == 2


SPACE = [
    {"name": "epochs", "type": "randint", "min": 2, "max": 4},
    {"name": "lr", "type": "uniform", "min": 0.1, "max": 1.0},
]
SCHEDULERS = [
    {"name": "fifo"},
    {"name": "hyperband"},
    {"name": "asha", "options": {"grace_period": 1}},
    {"name": "median_stopping"},
    {"name": "pbt", "options": {"perturbation_interval": 1}},
]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("scheduler", SCHEDULERS, ids=lambda s: s["name"])
def test_every_scheduler_ends_with_a_tune_that_ignores_its_checkpoint(tune_job, backend, scheduler, capsys):
    # 4 trials, 2 at once: schedulers that pause or exploit trials have others waiting.
    outcome, calls, seconds = tune_job(SPACE, num_samples=4, seed=2, scheduler=scheduler)
    with capsys.disabled():
        print(
            f"\n[{scheduler['name']}] checkpoint-ignoring job: {seconds:.1f} s, {len([c for c in calls if 'start' in c])} tune() calls"
        )
    assert outcome.status == "SUCCEEDED", outcome.error
    rows = latest_table(backend, outcome.job_id)["trials"]
    assert {row["status"] for row in rows.values()} == {"TERMINATED"}, rows
    assert outcome.result["trials"]["ran"] == 4
    # Never more reports than max_t (the epochs maximum, 4), however often tune() was restarted.
    for trial in outcome.result["trial_models"]:
        assert _iterations(trial) <= 4, trial


def test_median_stopping_never_pauses_a_trial(tune_job):
    outcome, calls, _ = tune_job(SPACE, num_samples=4, seed=2, scheduler="median_stopping")
    assert outcome.status == "SUCCEEDED", outcome.error
    started = [c for c in calls if "start" in c]
    assert len(started) == 4 and not any(c["restored"] for c in started)  # each trial's tune() ran once


# Resumes from `checkpoint` (its epoch and the trial that wrote it), like examples/digits.
RESUMING_PLUGIN = """
    import json, time
    from pathlib import Path

    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        pass

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        from ray import tune
        start, origin = 0, None
        if checkpoint is not None:
            saved = json.loads((Path(checkpoint.path) / "state.json").read_text())
            start, origin = saved["epoch"] + 1, saved["trial"]
        log = Path(hyperparameter["log_dir"]) / "calls.jsonl"
        with log.open("a") as f:
            f.write(json.dumps({"trial": run.trial_id, "start": time.time(), "from": origin, "epoch": start}) + "\\n")
        for epoch in range(start, hyperparameter["epochs"]):
            folder = Path(run.output_dir) / f"epoch{epoch}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "state.json").write_text(json.dumps({"epoch": epoch, "trial": run.trial_id}))
            tune.report({"accuracy": hyperparameter["lr"] * (epoch + 1)}, checkpoint=tune.Checkpoint.from_directory(str(folder)))
"""


@pytest.mark.timeout(240)
def test_pbt_exploited_trials_go_on_from_the_donors_checkpoint(tune_job, backend):
    space = [
        {"name": "epochs", "type": "choice", "options": [6]},
        {"name": "lr", "type": "uniform", "min": 0.1, "max": 1.0},
    ]
    outcome, calls, _ = tune_job(
        space,
        RESUMING_PLUGIN,
        num_samples=4,
        seed=4,
        scheduler={"name": "pbt", "options": {"perturbation_interval": 2}},
    )
    assert outcome.status == "SUCCEEDED", outcome.error
    exploits = [c for c in calls if c["from"] is not None and c["from"] != c["trial"]]
    assert exploits, calls  # some trial went on from another trial's checkpoint
    assert all(c["epoch"] > 0 for c in exploits)  # and from its epoch, not from the start
    for trial in outcome.result["trial_models"]:
        assert _iterations(trial) == 6, trial  # max_t: the epochs maximum


# A tune() that reports one checkpoint, crashes, and crashes again at once whenever it is restored.
RESTART_LOOP_PLUGIN = """
    import json, time
    from pathlib import Path

    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        pass

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        from ray import tune
        log = Path(hyperparameter["log_dir"]) / "calls.jsonl"
        with log.open("a") as f:
            f.write(json.dumps({"trial": run.trial_id, "start": time.time(), "restored": checkpoint is not None}) + "\\n")
        if checkpoint is not None:
            raise RuntimeError("cannot load the checkpoint")
        folder = Path(run.output_dir) / "weights"
        folder.mkdir(parents=True, exist_ok=True)
        tune.report({"accuracy": 0.5}, checkpoint=tune.Checkpoint.from_directory(str(folder)))
        raise RuntimeError("lost the worker")
"""


@pytest.mark.timeout(240)
def test_watchdog_ends_a_trial_restarted_again_and_again_without_progress(tune_job):
    space = [{"name": "epochs", "type": "choice", "options": [1]}, {"name": "lr", "type": "choice", "options": [0.5]}]
    outcome, calls, _ = tune_job(space, RESTART_LOOP_PLUGIN, num_samples=1, max_failures=30)
    # Without the watchdog: 31 calls, the error "cannot load the checkpoint". Limit: 3 x 1 report,
    # so tune() runs on the first start and 3 restarts; the 4th restart ends the trial before tune().
    assert [c["restored"] for c in calls] == [False, True, True, True], calls
    assert outcome.status == "FAILED"  # its only trial is an ERROR trial
    assert "restarted from a checkpoint 4 times without its training_iteration getting past 1" in outcome.error
    assert "resume from the `checkpoint` argument" in outcome.error


TRAIN_REPORT_PLUGIN = """
    from pathlib import Path

    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        pass

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        import ray.train
        folder = Path(run.output_dir) / "weights"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.txt").write_text(str(hyperparameter["lr"]))
        ray.train.report({"loss": 0.25}, checkpoint=ray.train.Checkpoint.from_directory(str(folder)))
        ray.train.get_checkpoint()  # Ray Train's name for tune.get_checkpoint works too
        return {"accuracy": hyperparameter["lr"]}
"""


def test_ray_train_report_works_like_ray_tune_report(tune_job, backend):
    space = [{"name": "lr", "type": "grid_search", "options": [0.25, 0.75]}]
    outcome, _, _ = tune_job(space, TRAIN_REPORT_PLUGIN)
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.result["trials"]["errored"] == 0
    for trial in outcome.result["trial_models"]:
        assert trial["metrics"]["accuracy"] == trial["config"]["lr"] and trial["metrics"]["loss"] == 0.25  # merged
        model = backend.model_path(trial["model_id"])  # the reported checkpoint, uploaded
        assert float((model / "model.txt").read_text()) == trial["config"]["lr"]
    assert outcome.result["best_trial"]["config"]["lr"] == 0.75
