"""optunasearch's sampler from JSON: options checked against the sampler's signature, the sampler
built as the options say, what validate shows, and the advice on random search.

Samplers and searchers are constructed and driven in-process; nothing starts Ray.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest

from conftest import tuning_params
from trainaction.tuning.advice import GP, RECOMMENDED
from trainaction.tuning.checks import tuning_errors
from trainaction.tuning.compiler import compile_space
from trainaction.tuning.plan import plan_tuning
from trainaction.tuning.preview import preview_lines, tuning_notices, tuning_preview
from trainaction.tuning.searchers import build_searcher

PATH = "params.tune_config.search_alg.options"
X = {"name": "x", "type": "uniform", "min": -5.0, "max": 10.0}
Y = {"name": "y", "type": "uniform", "min": 0.0, "max": 15.0}
TPE_SETTABLE = (
    "consider_endpoints, consider_magic_clip, consider_prior, constant_liar, group, multivariate, "
    "n_ei_candidates, n_startup_trials, prior_weight, warn_independent_sampling"
)


def optuna_job(sampler: str | None = None, seed: int | None = 7, num_samples: int = 10, **sampler_options: Any) -> Any:
    options: dict[str, Any] = {} if sampler is None else {"sampler": sampler}
    if sampler_options:
        options["sampler_options"] = sampler_options
    return tuning_params(
        X, Y, search_alg={"name": "optunasearch", "options": options}, seed=seed, num_samples=num_samples
    )


def errors_of(params: Any) -> dict[str, str]:
    return {
        error.path: error.message
        for error in tuning_errors(params, compile_space(params.hyperparameters, params.tune_config.search_alg.name))
    }


def built_sampler(params: Any) -> Any:
    return build_searcher(params.tune_config, compile_space(params.hyperparameters, "optunasearch"))._sampler


class TestSamplerErrors:
    def test_unknown_sampler_lists_the_known_ones(self) -> None:
        assert errors_of(optuna_job("bohb")) == {
            f"{PATH}.sampler": "unknown sampler 'bohb'; allowed: tpe, gp, cmaes, qmc, random"
        }

    def test_unknown_option_lists_the_settable_ones(self) -> None:
        assert errors_of(optuna_job("tpe", n_startup=3)) == {
            f"{PATH}.sampler_options.n_startup": f"unknown option for sampler 'tpe'; allowed: {TPE_SETTABLE}"
        }

    def test_options_without_a_sampler_are_tpe_options(self) -> None:
        assert errors_of(optuna_job(None, popsize=4)) == {
            f"{PATH}.sampler_options.popsize": f"unknown option for sampler 'tpe'; allowed: {TPE_SETTABLE}"
        }

    def test_each_sampler_checks_against_its_own_signature(self) -> None:
        assert errors_of(optuna_job("random", multivariate=True)) == {
            f"{PATH}.sampler_options.multivariate": "unknown option for sampler 'random'; allowed: none"
        }
        assert f"{PATH}.sampler_options.multivariate" in errors_of(optuna_job("cmaes", multivariate=True))

    @pytest.mark.parametrize(
        "sampler, option, value, expected",
        [
            ("tpe", "n_startup_trials", "5", "must be an integer, got '5'"),
            ("tpe", "n_startup_trials", True, "must be an integer, got True"),
            ("tpe", "n_startup_trials", 2.5, "must be an integer, got 2.5"),
            ("tpe", "multivariate", 1, "must be true/false or null, got 1"),
            ("tpe", "prior_weight", "high", "must be a number or null, got 'high'"),
            ("qmc", "qmc_type", 3, "must be a string, got 3"),
            ("cmaes", "x0", [1, 2], "must be an object or null, got [1, 2]"),
        ],
    )
    def test_wrong_types_are_refused(self, sampler: str, option: str, value: Any, expected: str) -> None:
        assert errors_of(optuna_job(sampler, **{option: value})) == {f"{PATH}.sampler_options.{option}": expected}

    def test_seed_inside_sampler_options_says_where_the_seed_goes(self) -> None:
        params = tuning_params(
            X, search_alg={"name": "optunasearch", "options": {"sampler": "gp", "sampler_options": {"seed": 1}}}
        )
        assert errors_of(params) == {
            f"{PATH}.sampler_options.seed": "set the seed with params.tune_config.seed; it seeds the sampler"
        }

    def test_options_that_take_python_objects_are_refused(self) -> None:
        message = errors_of(optuna_job("tpe", gamma=0.1))[f"{PATH}.sampler_options.gamma"]
        assert message.startswith("takes a Python object (Callable[[int], int] | None), which a JSON job cannot hold")
        assert message.endswith(f"allowed: {TPE_SETTABLE}")

    def test_values_optuna_refuses_are_reported_with_its_reason(self) -> None:
        message = errors_of(optuna_job("qmc", qmc_type="lattice"))[f"{PATH}.sampler_options"]
        assert message.startswith("optuna refused these options for 'qmc': ")
        assert "lattice" in message

    def test_deprecated_options_are_refused(self) -> None:
        message = errors_of(optuna_job("cmaes", restart_strategy="ipop"))[f"{PATH}.sampler_options"]
        assert "restart_strategy" in message and "deprecated" in message

    def test_gp_without_pytorch_says_what_to_install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "torch", None)  # what `import torch` meets where it is not installed
        assert errors_of(optuna_job("gp")) == {
            f"{PATH}.sampler": "sampler 'gp' needs torch: pip install 'trainaction[tune]' (PyTorch, CPU build)"
        }

    def test_sampler_options_must_be_an_object(self) -> None:
        params = tuning_params(
            X, search_alg={"name": "optunasearch", "options": {"sampler": "tpe", "sampler_options": [1]}}
        )
        assert errors_of(params) == {f"{PATH}.sampler_options": "must be an object of tpe options, got [1]"}

    @pytest.mark.parametrize(
        "sampler, options",
        [
            ("tpe", {"multivariate": True, "n_startup_trials": 5, "n_ei_candidates": 12}),
            ("gp", {"n_startup_trials": 4, "deterministic_objective": True}),
            ("cmaes", {"popsize": 6, "n_startup_trials": 2, "lr_adapt": True}),
            ("qmc", {"qmc_type": "halton", "scramble": True}),
            ("random", {}),
        ],
    )
    def test_valid_options_give_no_errors(self, sampler: str, options: dict[str, Any]) -> None:
        assert errors_of(optuna_job(sampler, **options)) == {}


class TestBuiltSampler:
    @pytest.mark.parametrize(
        "sampler, cls",
        [
            ("tpe", optuna.samplers.TPESampler),
            ("gp", optuna.samplers.GPSampler),
            ("cmaes", optuna.samplers.CmaEsSampler),
            ("qmc", optuna.samplers.QMCSampler),
            ("random", optuna.samplers.RandomSampler),
        ],
    )
    def test_the_named_sampler_is_built(self, sampler: str, cls: type) -> None:
        assert type(built_sampler(optuna_job(sampler))) is cls

    def test_no_sampler_is_tpe_as_ray_would_build_it(self) -> None:
        assert type(built_sampler(optuna_job())) is optuna.samplers.TPESampler

    def test_options_reach_the_sampler(self) -> None:
        sampler = built_sampler(optuna_job("qmc", qmc_type="halton", scramble=True))
        assert (sampler._qmc_type, sampler._scramble) == ("halton", True)

    def test_the_built_sampler_suggests_what_optuna_suggests_with_those_options(self) -> None:
        """Ray's searcher with our sampler and Optuna alone with a hand-built one propose the same points."""
        params = optuna_job("tpe", seed=11, multivariate=True, n_startup_trials=3)
        ours = build_searcher(params.tune_config, compile_space(params.hyperparameters, "optunasearch"))
        ours.set_search_properties(None, None, compile_space(params.hyperparameters, "optunasearch").param_space())
        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=11, multivariate=True, n_startup_trials=3)
        )
        distributions = {
            "x": optuna.distributions.FloatDistribution(-5.0, 10.0),
            "y": optuna.distributions.FloatDistribution(0.0, 15.0),
        }
        for index in range(8):
            proposed = ours.suggest(f"t{index}")
            trial = study.ask(distributions)
            assert proposed == trial.params
            value = -((proposed["x"] - 1) ** 2) - (proposed["y"] - 2) ** 2
            ours.on_trial_complete(f"t{index}", {"accuracy": value})
            study.tell(trial, value)

    def test_the_seed_goes_into_the_sampler(self) -> None:
        first, second = built_sampler(optuna_job("random", seed=5)), built_sampler(optuna_job("random", seed=5))
        assert first._rng.rng.random() == second._rng.rng.random()


