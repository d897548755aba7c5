"""Checks of a tuning job before Ray starts: searcher and scheduler options, points_to_evaluate,
notices, the validate preview; and the choice of the best trial and the trials table.

Searchers and schedulers are constructed (no Ray cluster needed); nothing calls ray.init or runs a Tuner.
"""

from __future__ import annotations

import importlib.util
import math
import random
from types import SimpleNamespace
from typing import Any

import pytest
from ray.tune.schedulers import (
    AsyncHyperBandScheduler,
    FIFOScheduler,
    HyperBandScheduler,
    PopulationBasedTraining,
    TrialScheduler,
)
from ray.tune.search.basic_variant import BasicVariantGenerator
from ray.tune.search.bayesopt import BayesOptSearch
from ray.tune.search.hyperopt import HyperOptSearch
from ray.tune.search.optuna import OptunaSearch
from ray.tune.search.sample import Float, Integer

from conftest import tuning_params
from trainaction.backend.base import JobRecord
from trainaction.errors import FieldError, NotFoundError, ValidationError
from trainaction.tables import best_training_job, fold_tables
from trainaction.tuning import preview as preview_module
from trainaction.tuning.best import select_best
from trainaction.tuning.compiler import SearchPlan, compile_space
from trainaction.tuning.plan import plan_tuning
from trainaction.tuning.preview import tuning_notices, tuning_preview
from trainaction.tuning.schedulers import (
    build_scheduler,
    pbt_mutations,
    rung_plan,
    scheduler_errors,
    scheduler_options,
)
from trainaction.tuning.searchers import build_searcher, searcher_errors
from trainaction.validation import parse_job

LR = {"name": "lr", "type": "uniform", "min": 0.0, "max": 1.0}
OPTIMIZER = {"name": "optimizer", "type": "choice", "options": ["adam", "sgd"]}
UNITS = {"name": "units", "type": "qrandint", "min": 8, "max": 64, "q": 8}
BATCH = {"name": "batch_size", "type": "grid_search", "options": [16, 32]}


def job_params(*hyperparameters: dict[str, Any], params: dict[str, Any] | None = None, **tune_config: Any) -> Any:
    return tuning_params(*(hyperparameters or [LR]), params=params, **tune_config)


def searcher(name: str, **options: Any) -> dict[str, Any]:
    return {"name": name, "options": options}


def scheduler(name: str, **options: Any) -> dict[str, Any]:
    return {"name": name, "options": options}


def by_path(errors: list[Any]) -> dict[str, str]:
    return {error.path: error.message for error in errors}


def tuning_errors(params: Any) -> list[FieldError]:
    """Every reason the job has no plan."""
    try:
        plan_tuning(params)
    except ValidationError as exc:
        return list(exc.errors)
    return []


def space_of(params: Any) -> SearchPlan:
    return compile_space(params.hyperparameters, params.tune_config.search_alg.name)


def preview_of(params: Any) -> dict[str, Any]:
    return tuning_preview(plan_tuning(params))


def notices_of(params: Any) -> list[str]:
    return tuning_notices(plan_tuning(params))


# --------------------------------------------------------------------------------------------
# searcher_errors
# --------------------------------------------------------------------------------------------

INSTALLED_SEARCHERS = ("basicvariantgenerator", "hyperoptsearch", "optunasearch", "bayesoptsearch")
SEED_ARGS = {
    "basicvariantgenerator": "random_state",
    "hyperoptsearch": "random_state_seed",
    "optunasearch": "seed",
    "bayesoptsearch": "random_state",
}
ALLOWED = {
    "basicvariantgenerator": "constant_grid_search",
    "hyperoptsearch": "gamma, n_initial_points",
    "optunasearch": "evaluated_rewards, sampler, sampler_options, storage, study_name",
    "bayesoptsearch": "analysis, patience, random_search_steps, repeat_float_precision, skip_duplicate, utility_kwargs, verbose",
}


