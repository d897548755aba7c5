"""The same ``tune_config.seed`` gives the same sequence of configurations, for every searcher that
takes a seed; a searcher that cannot be seeded says so.

Each searcher is built as a job builds it and driven in-process the way Ray Tune drives it
(suggest, then the result fed back, one trial at a time), past its random start-up trials so that its
model's proposals are compared too. The last test runs the same job twice through ``trainaction run``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, add_dataset, tuning_params
from trainaction.tuning.compiler import compile_space
from trainaction.tuning.searchers import SEARCHERS, build_searcher, searcher_notices

X = {"name": "x", "type": "uniform", "min": -5.0, "max": 10.0}
Y = {"name": "y", "type": "uniform", "min": 0.0, "max": 15.0}
UNITS = {"name": "units", "type": "qrandint", "min": 8, "max": 64, "q": 8}
TRIALS = 8


def objective(config: dict[str, Any]) -> float:
    return -((config["x"] - 1) ** 2) - (config["y"] - 2) ** 2 - config.get("units", 0) / 64


def configurations(search_alg: dict[str, Any], seed: int | None, *specs: dict[str, Any]) -> list[dict[str, Any]]:
    """The configurations the job's searcher proposes, one trial at a time, each result fed back."""
    params = tuning_params(*(specs or (X, Y)), search_alg=search_alg, seed=seed, num_samples=TRIALS)
    plan = compile_space(params.hyperparameters, search_alg["name"])
    searcher = build_searcher(params.tune_config, plan)
    if search_alg["name"] == "basicvariantgenerator":
        from ray.tune.experiment import Experiment

        searcher.add_configurations(
            [Experiment("seeds", lambda config: None, config=plan.param_space(), num_samples=TRIALS)]
        )
        return [searcher.next_trial().config for _ in range(TRIALS)]
    searcher.set_search_properties(None, None, plan.param_space())
    proposed = []
    for index in range(TRIALS):
        config = searcher.suggest(f"t{index}")
        proposed.append(config)
        searcher.on_trial_complete(f"t{index}", {"accuracy": objective(plan.decode(config))})
    return proposed


def optuna(sampler: str, **sampler_options: Any) -> dict[str, Any]:
    return {"name": "optunasearch", "options": {"sampler": sampler, "sampler_options": sampler_options}}


# Each with its model taking over after 3 trials or fewer, so that 8 trials compare the model's choices.
SEEDED: dict[str, dict[str, Any]] = {
    "basicvariantgenerator": {"name": "basicvariantgenerator"},
    "hyperoptsearch": {"name": "hyperoptsearch", "options": {"n_initial_points": 3}},
    "bayesoptsearch": {"name": "bayesoptsearch", "options": {"random_search_steps": 3}},
    "optunasearch-default": {"name": "optunasearch"},
    "optunasearch-tpe": optuna("tpe", multivariate=True, n_startup_trials=3),
    "optunasearch-gp": optuna("gp", n_startup_trials=3),
    "optunasearch-cmaes": optuna("cmaes"),
    "optunasearch-qmc": optuna("qmc", scramble=True),
    "optunasearch-random": optuna("random"),
}


def test_every_seedable_searcher_is_covered() -> None:
    seedable = {name for name, entry in SEARCHERS.items() if entry.seed_arg is not None}
    assert seedable == {case["name"] for case in SEEDED.values()}


@pytest.mark.slow  # the model-based ones fit their model on every trial: seconds each here
@pytest.mark.parametrize("case", list(SEEDED))
def test_same_seed_same_configurations(case: str) -> None:
    first = configurations(SEEDED[case], 42, X, Y, UNITS)
    assert configurations(SEEDED[case], 42, X, Y, UNITS) == first
    assert configurations(SEEDED[case], 43, X, Y, UNITS) != first, "the seed does not reach the searcher"


def test_unseeded_searches_differ() -> None:
    """Without a seed each run explores afresh (what a seed is there to prevent)."""
    assert configurations(SEEDED["optunasearch-random"], None) != configurations(SEEDED["optunasearch-random"], None)


class TestAxCannotBeSeeded:
    def test_rays_ax_adapter_takes_no_seed(self) -> None:
        from ray.tune.search.ax import AxSearch

        assert SEARCHERS["axsearch"].seed_arg is None
        assert not {"seed", "random_state", "random_seed"} & set(inspect.signature(AxSearch).parameters)

    def test_validate_says_the_seed_will_not_repeat_the_search(self) -> None:
        params = tuning_params(X, search_alg="axsearch", seed=3)
        assert (
            "axsearch cannot be seeded: Ray's adapter takes no seed, so tune_config.seed only fixes "
            "points_to_evaluate and two runs of this job will try different configurations"
        ) in searcher_notices(params.tune_config, params.hyperparameters)  # validate's notices, with ax installed

    def test_no_notice_without_a_seed(self) -> None:
        params = tuning_params(X, search_alg="axsearch")
        assert not any("cannot be seeded" in n for n in searcher_notices(params.tune_config, params.hyperparameters))


@pytest.mark.slow
def test_the_same_job_run_twice_tries_the_same_configurations(
    cli: Callable[..., Any], make_plugin: Callable[[str], Path], tmp_path: Path, dataset_dir: Path
) -> None:
    """End to end: multivariate TPE through ``trainaction run``, one trial at a time, twice."""
    job = {
        "action": "train",
        "params": {
            "name": "seeded",
            "dataset": 1,
            "is_tune": True,
            # Branin's domain, as the benchmark's plugin reads it
            "hyperparameters": [{**X, "name": "x1"}, {**Y, "name": "x2"}],
            "tune_config": {
                "metric": "value",
                "mode": "min",
                # Two random start-up trials, then two the model suggests: enough to repeat, or not.
                "num_samples": 4,
                "max_concurrent_trials": 1,
                "seed": 5,
                "search_alg": optuna("tpe", multivariate=True, n_startup_trials=2),
            },
        },
    }
    (tmp_path / "job.json").write_text(json.dumps(job))
    plugin = REPO / "benchmarks" / "plugins" / "synthetic"
    add_dataset(dataset_dir)
    tried = []
    for job_id in (1, 2):
        done = cli("run", tmp_path / "job.json", "--plugin", plugin, "--json", timeout=300)
        assert done.returncode == 0, done.stderr
        assert done.json()["status"] == "SUCCEEDED"
        rows = cli("trials", job_id, "--json").json()["trials"].values()
        assert [row["status"] for row in rows] == ["TERMINATED"] * 4
        tried.append([(row["x1"], row["x2"], row["value"]) for row in rows])
    assert tried[0] == tried[1]
    assert len(set(tried[0])) == 4
