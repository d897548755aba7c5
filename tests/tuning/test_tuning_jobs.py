"""Tuning jobs on a real Ray instance (one per test session), through TrainAction."""

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
from trainaction.validation import parse_job

pytestmark = pytest.mark.slow  # tuning jobs on a real Ray instance

# The reference's tune() shape, unchanged: checkpoint_output set first, tune.report with a checkpoint.
REFERENCE_PLUGIN = """
    from pathlib import Path

    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        pass

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        from ray import tune
        output_path = Path(run.output_dir) / "weights"
        output_path.mkdir(parents=True, exist_ok=True)
        run.checkpoint_output = str(output_path)
        x = hyperparameter.get("x", 1.0)
        for epoch in range(hyperparameter.get("epochs", 2)):
            run.log_metric("training", "loss", abs(x - 3), epoch=epoch)
        (output_path / "model.txt").write_text(json.dumps(hyperparameter))
        results = {"accuracy": -abs(x - 3), "loss": abs(x - 3)}
        tune.report(results, checkpoint=tune.Checkpoint.from_directory(run.checkpoint_output))

    import json
"""

PER_EPOCH_PLUGIN = """
    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        pass

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        from ray import tune
        start = 0
        if checkpoint is not None and checkpoint.id is None:  # restored by Ray (PBT exploit, retry)
            start = int((checkpoint.path / "epoch.txt").read_text()) + 1
        for epoch in range(start, hyperparameter["epochs"]):
            folder = run.output_dir / f"epoch{epoch}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "epoch.txt").write_text(str(epoch))
            tune.report({"accuracy": hyperparameter["lr"] * (epoch + 1)}, checkpoint=tune.Checkpoint.from_directory(str(folder)))
"""


@pytest.fixture
def tune_job(backend: LocalBackend, dataset_dir: Path, make_plugin, tmp_path: Path, ray_instance):
    """Run a tuning job in-process on the shared Ray; returns (outcome, backend)."""
    backend.add_dataset(dataset_dir, "data")

    def run(hyperparameters: list[dict[str, Any]], plugin_source: str = REFERENCE_PLUGIN, **params: Any):
        tune_config = {"metric": "accuracy", "mode": "max", **params.pop("tune_config", {})}
        document = {
            "action": "train",
            "params": {
                "name": "tuning:job,1",
                "dataset": 1,
                "is_tune": True,
                "num_cpus": 0.5,
                "hyperparameters": hyperparameters,
                "tune_config": tune_config,
                **params,
            },
        }
        job = parse_job(document).job
        action = TrainAction(backend, load_plugin(make_plugin(plugin_source)), work_root=tmp_path / "runs")
        return action.execute(job)

    return run


def _trial_rows(backend: LocalBackend, job_id: int) -> dict[str, dict[str, Any]]:
    return latest_table(backend, job_id)["trials"]


def test_result_structure_models_and_best_trial(tune_job, backend):
    outcome = tune_job(
        [{"name": "x", "type": "grid_search", "options": [1.0, 2.5, 3.0, 5.0]}], tune_config={"num_samples": 2}
    )

    assert outcome.status == "SUCCEEDED", outcome.error
    result = outcome.result
    assert set(result) >= {"model_id", "best_trial", "trial_models", "best_rule", "trials"}
    assert result["trials"] == {"total": 8, "ran": 8, "errored": 0}
    assert result["best_rule"] == {"metric": "accuracy", "mode": "max", "scope": "last", "ties": "earlier trial"}
    best = result["best_trial"]
    assert set(best) == {"trial_id", "trial_logdir", "config", "metrics"}
    assert best["config"] == {"x": 3.0} and best["metrics"]["accuracy"] == 0.0
    assert Path(best["trial_logdir"]).is_dir()
    # The best trial is the first of the trials that tie on the best value.
    tied = [t["trial_id"] for t in result["trial_models"] if t["config"] == {"x": 3.0}]
    assert best["trial_id"] == tied[0]
    assert len(result["trial_models"]) == 8
    for trial in result["trial_models"]:
        assert set(trial) >= {"trial_id", "trial_logdir", "model_id", "config", "metrics"}
        model = backend.get_model(trial["model_id"])
        assert model.name == f"tuning%3Ajob%2C1-trial-{trial['trial_id']}"
        assert (model.trial_id, model.config, model.metrics["accuracy"]) == (
            trial["trial_id"],
            trial["config"],
            trial["metrics"]["accuracy"],
        )
        assert json.loads((backend.model_path(model.id) / "model.txt").read_text()) == trial["config"]
    assert result["model_id"] == next(
        t["model_id"] for t in result["trial_models"] if t["trial_id"] == best["trial_id"]
    )

    job = backend.get_job(outcome.job_id)
    assert job.best_trial == best["trial_id"]
    assert job.progress["trials"]["percent"] == 100.0 and job.progress_percent == 100.0
    table = latest_table(backend, outcome.job_id)
    assert table["best_trial"] == best["trial_id"]
    assert (
        table["base"] == ["status", "retries"]
        and table["hyperparameters"] == ["x"]
        and table["metrics"][0] == "accuracy"
    )
    assert {row["status"] for row in table["trials"].values()} == {"TERMINATED"}
    metrics = backend.list_events(outcome.job_id, "metric")
    assert {m.data["trial_id"] for m in metrics} == set(table["trials"])  # every event carries its trial