class TestSearcherErrors:
    @pytest.mark.parametrize("name", INSTALLED_SEARCHERS)
    def test_unknown_option_lists_the_allowed_ones(self, name: str) -> None:
        params = job_params(search_alg=searcher(name, bogus=1))
        errors = searcher_errors(params.tune_config)
        assert len(errors) == 1
        assert errors[0].path == "params.tune_config.search_alg.options.bogus"
        assert errors[0].message == f"unknown option for {name}; allowed: {ALLOWED[name]}"

    @pytest.mark.parametrize("name", INSTALLED_SEARCHERS)
    def test_seed_through_options_points_to_tune_config_seed(self, name: str) -> None:
        seed_arg = SEED_ARGS[name]
        params = job_params(search_alg=searcher(name, **{seed_arg: 3}))
        errors = searcher_errors(params.tune_config)
        assert by_path(errors) == {
            f"params.tune_config.search_alg.options.{seed_arg}": f"set the seed with tune_config.seed, not options.{seed_arg}"
        }

    @pytest.mark.parametrize("name", INSTALLED_SEARCHERS)
    def test_options_set_from_the_job_itself_are_refused(self, name: str) -> None:
        params = job_params(search_alg=searcher(name, metric="loss", points_to_evaluate=[]))
        paths = {e.path for e in searcher_errors(params.tune_config)}
        assert paths == {
            "params.tune_config.search_alg.options.metric",
            "params.tune_config.search_alg.options.points_to_evaluate",
        }

    @pytest.mark.parametrize(
        "name, options",
        [
            ("basicvariantgenerator", {}),
            ("basicvariantgenerator", {"constant_grid_search": True}),
            ("hyperoptsearch", {"n_initial_points": 5}),
            ("optunasearch", {"study_name": "x"}),
            ("bayesoptsearch", {"patience": 3, "utility_kwargs": {"kind": "ucb", "kappa": 2.5, "xi": 0.0}}),
        ],
    )
    def test_valid_options_give_no_errors(self, name: str, options: dict[str, Any]) -> None:
        assert searcher_errors(job_params(search_alg=searcher(name, **options), seed=1).tune_config) == []

    @pytest.mark.skipif(importlib.util.find_spec("ax") is not None, reason="the ax package is installed here")
    def test_axsearch_without_ax_says_what_to_install(self) -> None:
        errors = searcher_errors(job_params(search_alg="axsearch").tune_config)
        assert len(errors) == 1
        assert errors[0].path == "params.tune_config.search_alg.name"
        assert "pip install 'trainaction[ax]'" in errors[0].message


# --------------------------------------------------------------------------------------------
# build_searcher
# --------------------------------------------------------------------------------------------


def built_searcher(name: str, *hyperparameters: dict[str, Any], **tune_config: Any) -> Any:
    params = job_params(*hyperparameters, search_alg=tune_config.pop("search_alg", name), **tune_config)
    return build_searcher(params.tune_config, compile_space(params.hyperparameters, name))


class TestBuildSearcher:
    @pytest.mark.parametrize(
        "name, cls",
        [
            ("basicvariantgenerator", BasicVariantGenerator),
            ("hyperoptsearch", HyperOptSearch),
            ("optunasearch", OptunaSearch),
            ("bayesoptsearch", BayesOptSearch),
        ],
    )
    def test_returns_the_ray_searcher(self, name: str, cls: type) -> None:
        assert isinstance(built_searcher(name, LR, seed=0), cls)

    def test_bayesopt_defaults_run_every_sample(self) -> None:
        built = built_searcher("bayesoptsearch", LR, num_samples=64)
        assert built._patience == 65
        assert built._skip_duplicate is False

    def test_bayesopt_user_options_override_the_defaults(self) -> None:
        built = built_searcher(
            "bayesoptsearch", LR, num_samples=64, search_alg=searcher("bayesoptsearch", patience=3, skip_duplicate=True)
        )
        assert built._patience == 3
        assert built._skip_duplicate is True

    def test_searcher_gets_metric_and_mode(self) -> None:
        built = built_searcher("optunasearch", LR, metric="loss", mode="min")
        assert (built.metric, built.mode) == ("loss", "min")

    def test_points_to_evaluate_are_given_in_the_searchers_coordinates(self) -> None:
        built = built_searcher(
            "bayesoptsearch",
            LR,
            OPTIMIZER,
            seed=0,
            search_alg={"name": "bayesoptsearch", "points_to_evaluate": [{"lr": 0.5, "optimizer": "sgd"}]},
        )
        assert built._points_to_evaluate == [{"lr": 0.5, "optimizer": 1.5}]  # sgd is option 1, searched by index

    def test_points_to_evaluate_missing_values_are_filled_deterministically(self) -> None:
        def points() -> list[dict[str, Any]]:
            built = built_searcher(
                "basicvariantgenerator",
                LR,
                OPTIMIZER,
                seed=7,
                search_alg={"name": "basicvariantgenerator", "points_to_evaluate": [{"optimizer": "adam"}]},
            )
            return list(built._points_to_evaluate)

        first = points()
        assert first == points()
        assert first[0]["optimizer"] == "adam" and 0.0 <= first[0]["lr"] <= 1.0


