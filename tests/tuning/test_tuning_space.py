"""Compiling a job's search space for each searcher: Ray domains, inclusive integer bounds, the
native/transformed/refused matrix, decode/encode round trips and snapping.

Pure functions only: Ray domains are sampled with a seeded numpy generator, no Ray cluster starts.
"""

from __future__ import annotations

import collections
import math
import random
import statistics
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ray.tune.search.sample import Categorical, Float, Integer, LogUniform, Normal, Quantized, Uniform

from conftest import tuning_params
from trainaction.distributions import Distribution
from trainaction.tuning.compiler import compile_space, ray_domain, snap

SEARCHERS = ("basicvariantgenerator", "hyperoptsearch", "optunasearch", "bayesoptsearch", "axsearch")
INTEGER_TYPES = ("randint", "qrandint", "lograndint", "qlograndint")

# One example of every type, named after its type so that all twelve fit in one job.
EXAMPLES: dict[str, dict[str, Any]] = {
    "uniform": {"type": "uniform", "min": -1.0, "max": 1.0},
    "quniform": {"type": "quniform", "min": 0.0, "max": 1.0, "q": 0.05},
    "loguniform": {"type": "loguniform", "min": 1e-4, "max": 1e-2, "base": 10},
    "qloguniform": {"type": "qloguniform", "min": 1e-4, "max": 1e-2, "base": 10, "q": 5e-5},
    "randn": {"type": "randn", "mean": 0.0, "sd": 1.0},
    "qrandn": {"type": "qrandn", "mean": 0.0, "sd": 1.0, "q": 0.1},
    "randint": {"type": "randint", "min": 1, "max": 4},
    "qrandint": {"type": "qrandint", "min": 1, "max": 10, "q": 3},
    "lograndint": {"type": "lograndint", "min": 1, "max": 64, "base": 2},
    "qlograndint": {"type": "qlograndint", "min": 4, "max": 64, "base": 2, "q": 4},
    "choice": {"type": "choice", "options": ["adam", "sgd", "rmsprop"]},
    "grid_search": {"type": "grid_search", "options": [16, 32, 64]},
}
TYPES = list(EXAMPLES)

# Written out from the module docstring and the _NATIVE table, not computed from them.
EXPECTED_HOW: dict[str, dict[str, str]] = {
    "basicvariantgenerator": dict.fromkeys(TYPES, "native"),
    "hyperoptsearch": {
        **dict.fromkeys(TYPES, "native"),
        **dict.fromkeys(["randint", "qrandint", "lograndint", "qlograndint"], "transformed"),
        "grid_search": "refused",
    },
    "optunasearch": {
        **dict.fromkeys(["uniform", "quniform", "loguniform", "choice"], "native"),
        **dict.fromkeys(["qloguniform", "randint", "qrandint", "lograndint", "qlograndint"], "transformed"),
        **dict.fromkeys(["randn", "qrandn", "grid_search"], "refused"),
    },
    "bayesoptsearch": {
        **dict.fromkeys(TYPES, "transformed"),
        "uniform": "native",
        **dict.fromkeys(["randn", "qrandn", "grid_search"], "refused"),
    },
    "axsearch": {
        **dict.fromkeys(["uniform", "loguniform", "randint", "lograndint", "choice"], "native"),
        **dict.fromkeys(["quniform", "qloguniform", "qrandint", "qlograndint"], "transformed"),
        **dict.fromkeys(["randn", "qrandn", "grid_search"], "refused"),
    },
}


def job_params(*hyperparameters: dict[str, Any], **tune_config: Any) -> Any:
    return tuning_params(*hyperparameters, **tune_config)


def specs(*hyperparameters: dict[str, Any]) -> list[Any]:
    return list(job_params(*hyperparameters).hyperparameters)


def one(kind: str, name: str | None = None, **fields: Any) -> Any:
    """A single validated spec: the example of ``kind``, with ``fields`` replacing its own."""
    return specs({"name": name or kind, **EXAMPLES[kind], **fields})[0]


def all_specs(*kinds: str) -> list[Any]:
    return specs(*({"name": kind, **EXAMPLES[kind]} for kind in (kinds or TYPES)))


