"""A tuning job checked into its plan once: what the plan holds, and every error when there is none."""

from __future__ import annotations

import pytest
from ray.tune.search.sample import Float

from conftest import tuning_params
from trainaction.errors import ValidationError
from trainaction.tuning.plan import plan_tuning

LR = {"name": "lr", "type": "loguniform", "min": 0.001, "max": 0.1, "base": 10}
OPTIMIZER = {"name": "optimizer", "type": "choice", "options": ["adam", "sgd"]}
EPOCHS = {"name": "epochs", "type": "randint", "min": 2, "max": 9}
BATCH = {"name": "batch_size", "type": "grid_search", "options": [16, 32, 64]}


def test_the_plan_holds_the_space_for_the_jobs_searcher_and_what_the_scheduler_needs() -> None:
    params = tuning_params(
        LR, OPTIMIZER, EPOCHS, search_alg="bayesoptsearch", scheduler="asha", num_samples=5, max_concurrent_trials=2
    )
    plan = plan_tuning(params)
    assert plan.searcher == "bayesoptsearch" and plan.space.searcher == "bayesoptsearch"
    assert [p.how for p in plan.space.params] == ["transformed", "transformed", "transformed"]
    assert plan.scheduler == "asha"
    assert plan.scheduler_options == {"time_attr": "training_iteration", "max_t": 9}
    assert plan.stop == {"training_iteration": 9} and plan.expected_reports == 9
    assert plan.mutations is None
    assert (plan.total_trials, plan.trials_at_once) == (5, 2)
    assert (plan.cpus_per_trial, plan.gpus_per_trial) == (1.0, 0.0)


def test_pbt_mutations_are_part_of_the_plan() -> None:
    plan = plan_tuning(tuning_params(LR, OPTIMIZER, EPOCHS, BATCH, scheduler="pbt", num_samples=2))
    assert plan.mutations is not None
    assert set(plan.mutations) == {"lr", "optimizer", "epochs"}  # never the grid
    assert plan.mutations["optimizer"] == ["adam", "sgd"]
    assert isinstance(plan.mutations["lr"], Float)
    assert plan.total_trials == 6


def test_resources_per_trial_come_from_the_job() -> None:
    plan = plan_tuning(tuning_params(LR, params={"num_cpus": 0.5, "num_gpus": 1}))
    assert (plan.cpus_per_trial, plan.gpus_per_trial) == (0.5, 1.0)


def test_every_error_of_every_part_at_once() -> None:
    params = tuning_params(
        LR,
        BATCH,
        search_alg={"name": "optunasearch", "options": {"bogus": 1}, "points_to_evaluate": [{"nope": 1}]},
        scheduler={"name": "asha", "options": {"grace_period": 2}},
        params={"num_cpus": 0},
    )
    with pytest.raises(ValidationError, match=r"error\(s\)") as info:
        plan_tuning(params)
    assert [e.path for e in info.value.errors] == [
        "params.hyperparameters[1]",
        "params.tune_config.search_alg.options.bogus",
        "params.tune_config.scheduler.options.max_t",
        "params.num_cpus",
        "params.tune_config.search_alg.points_to_evaluate[0].nope",
    ]


def test_options_ray_refuses_are_found_by_building_the_scheduler() -> None:
    params = tuning_params(LR, scheduler={"name": "hyperband", "options": {"max_t": 10, "reduction_factor": 1}})
    with pytest.raises(ValidationError, match="hyperband refuses these options") as info:
        plan_tuning(params)
    assert [e.path for e in info.value.errors] == ["params.tune_config.scheduler.options"]