# --------------------------------------------------------------------------------------------
# scheduler_errors, scheduler_options, build_scheduler
# --------------------------------------------------------------------------------------------

EPOCHS_TO_MAX_T = [
    ({"name": "epochs", "type": "randint", "min": 1, "max": 20}, 20),
    ({"name": "epochs", "type": "choice", "options": [5, 10, 30]}, 30),
    ({"name": "epochs", "type": "grid_search", "options": [5, 30, 10]}, 30),
]


class TestSchedulerErrors:
    @pytest.mark.parametrize(
        "name, allowed",
        [
            ("fifo", "none"),
            ("hyperband", "max_t, reduction_factor, stop_last_trials, time_attr"),
            ("asha", "brackets, grace_period, max_t, reduction_factor, stop_last_trials, time_attr"),
            ("median_stopping", "grace_period, min_samples_required, time_attr"),
        ],
    )
    def test_unknown_option_lists_the_allowed_ones(self, name: str, allowed: str) -> None:
        params = job_params(LR, EPOCHS_TO_MAX_T[0][0], scheduler=scheduler(name, bogus=1))
        errors = scheduler_errors(params.tune_config, space_of(params))
        assert by_path(errors) == {
            "params.tune_config.scheduler.options.bogus": f"unknown option for {name}; allowed: {allowed}"
        }

    def test_pbt_unknown_option_and_reserved_mutations(self) -> None:
        params = job_params(LR, scheduler=scheduler("pbt", bogus=1, hyperparam_mutations={}))
        paths = {e.path for e in scheduler_errors(params.tune_config, space_of(params))}
        assert paths == {
            "params.tune_config.scheduler.options.bogus",
            "params.tune_config.scheduler.options.hyperparam_mutations",
            "params.tune_config.scheduler.options.max_t",
        }

    @pytest.mark.parametrize("name", ["hyperband", "asha", "pbt"])
    @pytest.mark.parametrize("epochs, max_t", EPOCHS_TO_MAX_T, ids=["randint", "choice", "grid"])
    def test_max_t_defaults_to_the_largest_epochs(self, name: str, epochs: dict[str, Any], max_t: int) -> None:
        params = job_params(LR, epochs, scheduler=name)
        assert scheduler_options(params.tune_config, params.hyperparameters)["max_t"] == max_t
        assert scheduler_errors(params.tune_config, space_of(params)) == []

    @pytest.mark.parametrize("name", ["hyperband", "asha", "pbt"])
    def test_explicit_max_t_wins_over_epochs(self, name: str) -> None:
        params = job_params(LR, EPOCHS_TO_MAX_T[0][0], scheduler=scheduler(name, max_t=7))
        assert scheduler_options(params.tune_config, params.hyperparameters)["max_t"] == 7

    def test_options_keep_our_defaults_under_the_jobs(self) -> None:
        params = job_params(LR, scheduler=scheduler("median_stopping", grace_period=5))
        assert scheduler_options(params.tune_config, params.hyperparameters) == {
            "time_attr": "training_iteration",
            "grace_period": 5,
        }

    @pytest.mark.parametrize("name", ["hyperband", "asha", "pbt"])
    def test_without_epochs_or_max_t_max_t_is_required(self, name: str) -> None:
        params = job_params(LR, OPTIMIZER, scheduler=name)
        assert "max_t" not in scheduler_options(params.tune_config, params.hyperparameters)
        errors = by_path(scheduler_errors(params.tune_config, space_of(params)))
        assert list(errors) == ["params.tune_config.scheduler.options.max_t"]
        assert name in errors["params.tune_config.scheduler.options.max_t"]
        assert "epochs" in errors["params.tune_config.scheduler.options.max_t"]

    def test_asha_grace_period_above_max_t_is_refused(self) -> None:
        params = job_params(LR, scheduler=scheduler("asha", max_t=10, grace_period=50))
        errors = scheduler_errors(params.tune_config, space_of(params))
        assert by_path(errors) == {
            "params.tune_config.scheduler.options": "asha refuses these options: grace_period must be <= max_t!"
        }

    def test_pbt_with_only_grid_search_is_refused(self) -> None:
        params = job_params(BATCH, scheduler=scheduler("pbt", max_t=4))
        errors = by_path(scheduler_errors(params.tune_config, space_of(params)))
        assert list(errors) == ["params.hyperparameters"]
        assert "grid_search" in errors["params.hyperparameters"]

    def test_valid_pbt_job_has_no_errors(self) -> None:
        params = job_params(LR, OPTIMIZER, BATCH, EPOCHS_TO_MAX_T[0][0], scheduler="pbt")
        assert scheduler_errors(params.tune_config, space_of(params)) == []

    @pytest.mark.parametrize("name", ["fifo", "median_stopping"])
    def test_schedulers_without_required_options_are_fine(self, name: str) -> None:
        params = job_params(LR, scheduler=name)
        assert scheduler_errors(params.tune_config, space_of(params)) == []