ALL_TYPES = [
    {"name": "u", "type": "uniform", "min": 0.1, "max": 0.2},
    {"name": "qu", "type": "quniform", "min": 0.0001, "max": 0.01},
    {"name": "lu", "type": "loguniform", "min": 0.0001, "max": 0.01, "base": 10},
    {"name": "qlu", "type": "qloguniform", "min": 0.0001, "max": 0.01, "base": 10},
    {"name": "n", "type": "randn", "mean": 0.0, "sd": 1.0},
    {"name": "qn", "type": "qrandn", "mean": 0.0, "sd": 1.0},
    {"name": "ri", "type": "randint", "min": 5, "max": 6},
    {"name": "qri", "type": "qrandint", "min": 5, "max": 15, "q": 5},
    {"name": "lri", "type": "lograndint", "min": 16, "max": 256, "base": 2},
    {"name": "qlri", "type": "qlograndint", "min": 16, "max": 256, "q": 16, "base": 2},
    {"name": "c", "type": "choice", "options": ["adam", "sgd"]},
    {"name": "g", "type": "grid_search", "options": [16, 32]},
]

SEEN_PLUGIN = """
    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        pass

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        run.log_message(repr(sorted((k, type(v).__name__, v) for k, v in hyperparameter.items())))
        return 1.0  # a number: the optimised metric
"""


def test_every_distribution_type_runs_with_basic_variant_generator(tune_job, backend):
    outcome = tune_job(ALL_TYPES, SEEN_PLUGIN, tune_config={"num_samples": 2})
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.result["trials"]["ran"] == 4  # 2 grid values × 2 samples
    for trial in outcome.result["trial_models"]:
        config = trial["config"]
        assert trial["metrics"]["accuracy"] == 1.0
        assert 0.1 <= config["u"] <= 0.2 and 0.0001 <= config["lu"] <= 0.01
        assert config["ri"] in (5, 6) and config["qri"] in (5, 10, 15) and 16 <= config["lri"] <= 256
        assert config["qlri"] % 16 == 0 and config["c"] in ("adam", "sgd") and config["g"] in (16, 32)
        assert all(isinstance(config[k], int) for k in ("ri", "qri", "lri", "qlri"))


@pytest.mark.parametrize("searcher", ["hyperoptsearch", "optunasearch", "bayesoptsearch"])
def test_model_based_searchers_run_the_whole_space_and_points_to_evaluate(tune_job, searcher):
    space = [
        {"name": "x", "type": "quniform", "min": 0.0, "max": 6.0, "q": 0.5},
        {"name": "lr", "type": "loguniform", "min": 0.0001, "max": 0.1, "base": 10},
        {"name": "layers", "type": "randint", "min": 1, "max": 3},
        {"name": "opt", "type": "choice", "options": ["adam", "sgd"]},
    ]
    point = {"x": 2.5, "lr": 0.001, "layers": 3, "opt": "sgd"}
    outcome = tune_job(
        space,
        tune_config={
            "num_samples": 6,
            "seed": 7,
            "search_alg": {"name": searcher, "points_to_evaluate": [point]},
        },
    )
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.result["trials"] == {"total": 6, "ran": 6, "errored": 0}
    configs = [t["config"] for t in outcome.result["trial_models"]]
    assert any(c == pytest.approx(point) or c == point for c in configs), configs
    for config in configs:
        assert config["x"] % 0.5 == 0 and 0 <= config["x"] <= 6 and 1 <= config["layers"] <= 3


def test_bayesopt_runs_num_samples_even_when_suggestions_repeat(tune_job):
    space = [
        {"name": "x", "type": "choice", "options": [1.0, 3.0]},
        {"name": "y", "type": "randint", "min": 1, "max": 2},
    ]
    outcome = tune_job(space, tune_config={"num_samples": 16, "seed": 1, "search_alg": "bayesoptsearch"})
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.result["trials"]["ran"] == 16 and "note" not in outcome.result