def sample(domain: Any, size: int, seed: int = 0) -> list[Any]:
    values = domain.sample(size=size, random_state=np.random.default_rng(seed))
    return list(values)


def decoded_samples(spec: Distribution, searcher: str, size: int, seed: int = 0) -> list[Any]:
    plan = compile_space([spec], searcher)
    raw = sample(plan.param_space()[spec.name], size, seed)
    return [plan.decode({spec.name: value})[spec.name] for value in raw]


def is_multiple(value: float, q: float) -> bool:
    return abs(value - round(value / q) * q) <= 1e-9 * max(abs(value), q)


def grid_values(spec: Distribution) -> set[int]:
    """Every value an integer spec allows: the multiples of q in [min, max]."""
    q = getattr(spec, "q", 1)
    return {k * q for k in range(math.ceil(spec.min / q), spec.max // q + 1)}


def inside(spec: Distribution, value: Any) -> bool:
    """Whether ``value`` is one the plugin may see for ``spec`` (bounds, grid, type)."""
    if spec.type in ("choice", "grid_search"):
        return value in spec.options
    if spec.type in ("randn", "qrandn"):
        ok = isinstance(value, float) and math.isfinite(value)
        return ok and (spec.type == "randn" or is_multiple(value, spec.q))
    if spec.type in INTEGER_TYPES:
        return type(value) is int and value in grid_values(spec)
    q = getattr(spec, "q", None)
    return isinstance(value, float) and spec.min <= value <= spec.max and (q is None or is_multiple(value, q))


# --------------------------------------------------------------------------------------------
# ray_domain: the Ray domain of each type
# --------------------------------------------------------------------------------------------


class TestRayDomain:
    def test_uniform(self) -> None:
        domain = ray_domain(one("uniform"))
        assert isinstance(domain, Float) and isinstance(domain.sampler, Uniform)
        assert (domain.lower, domain.upper) == (-1.0, 1.0)

    def test_quniform(self) -> None:
        domain = ray_domain(one("quniform"))
        assert isinstance(domain, Float) and isinstance(domain.sampler, Quantized)
        assert domain.sampler.q == 0.05
        assert isinstance(domain.sampler.sampler, Uniform)

    def test_loguniform(self) -> None:
        domain = ray_domain(one("loguniform"))
        assert isinstance(domain, Float) and isinstance(domain.sampler, LogUniform)
        assert (domain.lower, domain.upper) == (1e-4, 1e-2)

    def test_qloguniform_quantises_by_q_not_base(self) -> None:
        domain = ray_domain(one("qloguniform"))
        assert isinstance(domain, Float) and isinstance(domain.sampler, Quantized)
        assert domain.sampler.q == 5e-5  # the spec's q, not its base (10)
        assert isinstance(domain.sampler.sampler, LogUniform)

    def test_randn(self) -> None:
        domain = ray_domain(one("randn", mean=2.0, sd=0.5))
        assert isinstance(domain, Float) and isinstance(domain.sampler, Normal)
        assert (domain.sampler.mean, domain.sampler.sd) == (2.0, 0.5)

    def test_qrandn(self) -> None:
        domain = ray_domain(one("qrandn"))
        assert isinstance(domain, Float) and isinstance(domain.sampler, Quantized)
        assert domain.sampler.q == 0.1
        assert isinstance(domain.sampler.sampler, Normal)

    def test_randint(self) -> None:
        domain = ray_domain(one("randint"))
        assert isinstance(domain, Integer) and isinstance(domain.sampler, Uniform)
        assert (domain.lower, domain.upper) == (1, 5)  # Ray's upper is exclusive

    def test_qrandint(self) -> None:
        domain = ray_domain(one("qrandint"))
        assert isinstance(domain, Integer) and isinstance(domain.sampler, Quantized)
        assert domain.sampler.q == 3
        assert isinstance(domain.sampler.sampler, Uniform)

    def test_lograndint(self) -> None:
        domain = ray_domain(one("lograndint"))
        assert isinstance(domain, Integer) and isinstance(domain.sampler, LogUniform)
        assert (domain.lower, domain.upper) == (1, 65)

    def test_qlograndint_quantises_by_q_not_base(self) -> None:
        domain = ray_domain(one("qlograndint", base=2, q=4))
        assert isinstance(domain, Integer) and isinstance(domain.sampler, Quantized)
        assert domain.sampler.q == 4  # the spec's q, not its base (2)
        assert isinstance(domain.sampler.sampler, LogUniform)

    def test_choice(self) -> None:
        domain = ray_domain(one("choice"))
        assert isinstance(domain, Categorical)
        assert domain.categories == ["adam", "sgd", "rmsprop"]

    def test_grid_search(self) -> None:
        assert ray_domain(one("grid_search")) == {"grid_search": [16, 32, 64]}

    def test_every_type_is_covered(self) -> None:
        assert len(TYPES) == 12
        for spec in all_specs():
            assert ray_domain(spec) is not None


# --------------------------------------------------------------------------------------------
# Integer types: max is inclusive, everywhere
# --------------------------------------------------------------------------------------------

INTEGER_CASES = [
    pytest.param({"type": "randint", "min": 1, "max": 10}, id="randint"),
    pytest.param({"type": "qrandint", "min": 1, "max": 10, "q": 1}, id="qrandint-q1"),
    pytest.param({"type": "qrandint", "min": 1, "max": 20, "q": 3}, id="qrandint-q3"),
    pytest.param({"type": "lograndint", "min": 1, "max": 20, "base": 10}, id="lograndint"),
    pytest.param({"type": "qlograndint", "min": 1, "max": 20, "base": 10, "q": 1}, id="qlograndint-q1"),
    pytest.param({"type": "qlograndint", "min": 4, "max": 30, "base": 2, "q": 4}, id="qlograndint-q4"),
]


@pytest.mark.parametrize("fields", INTEGER_CASES)
def test_ray_domain_draws_every_integer_up_to_max(fields: dict[str, Any]) -> None:
    spec = specs({"name": "n", **fields})[0]
    values = sample(ray_domain(spec), 3000)
    expected = grid_values(spec)
    assert set(values) <= expected, f"outside [min, max] or off the q grid: {set(values) - expected}"
    assert max(values) == max(expected)  # max itself (or the largest multiple of q ≤ max) is drawn
    assert min(values) == min(expected)
    assert set(values) == expected


@pytest.mark.parametrize("searcher", SEARCHERS)
@pytest.mark.parametrize("fields", INTEGER_CASES)
def test_param_space_decodes_every_integer_up_to_max(fields: dict[str, Any], searcher: str) -> None:
    spec = specs({"name": "n", **fields})[0]
    plan = compile_space([spec], searcher)
    domain = plan.param_space()["n"]
    if plan.params[0].how == "transformed":
        assert isinstance(domain, Float) and isinstance(domain.sampler, Uniform)
        assert not isinstance(domain.sampler, LogUniform)
    values = decoded_samples(spec, searcher, 3000)
    assert all(type(v) is int for v in values)
    assert set(values) == grid_values(spec)


@pytest.mark.parametrize("searcher", SEARCHERS)
@pytest.mark.parametrize(
    "fields",
    [
        {"type": "randint", "min": 1, "max": 4},
        {"type": "qrandint", "min": 1, "max": 4, "q": 1},
        {"type": "qrandint", "min": 1, "max": 12, "q": 3},
    ],
    ids=["randint", "qrandint-q1", "qrandint-q3"],
)
def test_uniform_integers_are_equally_likely(fields: dict[str, Any], searcher: str) -> None:
    spec = specs({"name": "n", **fields})[0]
    size = 3000
    counts = collections.Counter(decoded_samples(spec, searcher, size))
    share = size / len(grid_values(spec))
    assert set(counts) == grid_values(spec)
    for value, count in counts.items():
        assert 0.5 * share <= count <= 1.5 * share, f"{value} drawn {count} times, expected about {share:.0f}"


def test_transformed_integer_bounds_are_one_past_max() -> None:
    """The uniform float covers [min, max + 1) so that flooring gives max its full share."""
    plan = compile_space(specs({"name": "n", "type": "randint", "min": 1, "max": 4}), "bayesoptsearch")
    domain = plan.param_space()["n"]
    assert (domain.lower, domain.upper) == (1, 5)
    assert plan.decode({"n": 4.999}) == {"n": 4}
    assert plan.decode({"n": 5.0}) == {"n": 4}  # a searcher proposing the upper bound itself is clamped
    assert plan.decode({"n": 1.0}) == {"n": 1}


# --------------------------------------------------------------------------------------------
# Float types
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("searcher", SEARCHERS)
@pytest.mark.parametrize("kind", ["uniform", "loguniform"])
def test_continuous_floats_stay_in_bounds(kind: str, searcher: str) -> None:
    spec = one(kind)
    values = decoded_samples(spec, searcher, 1000)
    assert all(isinstance(v, float) and spec.min <= v <= spec.max for v in values)
    assert len(set(values)) > 900  # continuous: not collapsed onto a grid


@pytest.mark.parametrize("searcher", SEARCHERS)
@pytest.mark.parametrize(
    "fields",
    [
        {"type": "quniform", "min": 0.0, "max": 1.0, "q": 0.05},
        {"type": "quniform", "min": 0.3, "max": 2.7, "q": 0.1},
        {"type": "quniform", "min": 0.01, "max": 0.99},  # default q
        {"type": "qloguniform", "min": 1e-4, "max": 1e-2, "base": 10, "q": 5e-5},
        {"type": "qloguniform", "min": 0.5, "max": 20.0, "base": 2, "q": 0.25},
        {"type": "qloguniform", "min": 1e-3, "max": 1.0, "base": 10},  # default q
    ],
    ids=lambda f: f"{f['type']}-q{f.get('q', 'default')}-min{f['min']}",
)
def test_quantised_floats_are_multiples_of_q_in_bounds(fields: dict[str, Any], searcher: str) -> None:
    spec = specs({"name": "x", **fields})[0]
    values = decoded_samples(spec, searcher, 1000)
    assert all(isinstance(v, float) for v in values)
    assert all(spec.min <= v <= spec.max for v in values), [v for v in values if not spec.min <= v <= spec.max]
    assert all(is_multiple(v, spec.q) for v in values), [v for v in values if not is_multiple(v, spec.q)]
    assert len(set(values)) > 1


def test_loguniform_under_bayesopt_is_searched_in_log_space() -> None:
    spec = one("loguniform", min=1e-4, max=1e-2)
    plan = compile_space([spec], "bayesoptsearch")
    assert plan.params[0].how == "transformed"
    domain = plan.param_space()["loguniform"]
    assert isinstance(domain, Float) and isinstance(domain.sampler, Uniform)
    assert (domain.lower, domain.upper) == pytest.approx((-4, -2))
    values = decoded_samples(spec, "bayesoptsearch", 2000)
    median = statistics.median(values)
    assert 1e-3 / 1.5 <= median <= 1e-3 * 1.5, median  # log-uniform: the median is the geometric mean
    below = sum(v < 1e-3 for v in values) / len(values)
    assert 0.4 <= below <= 0.6


@pytest.mark.parametrize("base", [2, 10, math.e])
def test_log_base_does_not_change_the_loguniform_distribution(base: float) -> None:
    spec = one("loguniform", min=1e-4, max=1e-2, base=base)
    values = decoded_samples(spec, "bayesoptsearch", 2000)
    assert 1e-3 / 1.5 <= statistics.median(values) <= 1e-3 * 1.5


@pytest.mark.parametrize("searcher", ["basicvariantgenerator", "hyperoptsearch"])
@pytest.mark.parametrize("kind", ["randn", "qrandn"])
def test_normals_are_sampled_natively(kind: str, searcher: str) -> None:
    spec = one(kind, mean=5.0, sd=2.0)
    values = decoded_samples(spec, searcher, 2000)
    assert all(isinstance(v, float) for v in values)
    assert statistics.mean(values) == pytest.approx(5.0, abs=0.2)
    assert statistics.stdev(values) == pytest.approx(2.0, rel=0.1)
    if kind == "qrandn":
        assert all(is_multiple(v, spec.q) for v in values)


# --------------------------------------------------------------------------------------------
# The searcher × type matrix
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("searcher", SEARCHERS)
def test_how_each_searcher_sees_each_type(searcher: str) -> None:
    plan = compile_space(all_specs(), searcher)
    assert plan.searcher == searcher
    assert {p.spec.type: p.how for p in plan.params} == EXPECTED_HOW[searcher]


@pytest.mark.parametrize("searcher", SEARCHERS)
def test_native_plans_use_ray_domain_and_transformed_plans_a_uniform_float(searcher: str) -> None:
    for plan in compile_space(all_specs(), searcher).params:
        if plan.how == "native":
            expected = ray_domain(plan.spec)
            assert type(plan.domain) is type(expected)
            assert plan.decode is None and plan.encode is None
        elif plan.how == "transformed":
            assert isinstance(plan.domain, Float) and isinstance(plan.domain.sampler, Uniform)
            assert not isinstance(plan.domain.sampler, (LogUniform, Quantized))
            assert plan.decode is not None and plan.encode is not None
        else:
            assert plan.domain is None


def test_nothing_is_refused_by_basicvariantgenerator() -> None:
    assert compile_space(all_specs(), "basicvariantgenerator").errors() == []


@pytest.mark.parametrize("searcher", [s for s in SEARCHERS if s != "basicvariantgenerator"])
def test_grid_search_is_refused_with_choice_as_the_alternative(searcher: str) -> None:
    hyperparameters = specs(
        {"name": "lr", **EXAMPLES["uniform"]}, {"name": "batch_size", "type": "grid_search", "options": [16, 32]}
    )
    errors = compile_space(hyperparameters, searcher).errors()
    assert len(errors) == 1
    assert errors[0].path == "params.hyperparameters[1]"
    assert "'batch_size'" in errors[0].message
    assert "'choice'" in errors[0].message and "basicvariantgenerator" in errors[0].message
    assert searcher in errors[0].message


@pytest.mark.parametrize("searcher", ["optunasearch", "bayesoptsearch", "axsearch"])
@pytest.mark.parametrize("kind", ["randn", "qrandn"])
def test_normals_are_refused_by_bounded_searchers_with_uniform_as_the_alternative(kind: str, searcher: str) -> None:
    hyperparameters = specs(
        {"name": "lr", **EXAMPLES["uniform"]},
        {"name": "optimizer", **EXAMPLES["choice"]},
        {"name": "noise", "type": kind, "mean": 1.0, "sd": 0.5},
    )
    errors = compile_space(hyperparameters, searcher).errors()
    assert [e.path for e in errors] == ["params.hyperparameters[2]"]
    message = errors[0].message
    assert "'noise'" in message and "'uniform'" in message
    assert "[-0.5, 2.5]" in message  # mean ± 3 sd
    assert "hyperoptsearch" in message


@pytest.mark.parametrize("searcher", ["hyperoptsearch", "basicvariantgenerator"])
def test_normals_are_native_for_searchers_that_sample_them(searcher: str) -> None:
    plan = compile_space(all_specs("randn", "qrandn"), searcher)
    assert [p.how for p in plan.params] == ["native", "native"]
    assert plan.errors() == []


def test_every_refusal_is_reported_at_its_own_index() -> None:
    plan = compile_space(all_specs(), "axsearch")
    assert [e.path for e in plan.errors()] == [
        f"params.hyperparameters[{TYPES.index(kind)}]" for kind in ("randn", "qrandn", "grid_search")
    ]


def test_describe_names_how_each_parameter_is_searched() -> None:
    described = compile_space(all_specs(), "bayesoptsearch").describe()
    assert set(described) == set(TYPES)
    assert described["uniform"].startswith("native:")
    assert described["loguniform"].startswith("transformed:") and "log10 space" in described["loguniform"]
    assert described["choice"].startswith("transformed:") and "index" in described["choice"]
    assert described["randint"].startswith("transformed:")
    assert described["grid_search"].startswith("refused:")


# --------------------------------------------------------------------------------------------
# decode/encode
# --------------------------------------------------------------------------------------------


def test_choice_under_bayesopt_decodes_to_every_option() -> None:
    spec = one("choice")
    plan = compile_space([spec], "bayesoptsearch")
    assert plan.params[0].how == "transformed"
    counts = collections.Counter(decoded_samples(spec, "bayesoptsearch", 1500))
    assert set(counts) == {"adam", "sgd", "rmsprop"}
    assert all(350 <= count <= 650 for count in counts.values()), counts
    assert plan.decode({"choice": 3.0}) == {"choice": "rmsprop"}  # the upper bound itself stays in range


# Valid values of each type, to be carried through encode → decode unchanged.
ROUND_TRIP_VALUES: dict[str, list[Any]] = {
    "choice": ["adam", "sgd", "rmsprop"],
    "quniform": [0.0, 0.05, 0.35, 0.95, 1.0],
    "qloguniform": [1e-4, 1.5e-4, 1e-3, 4.2e-3, 1e-2],
    "randint": [1, 2, 3, 4],
    "qrandint": [3, 6, 9],
    "lograndint": [1, 2, 3, 17, 63, 64],
    "qlograndint": [4, 8, 12, 60, 64],
    "loguniform": [1e-4, 3e-4, 1e-3, 4.2e-3, 1e-2],
    "uniform": [-1.0, 0.0, 0.25, 1.0],
}


@pytest.mark.parametrize("searcher", SEARCHERS)
def test_encode_then_decode_returns_the_point(searcher: str) -> None:
    kinds = [k for k in TYPES if EXPECTED_HOW[searcher][k] != "refused"]
    plan = compile_space(all_specs(*kinds), searcher)
    grid = {"grid_search": 32} if "grid_search" in kinds else {}  # Ray resolves grids itself
    for index in range(6):
        point = {k: values[index % len(values)] for k, values in ROUND_TRIP_VALUES.items() if k in kinds}
        decoded = plan.decode({**plan.encode(point, random.Random(0)), **grid})
        for kind, value in point.items():
            if kind == "loguniform" and EXPECTED_HOW[searcher][kind] == "transformed":
                # base**log(v) is exact only to a few ulps
                assert decoded[kind] == pytest.approx(value, rel=1e-12)
            else:
                assert decoded[kind] == value, (kind, value, decoded[kind])
                assert type(decoded[kind]) is type(value)


@pytest.mark.parametrize(
    "kind", ["choice", "quniform", "qloguniform", "randint", "qrandint", "lograndint", "qlograndint", "loguniform"]
)
def test_every_transformed_type_round_trips_under_bayesopt(kind: str) -> None:
    spec = one(kind)
    plan = compile_space([spec], "bayesoptsearch")
    assert plan.params[0].how == "transformed"
    for value in ROUND_TRIP_VALUES[kind]:
        encoded = plan.encode({kind: value}, random.Random(0))
        lower, upper = plan.params[0].domain.lower, plan.params[0].domain.upper
        assert lower <= encoded[kind] <= upper  # a point the searcher can hold
        decoded = plan.decode(encoded)[kind]
        if kind == "loguniform":
            assert decoded == pytest.approx(value, rel=1e-12)  # base**log(v) is exact only to a few ulps
        else:
            assert decoded == value and type(decoded) is type(value)


@pytest.mark.parametrize("searcher", SEARCHERS)
def test_encode_fills_missing_parameters_with_valid_values(searcher: str) -> None:
    kinds = [k for k in TYPES if EXPECTED_HOW[searcher][k] != "refused"]
    hyperparameters = all_specs(*kinds)
    plan = compile_space(hyperparameters, searcher)
    for seed in range(20):
        encoded = plan.encode({"randint": 3}, random.Random(seed))
        assert "grid_search" not in encoded
        assert set(encoded) == set(kinds) - {"grid_search"}
        decoded = plan.decode({**encoded, "grid_search": 16})
        assert decoded["randint"] == 3
        for spec in hyperparameters:
            assert inside(spec, decoded[spec.name]), (spec.type, decoded[spec.name])


@pytest.mark.parametrize("searcher", ["basicvariantgenerator", "bayesoptsearch"])
def test_encode_is_deterministic_for_a_seed(searcher: str) -> None:
    kinds = [k for k in TYPES if EXPECTED_HOW[searcher][k] != "refused"]
    plan = compile_space(all_specs(*kinds), searcher)
    first = plan.encode({}, random.Random(42))
    assert plan.encode({}, random.Random(42)) == first
    assert any(plan.encode({}, random.Random(seed)) != first for seed in range(5))


def test_encode_leaves_grid_search_out_even_when_given() -> None:
    plan = compile_space(all_specs("grid_search", "choice"), "basicvariantgenerator")
    assert plan.encode({"grid_search": 32, "choice": "sgd"}, random.Random(0)) == {"choice": "sgd"}


def test_decode_snaps_native_values_into_the_spec() -> None:
    plan = compile_space(all_specs("uniform", "randint", "quniform", "choice"), "basicvariantgenerator")
    decoded = plan.decode({"uniform": 3.0, "randint": np.int64(9), "quniform": 0.333333, "choice": "sgd"})
    assert decoded == {"uniform": 1.0, "randint": 4, "quniform": 0.35, "choice": "sgd"}
    assert type(decoded["randint"]) is int


# --------------------------------------------------------------------------------------------
# snap
# --------------------------------------------------------------------------------------------


class TestSnap:
    def test_clamps_continuous_values(self) -> None:
        spec = one("uniform")
        assert snap(spec, 1.5) == 1.0
        assert snap(spec, -7) == -1.0
        assert snap(spec, 0.3) == 0.3
        assert type(snap(spec, 0)) is float

    def test_clamps_log_values(self) -> None:
        spec = one("loguniform")
        assert snap(spec, 1.0) == 1e-2
        assert snap(spec, 0.0) == 1e-4

    def test_integers_are_rounded_clamped_and_int(self) -> None:
        spec = one("randint")  # 1..4
        assert snap(spec, 2.4) == 2 and type(snap(spec, 2.4)) is int
        assert snap(spec, 2.6) == 3
        assert snap(spec, 9.0) == 4
        assert snap(spec, -3) == 1
        assert type(snap(spec, np.float64(3.0))) is int

    @pytest.mark.parametrize("kind", INTEGER_TYPES)
    def test_every_integer_type_returns_int(self, kind: str) -> None:
        spec = one(kind)
        for value in (0.0, 2.5, 7.7, 1e6, np.float64(5.2), np.int64(5)):
            snapped = snap(spec, value)
            assert type(snapped) is int and snapped in grid_values(spec)

    def test_quantised_integers_land_on_the_grid_inside_bounds(self) -> None:
        spec = one("qrandint")  # 1..10, q=3: 3, 6, 9
        assert snap(spec, 1) == 3  # 0 is nearer but below min
        assert snap(spec, 7.4) == 6
        assert snap(spec, 8) == 9
        assert snap(spec, 10) == 9  # 12 is nearer but above max
        assert snap(spec, 100) == 9

    def test_quantised_floats_land_on_the_grid(self) -> None:
        spec = one("quniform")  # 0..1, q=0.05
        assert snap(spec, 0.33) == 0.35
        assert snap(spec, 0.1 + 0.2) == 0.3  # float noise dropped
        assert snap(spec, 1.2) == 1.0
        assert snap(spec, -0.2) == 0.0

    def test_quantised_log_floats_land_on_the_grid(self) -> None:
        spec = one("qloguniform")  # 1e-4..1e-2, q=5e-5
        assert snap(spec, 1.23e-3) == pytest.approx(1.25e-3, rel=1e-12)
        assert snap(spec, 1.0) == pytest.approx(1e-2, rel=1e-12)
        assert snap(spec, 0.0) == pytest.approx(1e-4, rel=1e-12)

    def test_quantised_normals_are_rounded_not_clamped(self) -> None:
        spec = one("qrandn")  # q=0.1
        assert snap(spec, 0.123) == pytest.approx(0.1)
        assert snap(spec, 123.456) == pytest.approx(123.5)

    def test_normals_pass_through_as_float(self) -> None:
        assert snap(one("randn"), 42) == 42.0 and type(snap(one("randn"), 42)) is float

    def test_choices_pass_through(self) -> None:
        assert snap(one("choice"), "sgd") == "sgd"
        assert snap(one("grid_search"), 32) == 32

    @pytest.mark.parametrize(
        "fields, value",
        [({"min": 0.3, "max": 1.0, "q": 0.1}, 0.3), ({"min": 0.0, "max": 0.9, "q": 0.3}, 0.9)],
        ids=["min", "max"],
    )
    def test_a_bound_on_the_grid_snaps_to_itself(self, fields: dict[str, Any], value: float) -> None:
        assert snap(one("quniform", **fields), value) == value


# --------------------------------------------------------------------------------------------
# Property: integer types decode to ints in [min, max] on the q grid, for every searcher
# --------------------------------------------------------------------------------------------


@st.composite
def integer_specs(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["randint", "qrandint", "lograndint", "qlograndint"]))
    low = draw(st.integers(1, 9_999))
    high = draw(st.integers(low + 1, 10_000))
    fields: dict[str, Any] = {"name": "n", "type": kind, "min": low, "max": high}
    if kind in ("qrandint", "qlograndint"):
        q = draw(st.integers(1, 20).filter(lambda q: high // q * q >= low))  # a multiple of q in [min, max]
        fields["q"] = q
    if kind in ("lograndint", "qlograndint"):
        fields["base"] = draw(st.sampled_from([2, 10, math.e]))
    return fields


@settings(max_examples=50, deadline=None)
@given(fields=integer_specs(), seed=st.integers(0, 2**16))
def test_integer_types_decode_to_ints_in_bounds_on_the_grid(fields: dict[str, Any], seed: int) -> None:
    spec = specs(fields)[0]
    q = getattr(spec, "q", 1)
    for searcher in SEARCHERS:
        values = decoded_samples(spec, searcher, 200, seed)
        for value in values:
            assert type(value) is int, (searcher, value)
            assert spec.min <= value <= spec.max, (searcher, value)
            assert value % q == 0, (searcher, value)


# --------------------------------------------------------------------------------------------
# What the searchers' own Ray adapters make of the native domains
# --------------------------------------------------------------------------------------------


def _adapter_samples(spec: Distribution, searcher: str, size: int) -> list[Any]:
    """Samples drawn from the space the searcher's Ray adapter converts the plan into."""
    plan = compile_space([spec], searcher)
    if searcher == "hyperoptsearch":
        from hyperopt.pyll import stochastic
        from ray.tune.search.hyperopt import HyperOptSearch

        space = HyperOptSearch.convert_search_space(plan.param_space())
        rng = np.random.default_rng(0)
        raw = [stochastic.sample(space, rng=rng)["n"] for _ in range(size)]
    else:
        import optuna
        from ray.tune.search.optuna import OptunaSearch

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        distributions = dict(OptunaSearch.convert_search_space(plan.param_space()))
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        raw = [study.ask(distributions).params["n"] for _ in range(size)]
    return [plan.decode({"n": value})["n"] for value in raw]


@pytest.mark.parametrize(
    "searcher, fields",
    [
        pytest.param("optunasearch", {"type": "randint", "min": 1, "max": 4}, id="optuna-randint"),
        pytest.param("optunasearch", {"type": "qrandint", "min": 0, "max": 12, "q": 3}, id="optuna-qrandint-q3-min0"),
        pytest.param("optunasearch", {"type": "qrandint", "min": 1, "max": 4, "q": 1}, id="optuna-qrandint-q1"),
        pytest.param(
            "optunasearch",
            {"type": "qrandint", "min": 1, "max": 10, "q": 3},
            id="optuna-qrandint-q3-min1",
        ),
        pytest.param("hyperoptsearch", {"type": "randint", "min": 1, "max": 4}, id="hyperopt-randint"),
        pytest.param("hyperoptsearch", {"type": "qrandint", "min": 1, "max": 4, "q": 1}, id="hyperopt-qrandint-q1"),
        pytest.param(
            "hyperoptsearch",
            {"type": "qrandint", "min": 0, "max": 12, "q": 3},
            id="hyperopt-qrandint-q3",
        ),
    ],
)
def test_integers_stay_uniform_in_the_searchers_adapter(searcher: str, fields: dict[str, Any]) -> None:
    spec = specs({"name": "n", **fields})[0]
    size = 2000
    counts = collections.Counter(_adapter_samples(spec, searcher, size))
    share = size / len(grid_values(spec))
    assert set(counts) == grid_values(spec)
    assert all(0.8 * share <= count <= 1.2 * share for count in counts.values()), sorted(counts.items())