class TestBuildScheduler:
    @pytest.mark.parametrize(
        "name, cls",
        [("fifo", FIFOScheduler), ("hyperband", HyperBandScheduler), ("asha", AsyncHyperBandScheduler)],
    )
    def test_returns_the_ray_scheduler(self, name: str, cls: type) -> None:
        params = job_params(LR, EPOCHS_TO_MAX_T[0][0], scheduler=name)
        built = build_scheduler(plan_tuning(params))
        assert isinstance(built, cls)

    def test_pbt_mutates_every_parameter_but_grids(self) -> None:
        params = job_params(LR, OPTIMIZER, UNITS, BATCH, scheduler=scheduler("pbt", max_t=4))  # a plan needs max_t
        built = build_scheduler(plan_tuning(params))
        assert isinstance(built, PopulationBasedTraining)
        mutations = built._hyperparam_mutations
        assert set(mutations) == {"lr", "optimizer", "units"}
        assert mutations["optimizer"] == ["adam", "sgd"]  # a native choice mutates among its options
        assert isinstance(mutations["lr"], Float)
        assert isinstance(mutations["units"], Integer)
        assert built._perturbation_interval == 2

    def test_pbt_mutations_use_the_searchers_coordinates(self) -> None:
        params = job_params(LR, OPTIMIZER, UNITS, scheduler="pbt", search_alg="bayesoptsearch")
        mutations = pbt_mutations(compile_space(params.hyperparameters, "bayesoptsearch"))
        assert set(mutations) == {"lr", "optimizer", "units"}
        assert all(isinstance(domain, Float) for domain in mutations.values())  # transformed: uniform floats
        assert (mutations["optimizer"].lower, mutations["optimizer"].upper) == (0, 2)


# --------------------------------------------------------------------------------------------
# rung_plan
# --------------------------------------------------------------------------------------------