@pytest.mark.parametrize(
    "scheduler",
    [
        {"name": "hyperband"},
        {"name": "asha", "options": {"grace_period": 1}},
        {"name": "median_stopping"},
        {"name": "pbt", "options": {"perturbation_interval": 1}},
    ],
    ids=lambda s: s["name"],
)
def test_schedulers_finish_every_trial(tune_job, backend, scheduler):
    space = [
        {"name": "epochs", "type": "randint", "min": 2, "max": 4},
        {"name": "lr", "type": "uniform", "min": 0.1, "max": 1.0},
    ]
    outcome = tune_job(space, PER_EPOCH_PLUGIN, tune_config={"num_samples": 4, "seed": 2, "scheduler": scheduler})
    assert outcome.status == "SUCCEEDED", outcome.error
    statuses = {row["status"] for row in _trial_rows(backend, outcome.job_id).values()}
    assert statuses == {"TERMINATED"}, outcome.result["trial_models"]  # none PAUSED, none left PENDING
    assert outcome.result["trials"]["ran"] == 4


FLAKY_PLUGIN = """
    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        pass

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        from ray import tune
        run.log_metric("training", "started", 1.0)
        if hyperparameter["x"] == "bad":
            raise RuntimeError("this configuration diverged")
        tune.report({"accuracy": 0.5})
"""


def test_a_raising_trial_is_an_error_trial_and_the_job_succeeds(tune_job, backend):
    outcome = tune_job([{"name": "x", "type": "grid_search", "options": ["good", "bad", "fine"]}], FLAKY_PLUGIN)
    assert outcome.status == "SUCCEEDED", outcome.error
    errored = [t for t in outcome.result["trial_models"] if t.get("status") == "ERROR"]
    assert len(errored) == 1 and errored[0]["model_id"] is None
    assert "this configuration diverged" in errored[0]["error"]
    assert outcome.result["trials"] == {"total": 3, "ran": 3, "errored": 1}
    rows = _trial_rows(backend, outcome.job_id)
    assert sorted(row["status"] for row in rows.values()) == ["ERROR", "TERMINATED", "TERMINATED"]
    # Events logged by the failing trial before it raised are kept.
    started = [e.data["trial_id"] for e in backend.list_events(outcome.job_id, "metric")]
    assert errored[0]["trial_id"] in started


SILENT_PLUGIN = """
    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        pass

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        from ray import tune
        tune.report({"loss": 0.3})
"""


def test_tune_that_never_reports_the_metric_fails_the_job_clearly(tune_job, backend):
    outcome = tune_job(
        [{"name": "x", "type": "choice", "options": [1, 2]}], SILENT_PLUGIN, tune_config={"num_samples": 2}
    )
    assert outcome.status == "FAILED"
    assert "every trial failed" in outcome.error
    assert "never reported the optimised metric 'accuracy'" in outcome.error and "loss" in outcome.error
    assert "tune.report" in outcome.error
    assert backend.get_job(outcome.job_id).status == "FAILED"


RETURNING_PLUGIN = """
    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        pass

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        from ray import tune
        if hyperparameter["how"] == "dict":
            tune.report({"loss": 0.25})
            return {"accuracy": 0.75}
        if hyperparameter["how"] == "number":
            return 0.5
        tune.report({"accuracy": 0.25, "loss": 0.1})
"""


def test_return_values_are_normalised_and_merged(tune_job):
    outcome = tune_job(
        [{"name": "how", "type": "grid_search", "options": ["dict", "number", "report"]}], RETURNING_PLUGIN
    )
    assert outcome.status == "SUCCEEDED", outcome.error
    metrics = {t["config"]["how"]: t["metrics"] for t in outcome.result["trial_models"]}
    assert metrics["dict"]["accuracy"] == 0.75 and metrics["dict"]["loss"] == 0.25  # merged with what was reported
    assert metrics["number"]["accuracy"] == 0.5
    assert metrics["report"]["accuracy"] == 0.25


def test_a_trial_that_cannot_fit_fails_the_job_in_seconds(tune_job):
    started = time.monotonic()
    outcome = tune_job([{"name": "x", "type": "choice", "options": [1]}], num_gpus=1)
    assert outcome.status == "FAILED"
    assert "params.num_gpus" in outcome.error and "GPU" in outcome.error
    assert time.monotonic() - started < 30


def test_fractional_gpus_are_refused_on_a_cpu_cluster_too(tune_job):
    outcome = tune_job([{"name": "x", "type": "choice", "options": [1]}], num_gpus=0.5)
    assert outcome.status == "FAILED" and "0.5 GPU" in outcome.error