class TestValidateShowsTheSampler:
    def test_preview_names_the_sampler_with_its_options_and_seed(self) -> None:
        preview = tuning_preview(plan_tuning(optuna_job("tpe", seed=3, multivariate=True)))
        assert preview["sampler"] == "optuna.samplers.TPESampler(multivariate=True, seed=3)"
        assert "optunasearch sampler: optuna.samplers.TPESampler(multivariate=True, seed=3)" in preview_lines(preview)

    def test_default_sampler_is_shown_too(self) -> None:
        assert tuning_preview(plan_tuning(optuna_job(seed=None)))["sampler"] == "optuna.samplers.TPESampler(seed=None)"

    def test_other_searchers_have_no_sampler(self) -> None:
        preview = tuning_preview(plan_tuning(tuning_params(X, search_alg="hyperoptsearch")))
        assert preview["sampler"] is None
        assert not any("sampler" in line for line in preview_lines(preview))


def random_search(*specs: dict[str, Any], num_samples: int = 40, **tune_config: Any) -> Any:
    return tuning_params(*specs, num_samples=num_samples, **tune_config)


class TestRandomSearchAdvice:
    def advice(self, params: Any) -> list[str]:
        return [notice for notice in tuning_notices(plan_tuning(params)) if notice.startswith("random search")]

    def test_random_search_on_a_sampled_space_is_told_the_recommended_searcher(self) -> None:
        (notice,) = self.advice(random_search(X, Y))
        assert notice.startswith("random search over 2 parameter(s) with num_samples=40: on Branin and Hartmann6 ")
        assert f'"search_alg": {RECOMMENDED} left ' in notice
        assert f"and {GP} " in notice  # only numeric parameters: GP did better still
        assert "benchmarks/search_quality.py" in notice

    def test_with_a_choice_only_the_recommended_tpe_is_advised(self) -> None:
        (notice,) = self.advice(random_search(X, {"name": "c", "type": "choice", "options": ["a", "b"]}))
        assert f'"search_alg": {RECOMMENDED} left ' in notice
        assert GP not in notice

    def test_explicit_basicvariantgenerator_gets_it_too(self) -> None:
        assert self.advice(random_search(X, Y, search_alg="basicvariantgenerator"))

    @pytest.mark.parametrize(
        "params",
        [
            pytest.param(lambda: random_search(X, Y, num_samples=10), id="too-few-trials"),
            pytest.param(
                lambda: random_search({"name": "b", "type": "grid_search", "options": [1, 2]}, X), id="grid-search"
            ),
            pytest.param(lambda: random_search({"name": "c", "type": "choice", "options": [1, 2]}), id="only-choices"),
            pytest.param(lambda: random_search({"name": "n", "type": "randn", "mean": 0, "sd": 1}, X), id="randn"),
            pytest.param(lambda: random_search(X, search_alg="optunasearch"), id="model-based-already"),
        ],
    )
    def test_no_advice_where_the_recommendation_was_not_measured_or_cannot_run(self, params: Any) -> None:
        assert self.advice(params()) == []

    def test_no_advice_beside_pbt(self) -> None:
        params = random_search(
            X, {"name": "epochs", "type": "randint", "min": 1, "max": 4}, scheduler={"name": "pbt", "options": {}}
        )
        assert self.advice(params) == []