class TestRungPlan:
    def test_asha_rungs(self) -> None:
        params = job_params(LR, scheduler=scheduler("asha", max_t=100, grace_period=1, reduction_factor=4))
        rungs = rung_plan(plan_tuning(params))
        assert [r["at"] for r in rungs] == [1, 4, 16, 64, 100]
        assert all(r["keep"] == "top 1/4" for r in rungs[:-1])
        assert rungs[-1]["keep"] == "all that got here finish"

    def test_asha_defaults_and_epochs(self) -> None:
        params = job_params(LR, {"name": "epochs", "type": "choice", "options": [5, 10, 30]}, scheduler="asha")
        assert [r["at"] for r in rung_plan(plan_tuning(params))] == [1, 4, 16, 30]

    def test_hyperband_brackets(self) -> None:
        params = job_params(LR, {"name": "epochs", "type": "randint", "min": 1, "max": 20}, scheduler="hyperband")
        brackets = rung_plan(plan_tuning(params))
        # Ray rounds log3(20) = 2.7 up to 3: four brackets, the last (first rung at 20/27) too small to start.
        assert brackets == [
            {"bracket": 0, "trials": 4, "first_rung_at": 20, "rungs": 1, "milestones": [20]},
            {"bracket": 1, "trials": 6, "first_rung_at": 6, "rungs": 2, "milestones": [6, 18]},
            {"bracket": 2, "trials": 12, "first_rung_at": 2, "rungs": 3, "milestones": [2, 6, 18]},
        ]

    def test_hyperband_with_an_exact_power_of_the_factor(self) -> None:
        params = job_params(LR, scheduler=scheduler("hyperband", max_t=81, reduction_factor=3))
        brackets = rung_plan(plan_tuning(params))
        assert [b["rungs"] for b in brackets] == [1, 2, 3, 4, 5]  # log3(81) = 4 exactly, not 3.999…
        assert brackets[-1]["milestones"] == [1, 3, 9, 27, 81]

    @pytest.mark.parametrize(("max_t", "factor"), [(20, 3), (81, 3), (10, 2), (100, 4), (7, 3)])
    def test_hyperband_plan_is_what_rays_bookkeeping_does(self, max_t: int, factor: int) -> None:
        params = job_params(LR, scheduler=scheduler("hyperband", max_t=max_t, reduction_factor=factor))
        plan = rung_plan(plan_tuning(params))
        ray_scheduler = HyperBandScheduler(metric="accuracy", mode="max", max_t=max_t, reduction_factor=factor)
        for _ in range(sum(b["trials"] for b in plan)):
            ray_scheduler.on_trial_add(None, object())  # the bookkeeping only hashes the trial
        band = [bracket for bracket in ray_scheduler._hyperbands[0] if bracket is not None]
        assert [len(bracket.current_trials()) for bracket in band] == [b["trials"] for b in plan]
        ray_scheduler.on_trial_add(None, object())
        assert len(ray_scheduler._hyperbands) == 2, "the plan's trials fill exactly one band"
        for bracket, planned in zip(band, plan, strict=True):
            for rank, trial in enumerate(bracket.current_trials()):
                bracket._live_trials[trial] = {"accuracy": rank}
            milestones = [bracket._cumul_r]
            while bracket._halves > 0:
                bracket.successive_halving("accuracy", 1.0)
                milestones.append(bracket._cumul_r)
            assert milestones == planned["milestones"]

    @pytest.mark.parametrize(("max_t", "grace", "factor"), [(50, 2, 3), (100, 1, 4), (64, 1, 4), (30, 1, 4)])
    def test_asha_plan_is_where_rays_asha_stops_trials(self, max_t: int, grace: int, factor: int) -> None:
        params = job_params(LR, scheduler=scheduler("asha", max_t=max_t, grace_period=grace, reduction_factor=factor))
        rungs = [r["at"] for r in rung_plan(plan_tuning(params))]
        ray_scheduler = AsyncHyperBandScheduler(
            metric="accuracy", mode="max", max_t=max_t, grace_period=grace, reduction_factor=factor
        )
        # Trial 0 reports 0 throughout; trial k reports 1 (better) until rung k-1, then -1 (worse):
        # Ray must stop it exactly there, and let trial 0 run to max_t.
        stopped_at = []
        for index in range(len(rungs)):
            trial = SimpleNamespace(trial_id=f"t{index}")
            ray_scheduler.on_trial_add(None, trial)
            for iteration in range(1, max_t + 1):
                worse = index > 0 and iteration >= rungs[index - 1]
                result = {"accuracy": -1 if worse else min(index, 1), "training_iteration": iteration}
                if ray_scheduler.on_trial_result(None, trial, result) == TrialScheduler.STOP:
                    stopped_at.append(iteration)
                    break
        assert stopped_at == [max_t, *rungs[:-1]]

    @pytest.mark.parametrize("name", ["fifo", "median_stopping", "pbt"])
    def test_other_schedulers_have_no_rungs(self, name: str) -> None:
        params = job_params(LR, EPOCHS_TO_MAX_T[0][0], scheduler=name)  # epochs: pbt's max_t
        assert rung_plan(plan_tuning(params)) is None

    def test_no_plan_without_max_t(self) -> None:
        params = job_params(LR, scheduler="asha")
        with pytest.raises(ValidationError, match=r"asha needs max_t") as info:
            plan_tuning(params)
        assert [e.path for e in info.value.errors] == ["params.tune_config.scheduler.options.max_t"]


# --------------------------------------------------------------------------------------------
# tuning_errors: points_to_evaluate
# --------------------------------------------------------------------------------------------


def points_job(*points: dict[str, Any], **tune_config: Any) -> Any:
    return job_params(
        OPTIMIZER,
        LR,
        UNITS,
        BATCH,
        search_alg={"name": "basicvariantgenerator", "points_to_evaluate": list(points)},
        **tune_config,
    )


POINTS = "params.tune_config.search_alg.points_to_evaluate"