RETRY_PLUGIN = """
    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        pass

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        import os
        from pathlib import Path
        from ray import tune
        marker = Path(hyperparameter["marker_dir"]) / f"{run.trial_id}.crashed"
        folder = run.output_dir / "ckpt"
        folder.mkdir(parents=True, exist_ok=True)
        tune.report({"accuracy": 0.1}, checkpoint=tune.Checkpoint.from_directory(str(folder)))
        if not marker.exists():
            marker.write_text("once")
            raise RuntimeError("transient failure")
        assert checkpoint is not None and checkpoint.id is None  # resumed from the trial's own checkpoint
        tune.report({"accuracy": 0.9})
"""


def test_max_failures_retries_a_crashed_trial_from_its_checkpoint(tune_job, backend, tmp_path):
    space = [{"name": "marker_dir", "type": "choice", "options": [str(tmp_path)]}]
    outcome = tune_job(space, RETRY_PLUGIN, tune_config={"num_samples": 1, "max_failures": 1})
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.result["best_trial"]["metrics"]["accuracy"] == 0.9
    (row,) = _trial_rows(backend, outcome.job_id).values()
    assert row["status"] == "TERMINATED" and row["retries"] == 1
    assert "retries" in latest_table(backend, outcome.job_id)["base"]


def test_best_scope_best_uses_every_report(tune_job):
    space = [
        {"name": "epochs", "type": "choice", "options": [3]},
        {"name": "lr", "type": "grid_search", "options": [1.0, 2.0]},
    ]
    plugin = PER_EPOCH_PLUGIN.replace(
        '"accuracy": hyperparameter["lr"] * (epoch + 1)',
        '"accuracy": hyperparameter["lr"] * (3 - epoch) if hyperparameter["lr"] == 1.0 else 2.5',
    )
    last = tune_job(space, plugin, tune_config={"scope": "last"})
    best = tune_job(space, plugin, tune_config={"scope": "best"})
    assert last.result["best_trial"]["config"]["lr"] == 2.0  # last reports: 1.0 vs 2.5
    assert best.result["best_trial"]["config"]["lr"] == 1.0  # best reports: 3.0 vs 2.5
    assert best.result["best_rule"]["scope"] == "best"


def test_seed_makes_the_search_reproducible(tune_job):
    space = [{"name": "x", "type": "uniform", "min": 0.0, "max": 6.0}]
    config = {"num_samples": 4, "seed": 11, "search_alg": "hyperoptsearch"}
    first, second = tune_job(space, tune_config=config), tune_job(space, tune_config=config)
    configs = lambda outcome: sorted(t["config"]["x"] for t in outcome.result["trial_models"])  # noqa: E731
    assert configs(first) == configs(second)


TRIVIAL_PLUGIN = """
    def train(run, dataset, hyperparameter, checkpoint, **kwargs):
        pass

    def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
        return hyperparameter["x"]
"""


def test_a_thousand_trials_store_a_table_that_grows_linearly(tune_job, backend):
    outcome = tune_job(
        [{"name": "x", "type": "uniform", "min": 0.0, "max": 1.0}],
        TRIVIAL_PLUGIN,
        num_cpus=0.25,
        tune_config={"num_samples": 1000},
    )
    assert outcome.status == "SUCCEEDED", outcome.error
    table = latest_table(backend, outcome.job_id)
    assert len(table["trials"]) == 1000
    assert {row["status"] for row in table["trials"].values()} == {"TERMINATED"}
    events = backend.list_events(outcome.job_id, "trials")
    stored_rows = sum(len(e.data["trials"]) for e in events)
    stored_bytes = sum(len(json.dumps(e.data)) for e in events)
    # Each trial's row is stored a few times (start, result, end, final table), never once per snapshot.
    assert stored_rows <= 5 * 1000, stored_rows
    assert stored_bytes <= 5 * 1000 * 200, stored_bytes


@pytest.mark.parametrize("searcher", ["hyperoptsearch", "optunasearch", "bayesoptsearch"])
def test_every_type_a_searcher_accepts_runs_to_the_end(tune_job, searcher):
    from trainaction.tuning.compiler import compile_space

    plan = compile_space(
        parse_job(
            {
                "action": "train",
                "params": {
                    "name": "x",
                    "dataset": 1,
                    "is_tune": True,
                    "hyperparameters": ALL_TYPES,
                    "tune_config": {"metric": "m"},
                },
            }
        ).job.params.hyperparameters,
        searcher,
    )
    accepted = [spec for spec, p in zip(ALL_TYPES, plan.params, strict=True) if p.how != "refused"]
    outcome = tune_job(accepted, SEEN_PLUGIN, tune_config={"num_samples": 3, "seed": 5, "search_alg": searcher})
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.result["trials"] == {"total": 3, "ran": 3, "errored": 0}
    for trial in outcome.result["trial_models"]:
        config = trial["config"]
        assert set(config) == {spec["name"] for spec in accepted}
        assert config["qri"] in (5, 10, 15) and config["ri"] in (5, 6) and config["qlri"] % 16 == 0