def write_job(directory: Path, search_alg: dict[str, Any] | str, name: str = "job.json") -> Path:
    document = {
        "action": "train",
        "params": {
            "name": "sampled",
            "dataset": 1,
            "is_tune": True,
            "hyperparameters": [X, Y],
            "tune_config": {"metric": "value", "mode": "min", "num_samples": 40, "seed": 3, "search_alg": search_alg},
        },
    }
    path = directory / name
    path.write_text(json.dumps(document))
    return path


@pytest.mark.slow
class TestCli:
    BAD = {"name": "optunasearch", "options": {"sampler": "tpe", "sampler_options": {"multivariat": True}}}

    def test_validate_and_run_refuse_bad_sampler_options_with_exit_2(
        self, cli: Callable[..., Any], tmp_path: Path, make_plugin: Callable[[str], Path]
    ) -> None:
        job = write_job(tmp_path, self.BAD)
        plugin = make_plugin(
            """
            def train(run, dataset, hyperparameter, checkpoint, **kwargs):
                pass

            def tune(hyperparameter, run, dataset, checkpoint, **kwargs):
                return 0.0
            """
        )
        for done in (cli("validate", job), cli("run", job, "--plugin", plugin)):
            assert done.returncode == 2
            assert f"{PATH}.sampler_options.multivariat: unknown option for sampler 'tpe'; allowed:" in done.stderr
            assert "Traceback" not in done.stderr

    def test_validate_json_shows_the_sampler_that_will_run(self, cli: Callable[..., Any], tmp_path: Path) -> None:
        job = write_job(tmp_path, json.loads(RECOMMENDED))
        answer = cli("validate", job, "--json").json()
        assert answer["valid"] is True
        assert "optunasearch sampler: optuna.samplers.TPESampler(multivariate=True, seed=3)" in answer["notices"]

    def test_validate_advises_against_random_search(self, cli: Callable[..., Any], tmp_path: Path) -> None:
        done = cli("validate", write_job(tmp_path, "basicvariantgenerator"))
        assert done.returncode == 0
        assert "notice: random search over 2 parameter(s) with num_samples=40" in done.stderr