class TestPointErrors:
    def test_valid_points_give_no_errors(self) -> None:
        params = points_job({"optimizer": "sgd", "lr": 0.5, "units": 64}, {"lr": 0}, {"units": 8.0}, {})
        assert tuning_errors(params) == []

    def test_unknown_name(self) -> None:
        errors = by_path(tuning_errors(points_job({"lr": 0.1}, {"momentum": 0.9})))
        assert list(errors) == [f"{POINTS}[1].momentum"]
        assert "not a hyperparameter" in errors[f"{POINTS}[1].momentum"]
        assert "optimizer, lr, units, batch_size" in errors[f"{POINTS}[1].momentum"]

    def test_value_not_among_the_choice_options(self) -> None:
        errors = by_path(tuning_errors(points_job({"optimizer": "rmsprop"})))
        assert errors == {f"{POINTS}[0].optimizer": "'rmsprop' is not one of the options ['adam', 'sgd']"}

    @pytest.mark.parametrize(
        "name, value",
        [("lr", 1.5), ("lr", -0.1), ("units", 72), ("units", 0), ("units", 12)],
        ids=["lr-above", "lr-below", "units-above", "units-below", "units-off-grid"],
    )
    def test_value_out_of_range_or_off_the_grid(self, name: str, value: float) -> None:
        errors = by_path(tuning_errors(points_job({"optimizer": "adam"}, {name: value})))
        assert list(errors) == [f"{POINTS}[1].{name}"]
        assert "outside" in errors[f"{POINTS}[1].{name}"]

    def test_non_number_for_a_range(self) -> None:
        errors = by_path(tuning_errors(points_job({"lr": "fast"}, {"units": True})))
        assert errors == {
            f"{POINTS}[0].lr": "must be a number, got 'fast'",
            f"{POINTS}[1].units": "must be a number, got True",
        }

    def test_grid_parameter_in_a_point(self) -> None:
        errors = by_path(tuning_errors(points_job({"batch_size": 16})))
        assert list(errors) == [f"{POINTS}[0].batch_size"]
        assert "grid_search" in errors[f"{POINTS}[0].batch_size"]

    def test_every_bad_point_is_reported_at_its_index(self) -> None:
        errors = tuning_errors(points_job({"nope": 1}, {"optimizer": "x"}, {"lr": 2.0}, {"batch_size": 32}))
        assert [e.path for e in errors] == [
            f"{POINTS}[0].nope",
            f"{POINTS}[1].optimizer",
            f"{POINTS}[2].lr",
            f"{POINTS}[3].batch_size",
        ]

    def test_a_quantised_bound_is_a_valid_point(self) -> None:
        params = job_params(
            {"name": "x", "type": "quniform", "min": 0.3, "max": 1.0, "q": 0.1},
            search_alg={"name": "basicvariantgenerator", "points_to_evaluate": [{"x": 0.3}]},
        )
        assert tuning_errors(params) == []

    def test_tuning_errors_gathers_space_searcher_and_scheduler_errors(self) -> None:
        params = job_params(
            LR,
            BATCH,
            search_alg=searcher("optunasearch", bogus=1),
            scheduler="asha",
        )
        assert {e.path for e in tuning_errors(params)} == {
            "params.hyperparameters[1]",
            "params.tune_config.search_alg.options.bogus",
            "params.tune_config.scheduler.options.max_t",
        }


# --------------------------------------------------------------------------------------------
# tuning_notices
# --------------------------------------------------------------------------------------------


class TestNotices:
    def test_only_grids_with_several_samples_repeat(self) -> None:
        params = job_params(BATCH, {"name": "layers", "type": "grid_search", "options": [1, 2, 3]}, num_samples=3)
        notices = notices_of(params)
        assert len(notices) == 1
        assert "each of the 6 configurations will run 3 times" in notices[0]

    def test_a_random_parameter_means_no_repeats(self) -> None:
        assert notices_of(job_params(BATCH, LR, num_samples=3)) == []

    def test_one_sample_of_a_grid_is_no_repeat(self) -> None:
        assert notices_of(job_params(BATCH, num_samples=1)) == []


