"""What `validate` refuses or says about schedulers and searchers so that a tuning job always ends,
and how the searcher and the stop bound are built (no Ray cluster needed)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ray.tune.schedulers import MedianStoppingRule as RayMedianStoppingRule
from ray.tune.search import ConcurrencyLimiter
from ray.tune.search.basic_variant import BasicVariantGenerator

from conftest import tuning_params
from trainaction.errors import FieldError, ValidationError
from trainaction.job import SCHEDULERS, SEARCH_ALGORITHMS
from trainaction.tuning.compiler import compile_space
from trainaction.tuning.median import MedianStoppingRule
from trainaction.tuning.plan import plan_tuning
from trainaction.tuning.preview import tuning_notices
from trainaction.tuning.schedulers import build_scheduler, expected_reports, stop_criterion
from trainaction.tuning.searchers import build_searcher
from trainaction.tuning.watchdog import restart_limit

LR = {"name": "lr", "type": "uniform", "min": 0.0, "max": 1.0}
EPOCHS = {"name": "epochs", "type": "randint", "min": 2, "max": 6}
MODEL_BASED = [name for name in SEARCH_ALGORITHMS if name != "basicvariantgenerator"]
# Every pair Ray 2.60 refuses after it has started (PopulationBasedTraining.on_trial_add).
REFUSED = {(searcher, "pbt") for searcher in MODEL_BASED}


def tuning_errors(params: Any) -> list[FieldError]:
    """Every reason the job has no plan."""
    try:
        plan_tuning(params)
    except ValidationError as exc:
        return list(exc.errors)
    return []


def pair_errors(params: Any) -> dict[str, str]:
    return {e.path: e.message for e in tuning_errors(params) if e.path == "params.tune_config.scheduler.name"}


@pytest.mark.parametrize("searcher", SEARCH_ALGORITHMS)
@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_validate_refuses_exactly_the_pairs_ray_refuses(searcher: str, scheduler: str) -> None:
    params = tuning_params(LR, EPOCHS, search_alg=searcher, scheduler=scheduler)
    errors = pair_errors(params)
    if (searcher, scheduler) not in REFUSED:
        assert errors == {}
        return
    message = errors["params.tune_config.scheduler.name"]
    assert f"pbt cannot be used with search algorithm {searcher}" in message
    assert "Search algorithms cannot be used with PopulationBasedTraining" in message  # Ray's own words
    assert '"search_alg": "basicvariantgenerator"' in message and "another scheduler" in message  # the fixes


@pytest.mark.slow
def test_cli_validate_refuses_optuna_with_pbt(cli, tmp_path) -> None:
    document = {
        "action": "train",
        "params": {
            "name": "pair",
            "dataset": 1,
            "is_tune": True,
            "hyperparameters": [LR, EPOCHS],
            "tune_config": {"metric": "accuracy", "search_alg": "optunasearch", "scheduler": "pbt"},
        },
    }
    path = tmp_path / "job.json"
    path.write_text(json.dumps(document))
    done = cli("validate", path, "--json")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    errors = {e["path"]: e["message"] for e in done.json()["errors"]}
    assert "pbt cannot be used with search algorithm optunasearch" in errors["params.tune_config.scheduler.name"]


@pytest.mark.parametrize("option, value", [("hard_stop", False), ("min_time_slice", 2)])
def test_median_stopping_refuses_the_options_that_pause_trials(option: str, value: Any) -> None:
    params = tuning_params(LR, scheduler={"name": "median_stopping", "options": {option: value}})
    errors = {e.path: e.message for e in tuning_errors(params)}
    message = errors[f"params.tune_config.scheduler.options.{option}"]
    assert "restarts tune()" in message and "remove the option" in message


def test_median_stopping_is_rays_rule_with_hard_stop_and_no_time_slice() -> None:
    params = tuning_params(LR, scheduler={"name": "median_stopping", "options": {"grace_period": 2}})
    built = build_scheduler(plan_tuning(params))
    assert isinstance(built, MedianStoppingRule) and isinstance(built, RayMedianStoppingRule)
    assert built._hard_stop is True and built._min_time_slice == 0 and built._grace_period == 2


@pytest.mark.parametrize("max_t", [0, 2.5, "10", True])
def test_pbt_max_t_must_be_a_positive_whole_number(max_t: Any) -> None:
    params = tuning_params(LR, scheduler={"name": "pbt", "options": {"max_t": max_t}})
    errors = {e.path: e.message for e in tuning_errors(params)}
    assert "whole number of reports" in errors["params.tune_config.scheduler.options.max_t"]


def test_pbt_takes_max_t_as_its_own_option_and_ray_never_sees_it() -> None:
    params = tuning_params(LR, scheduler={"name": "pbt", "options": {"max_t": 7}})
    plan = plan_tuning(params)
    build_scheduler(plan)
    assert plan.stop == stop_criterion(params.tune_config, params.hyperparameters) == {"training_iteration": 7}


@pytest.mark.parametrize(
    "scheduler, stop",
    [
        ("fifo", None),
        ("median_stopping", None),
        ("hyperband", {"training_iteration": 6}),
        ("asha", {"training_iteration": 6}),
        ("pbt", {"training_iteration": 6}),
        ({"name": "asha", "options": {"time_attr": "time_total_s", "max_t": 30}}, {"time_total_s": 30}),
    ],
)
def test_stop_criterion_is_max_t_in_the_schedulers_time_unit(scheduler: Any, stop: Any) -> None:
    params = tuning_params(LR, EPOCHS, scheduler=scheduler)
    assert stop_criterion(params.tune_config, params.hyperparameters) == stop


def test_watchdog_limit_is_three_restarts_per_expected_report() -> None:
    params = tuning_params(LR, EPOCHS, scheduler={"name": "pbt", "options": {"max_t": 4}})
    assert expected_reports(params.tune_config, params.hyperparameters) == 4
    assert restart_limit(4) == 12
    fifo = tuning_params(LR, EPOCHS)
    assert expected_reports(fifo.tune_config, fifo.hyperparameters) == 6  # the epochs maximum
    assert restart_limit(None) == 30


def test_pbt_notice_says_trials_restart_from_checkpoints() -> None:
    notices = "\n".join(tuning_notices(plan_tuning(tuning_params(LR, EPOCHS, scheduler="pbt"))))
    assert "pbt restarts trials from checkpoints" in notices
    assert "resume from its `checkpoint` argument" in notices and "stops after 6 reports" in notices
    assert tuning_notices(plan_tuning(tuning_params(LR, EPOCHS, scheduler="asha"))) == []


@pytest.mark.parametrize("searcher", [name for name in SEARCH_ALGORITHMS if name != "axsearch"])  # ax: an extra
@pytest.mark.parametrize("limit", [None, 2])
def test_max_concurrent_trials_is_applied_by_every_searcher(searcher: str, limit: int | None) -> None:
    params = tuning_params(LR, search_alg=searcher, max_concurrent_trials=limit, num_samples=6)
    built = build_searcher(params.tune_config, compile_space(params.hyperparameters, searcher))
    if searcher == "basicvariantgenerator":
        assert isinstance(built, BasicVariantGenerator) and built.max_concurrent == (limit or 0)
    elif limit is None:
        assert not isinstance(built, ConcurrencyLimiter)
    else:
        assert isinstance(built, ConcurrencyLimiter) and built.max_concurrent == limit