# --------------------------------------------------------------------------------------------
# tuning_preview
# --------------------------------------------------------------------------------------------


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> Any:
    """This machine, as the preview sees it: 8 CPUs, no GPU, no Ray cluster address."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(preview_module.os, "cpu_count", lambda: 8)
    gpus: list[str] = []
    monkeypatch.setattr(
        preview_module.glob, "glob", lambda pattern: list(gpus) if pattern.startswith("/dev/nvidia") else []
    )
    return gpus


class TestPreview:
    def test_total_trials_counts_grid_combinations_times_samples(self, machine: Any) -> None:
        params = job_params(BATCH, {"name": "layers", "type": "grid_search", "options": [1, 2, 3]}, num_samples=2)
        preview = preview_of(params)
        assert preview["total_trials"] == 12
        assert preview["cluster"] == "this machine"
        assert preview["cluster_resources"] == {"CPU": 8.0, "GPU": 0.0}
        assert preview["best_rule"] == {"metric": "accuracy", "mode": "max", "scope": "last", "ties": "earlier trial"}

    def test_space_says_how_the_chosen_searcher_sees_each_parameter(self, machine: Any) -> None:
        params = job_params(LR, OPTIMIZER, UNITS, search_alg="bayesoptsearch")
        preview = preview_of(params)
        assert preview["search_alg"] == "bayesoptsearch"
        assert set(preview["space"]) == {"lr", "optimizer", "units"}
        assert preview["space"]["lr"].startswith("native")
        assert "transformed" in preview["space"]["optimizer"]
        assert "transformed" in preview["space"]["units"]
        assert "native" in preview_of(job_params(UNITS, search_alg="basicvariantgenerator"))["space"]["units"]

    def test_rungs_for_hyperband(self, machine: Any) -> None:
        params = job_params(LR, {"name": "epochs", "type": "randint", "min": 1, "max": 20}, scheduler="hyperband")
        preview = preview_of(params)
        assert preview["scheduler"] == "hyperband"
        assert preview["rungs"] == rung_plan(plan_tuning(params))
        assert len(preview["rungs"]) == 3
        assert preview_of(job_params(LR))["rungs"] is None

    @pytest.mark.parametrize(
        "extra, tune_config, at_once",
        [
            ({}, {}, 8),
            ({"num_cpus": 2}, {}, 4),
            ({"num_cpus": 3}, {}, 2),
            ({"num_cpus": 0.5}, {}, 16),
            ({}, {"max_concurrent_trials": 3}, 3),
            ({"num_cpus": 2}, {"max_concurrent_trials": 3}, 3),
            ({"num_cpus": 2}, {"max_concurrent_trials": 6}, 4),
            ({}, {"num_samples": 5}, 5),  # never more than the trials there are
        ],
    )
    def test_trials_at_once(
        self, machine: Any, extra: dict[str, Any], tune_config: dict[str, Any], at_once: int
    ) -> None:
        tune_config.setdefault("num_samples", 20)
        preview = preview_of(job_params(LR, params=extra, **tune_config))
        assert preview["trials_at_once"] == at_once
        assert preview["resources_per_trial"] == {"CPU": float(extra.get("num_cpus", 1.0)), "GPU": 0.0}

    def test_a_gpu_trial_on_a_machine_without_gpus_runs_none_at_once(self, machine: Any) -> None:
        preview = preview_of(job_params(LR, params={"num_gpus": 1}, num_samples=4))
        assert preview["cluster_resources"]["GPU"] == 0.0
        assert preview["trials_at_once"] == 0

    def test_gpus_limit_trials_at_once(self, machine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        machine.extend(["/dev/nvidia0", "/dev/nvidia1"])
        assert preview_of(job_params(LR, params={"num_gpus": 1}, num_samples=20))["trials_at_once"] == 2
        assert preview_of(job_params(LR, params={"num_gpus": 0.5}, num_samples=20))["trials_at_once"] == 4
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
        assert preview_of(job_params(LR, params={"num_gpus": 1}, num_samples=20))["trials_at_once"] == 1


# --------------------------------------------------------------------------------------------
# select_best, fold_tables, best_training_job
# --------------------------------------------------------------------------------------------


class TestSelectBest:
    CANDIDATES = [("t0", 0.5), ("t1", 0.9), ("t2", 0.1), ("t3", 0.7)]

    def test_max(self) -> None:
        assert select_best(self.CANDIDATES, "max") == "t1"

    def test_min(self) -> None:
        assert select_best(self.CANDIDATES, "min") == "t2"

    @pytest.mark.parametrize("mode", ["max", "min"])
    def test_a_tie_goes_to_the_earlier_trial(self, mode: str) -> None:
        assert select_best([("t0", 0.2), ("t1", 0.5), ("t2", 0.5), ("t3", 0.2)], mode) == (
            "t1" if mode == "max" else "t0"
        )

    def test_shuffled_ties_keep_the_order_given(self) -> None:
        candidates = [(f"t{i}", 1.0) for i in range(10)]
        random.Random(0).shuffle(candidates)
        assert select_best(candidates, "max") == candidates[0][0]

    @pytest.mark.parametrize("mode", ["max", "min"])
    def test_empty_is_none(self, mode: str) -> None:
        assert select_best([], mode) is None

    @pytest.mark.parametrize("mode", ["max", "min"])
    def test_nan_is_never_the_best(self, mode: str) -> None:
        assert select_best([("t0", math.nan), ("t1", 0.5)], mode) == "t1"


EVENTS = [
    {
        "trials": {"a": {"status": "RUNNING", "lr": 0.1}, "b": {"status": "PENDING", "lr": 0.2}},
        "base": ["status"],
        "hyperparameters": ["lr"],
        "metrics": ["accuracy"],
        "best_trial": "",
    },
    {
        "trials": {"a": {"status": "TERMINATED", "lr": 0.1, "accuracy": 0.8}},
        "base": ["status"],
        "hyperparameters": ["lr"],
        "metrics": ["accuracy"],
        "best_trial": "a",
    },
    {
        "trials": {
            "b": {"status": "TERMINATED", "lr": 0.2, "accuracy": 0.6, "loss": 1.2},
            "c": {"status": "ERROR", "lr": 0.3},
        },
        "base": ["status", "retries"],
        "hyperparameters": ["lr"],
        "metrics": ["accuracy", "loss"],
        "best_trial": "",
    },
]


class TestFoldTables:
    def test_empty_is_none(self) -> None:
        assert fold_tables([]) is None

    def test_rows_are_updated_across_events(self) -> None:
        table = fold_tables(EVENTS)
        assert table is not None
        assert table["trials"] == {
            "a": {"status": "TERMINATED", "lr": 0.1, "accuracy": 0.8},
            "b": {"status": "TERMINATED", "lr": 0.2, "accuracy": 0.6, "loss": 1.2},
            "c": {"status": "ERROR", "lr": 0.3},
        }
        assert list(table["trials"]) == ["a", "b", "c"]  # first-seen order

    def test_best_trial_comes_from_the_last_event_that_has_one(self) -> None:
        assert fold_tables(EVENTS)["best_trial"] == "a"  # type: ignore[index]
        later = [*EVENTS, {"trials": {}, "best_trial": "b"}]
        assert fold_tables(later)["best_trial"] == "b"  # type: ignore[index]
        assert fold_tables(EVENTS[:1])["best_trial"] == ""  # type: ignore[index]

    def test_columns_come_from_the_last_event(self) -> None:
        table = fold_tables(EVENTS)
        assert table is not None
        assert table["base"] == ["status", "retries"]
        assert table["hyperparameters"] == ["lr"]
        assert table["metrics"] == ["accuracy", "loss"]

    def test_missing_columns_default(self) -> None:
        table = fold_tables([{"trials": {"a": {"status": "RUNNING"}}}])
        assert table == {
            "base": ["status"],
            "hyperparameters": [],
            "metrics": [],
            "trials": {"a": {"status": "RUNNING"}},
            "best_trial": "",
        }


def job_record(**params: Any) -> JobRecord:
    return JobRecord(
        id=7,
        action="train",
        params={"name": "exp", "dataset": 3, "is_tune": True, **params},
        name="exp",
        display_name="exp",
        status="SUCCEEDED",
        progress={},
        progress_percent=100.0,
        result=None,
        error=None,
        best_trial="b",
        created_at=0.0,
        started_at=0.0,
        finished_at=1.0,
    )


class TestBestTrainingJob:
    TABLE = {
        "base": ["status"],
        "hyperparameters": ["lr", "optimizer", "epochs"],
        "metrics": ["accuracy"],
        "trials": {
            "a": {"status": "TERMINATED", "lr": 0.1, "optimizer": "sgd", "epochs": 5, "accuracy": 0.7},
            "b": {"status": "TERMINATED", "lr": 0.01, "optimizer": "adam", "epochs": 10, "accuracy": 0.9},
        },
        "best_trial": "b",
    }

    def test_builds_a_training_job_with_the_best_hyperparameters(self) -> None:
        document = best_training_job(job_record(checkpoint=4), self.TABLE)
        assert document == {
            "action": "train",
            "params": {
                "name": "exp-best",
                "dataset": 3,
                "checkpoint": 4,
                "is_tune": False,
                "hyperparameter": {"lr": 0.01, "optimizer": "adam", "epochs": 10},
            },
        }
        job = parse_job(document).job  # a valid training job
        assert job.params.is_tune is False and job.params.hyperparameter == {
            "lr": 0.01,
            "optimizer": "adam",
            "epochs": 10,
        }

    def test_without_checkpoint_and_with_a_row_missing_a_column(self) -> None:
        table = {**self.TABLE, "trials": {"b": {"status": "TERMINATED", "lr": 0.01, "accuracy": 0.9}}}
        document = best_training_job(job_record(), table)
        assert document["params"]["checkpoint"] is None
        assert document["params"]["hyperparameter"] == {"lr": 0.01}

    def test_no_best_trial_is_not_found(self) -> None:
        with pytest.raises(NotFoundError, match=r"job 7 has no best trial"):
            best_training_job(job_record(), {**self.TABLE, "best_trial": ""})
