"""Compile a job's search space for one search algorithm: what Ray Tune samples, and how each
sampled value becomes the hyperparameter the plugin sees.

Bound rules for users (see :mod:`trainaction.distributions`): ``max`` is inclusive for every integer type.
Ray's own bounds differ by type (``randint``/``lograndint`` exclude ``upper``; ``qrandint``/
``qlograndint`` include it unless ``q == 1``), so :func:`ray_domain` compiles to our rule.

Each searcher sees every parameter one of three ways:

- *native*: the Ray domain itself, which the searcher's adapter converts faithfully;
- *transformed*: a uniform float the searcher can express, mapped back exactly — a log scale
  searched in log space, an integer or quantised value rounded, a choice searched by index;
- *refused*: what cannot be expressed without changing its meaning (an unbounded normal for a
  searcher that needs bounds, an exhaustive grid for a model-based searcher), reported by
  ``validate`` with an alternative that works.

Whatever the searcher proposes, the decoded value is snapped onto the parameter's own grid and
clamped into its bounds, so a plugin never sees a value outside the spec.

A quantised float range whose bounds are not multiples of ``q`` (:func:`off_grid`) has the grid
``min + k·q`` inside ``[min, max]``. Ray's float domains refuse such bounds, so every searcher sees
it transformed: the grid index ``k``, searched as a uniform float and floored. (Quantised integer
types keep Ray's rule, the multiples of ``q`` inside ``[min, max]``; validation refuses a range
that holds none.)
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..distributions import (
    Categorical,
    Choice,
    Distribution,
    GridSearch,
    LogRandInt,
    LogUniform,
    Normal,
    QLogRandInt,
    QLogUniform,
    QRandInt,
    QRandN,
    QUniform,
    RandInt,
    RandN,
    Range,
    Uniform,
)
from ..errors import FieldError

__all__ = ["ParamPlan", "SearchPlan", "compile_space", "off_grid", "ray_domain"]

_INTEGER_TYPES = frozenset({"randint", "qrandint", "lograndint", "qlograndint"})

# What each searcher's Ray adapter converts faithfully (native), by type name; the rest is transformed
# or refused. This is a trait of the searcher's adapter, not of the distribution.
_NATIVE: dict[str, frozenset[str]] = {
    "basicvariantgenerator": frozenset(
        {"uniform", "quniform", "loguniform", "qloguniform", "randn", "qrandn", "choice", "grid_search"}
        | _INTEGER_TYPES
    ),
    # Integers are transformed for hyperopt and Optuna: their adapters round a uniform draw, which
    # gives the end values half the weight, or put max + 1 onto max.
    "hyperoptsearch": frozenset({"uniform", "quniform", "loguniform", "qloguniform", "randn", "qrandn", "choice"}),
    # Optuna also drops quantisation on log scales.
    "optunasearch": frozenset({"uniform", "quniform", "loguniform", "choice"}),
    # Ray's BayesOpt adapter keeps only (lower, upper): log scale and quantisation would be dropped.
    "bayesoptsearch": frozenset({"uniform"}),
    # Ax drops quantisation (with a warning): quantised types are transformed.
    "axsearch": frozenset({"uniform", "loguniform", "randint", "lograndint", "choice"}),
}


def ray_domain(spec: Distribution) -> Any:
    """The Ray Tune domain for a spec, with ``max`` inclusive for integer types."""
    from ray import tune

    if isinstance(spec, Uniform):
        return tune.uniform(spec.min, spec.max)
    if isinstance(spec, QUniform):
        return tune.quniform(spec.min, spec.max, _q(spec))
    if isinstance(spec, LogUniform):
        return tune.loguniform(spec.min, spec.max)  # log-uniform is the same for every base
    if isinstance(spec, QLogUniform):
        return tune.qloguniform(spec.min, spec.max, _q(spec))
    if isinstance(spec, RandN):
        return tune.randn(spec.mean, spec.sd)
    if isinstance(spec, QRandN):
        return tune.qrandn(spec.mean, spec.sd, _q(spec))
    if isinstance(spec, RandInt):
        return tune.randint(spec.min, spec.max + 1)
    if isinstance(spec, LogRandInt):
        return tune.lograndint(spec.min, spec.max + 1)
    if isinstance(spec, QRandInt):  # Ray: upper inclusive, except when q == 1
        return tune.qrandint(spec.min, spec.max + (spec.q == 1), spec.q)
    if isinstance(spec, QLogRandInt):
        return tune.qlograndint(spec.min, spec.max + (spec.q == 1), spec.q)
    if isinstance(spec, Choice):
        return tune.choice(spec.options)
    if isinstance(spec, GridSearch):
        return tune.grid_search(spec.options)
    raise AssertionError(f"unhandled distribution type {spec.type}")


def _q(spec: Distribution) -> float:
    """The grid step of a quantised spec; a float type's default ``q`` is filled in on construction."""
    q = getattr(spec, "q", None)
    if q is None:
        raise AssertionError(f"{spec.type} '{spec.name}' has no q")
    return float(q)


def _multiple(value: float, q: float) -> bool:
    ratio = value / q
    return math.isclose(ratio, round(ratio))  # Ray's own test for a bound on the q grid


def off_grid(spec: Distribution) -> bool:
    """A quantised float range with a bound off the multiples of ``q``, which Ray refuses."""
    if isinstance(spec, Range) and spec.quantised and not spec.integer:
        return not (_multiple(spec.min, _q(spec)) and _multiple(spec.max, _q(spec)))
    return False  # integer types: Ray floors the bounds onto the multiples of q itself


def _grid_steps(spec: Range, q: float) -> int:
    """The largest k with ``min + k·q`` inside the bounds."""
    return int(math.floor((spec.max - spec.min) / q + 1e-9))


def _snap_off_grid(spec: Range, q: float, value: Any) -> Any:
    steps = min(max(round((value - spec.min) / q), 0), _grid_steps(spec, q))
    # 12 significant digits drop float noise (0.30000000000000004) and keep the value on the grid.
    return float(min(max(float(f"{spec.min + steps * q:.12g}"), spec.min), spec.max))


def snap(spec: Distribution, value: Any) -> Any:
    """Put a proposed value on the spec's grid and inside its bounds."""
    if isinstance(spec, Categorical):
        return value
    q = getattr(spec, "q", None)
    if isinstance(spec, Range) and off_grid(spec):
        return _snap_off_grid(spec, _q(spec), value)
    if isinstance(spec, Range) and spec.integer:
        q = q or 1
        low, high = math.ceil(spec.min / q) * q, math.floor(spec.max / q) * q
        return int(min(max(round(value / q) * q, low), high))
    if q is not None:
        steps = round(value / q)
        if isinstance(spec, Range):
            steps = min(max(steps, math.ceil(spec.min / q - 1e-9)), math.floor(spec.max / q + 1e-9))
        # Round off float noise like 0.30000000000000004, keeping 6 digits below q.
        return float(round(steps * q, max(0, 6 - math.floor(math.log10(q)))))
    if isinstance(spec, Range):
        return float(min(max(value, spec.min), spec.max))
    return float(value)


@dataclass(frozen=True)
class ParamPlan:
    """How one hyperparameter is searched: ``how`` is native, transformed or refused."""

    spec: Distribution
    how: str
    description: str
    domain: Any = None
    decode: Callable[[Any], Any] | None = None
    encode: Callable[[Any], Any] | None = None


def _log(value: float, base: float) -> float:
    return math.log(value) / math.log(base)


def _transformed(spec: Choice | Range) -> ParamPlan:
    """A uniform float over a coordinate every searcher can express, and the exact way back."""
    from ray import tune

    if isinstance(spec, Choice):
        options, n = spec.options, len(spec.options)
        return ParamPlan(
            spec,
            "transformed",
            f"searched by index as uniform [0, {n}), mapped to options[floor(x)]",
            tune.uniform(0, n),
            lambda x: options[min(int(x), n - 1)],
            lambda v: options.index(v) + 0.5,
        )
    integer, q = spec.integer, getattr(spec, "q", None)
    top = spec.max + 1 if integer else spec.max  # [min, max + 1) floored covers every integer equally
    if spec.log:
        base: float = getattr(spec, "base")  # noqa: B009 - every log type has a base; Range does not declare it
        low, high = _log(spec.min, base), _log(top, base)
        what = f"searched in log{base:g} space as uniform [{low:.4g}, {high:.4g}], mapped back with {base:g}**x"

        def decode(x: float) -> Any:
            value = base**x
            # 12 significant digits: a point given by the user comes back exactly, not off by an ulp.
            return snap(spec, math.floor(value + 1e-9) if integer else float(f"{value:.12g}"))

        def encode(v: Any) -> float:
            return _log(v + 0.5 if integer else v, base)
    elif off_grid(spec):  # search the grid index k of min + k·q, so every grid value is equally likely
        step = _q(spec)
        low, high = 0.0, float(_grid_steps(spec, step) + 1)
        what = f"searched as uniform [0, {high:g}) over the grid min + k·{step:g} (the bounds are not multiples of q)"

        def decode(x: float) -> Any:
            return snap(spec, spec.min + math.floor(x) * step)

        def encode(v: Any) -> float:
            return float((v - spec.min) / step + 0.5)
    elif integer:
        multiple: int = q or 1  # search grid indices, so every multiple of q is equally likely
        low, high = math.ceil(spec.min / multiple), math.floor(spec.max / multiple) + 1
        what = f"searched as uniform [{low:g}, {high:g}) over multiples of {multiple}"

        def decode(x: float) -> Any:
            return snap(spec, math.floor(x) * multiple)

        def encode(v: Any) -> float:
            return float(v / multiple + 0.5)
    else:
        low, high = spec.min, spec.max
        what = f"searched as uniform [{low:g}, {high:g}]"

        def decode(x: float) -> Any:
            return snap(spec, x)

        def encode(v: Any) -> float:
            return float(v)

    if off_grid(spec):
        what += f", rounded to the grid min + k·{q:g}" if spec.log else ""
    elif not integer and q is not None:
        what += f", rounded to a multiple of {q}"
    elif integer and spec.log:
        what += f", floored to an integer{f' and rounded to a multiple of {q}' if spec.quantised else ''}"
    return ParamPlan(spec, "transformed", what, tune.uniform(low, high), decode, encode)


def _refusal(spec: Distribution, searcher: str) -> str:
    if isinstance(spec, Categorical):
        return (
            f"grid_search tries every value, which only basicvariantgenerator does; use type 'choice' "
            f"to let {searcher} pick among {spec.options}, or search_alg 'basicvariantgenerator'"
        )
    if isinstance(spec, Normal):
        return (
            f"{spec.type} is unbounded and {searcher} needs a bounded range; use 'uniform' over "
            f"[{spec.mean - 3 * spec.sd:g}, {spec.mean + 3 * spec.sd:g}] (mean ± 3 sd), or search_alg "
            "'hyperoptsearch' or 'basicvariantgenerator', which sample normals"
        )
    raise AssertionError(f"{spec.type} is never refused")


@dataclass(frozen=True)
class SearchPlan:
    """The whole space for one searcher."""

    searcher: str
    params: list[ParamPlan]

    def errors(self) -> list[FieldError]:
        return [
            FieldError(f"params.hyperparameters[{i}]", f"'{p.spec.name}': {p.description}")
            for i, p in enumerate(self.params)
            if p.how == "refused"
        ]

    def param_space(self) -> dict[str, Any]:
        return {p.spec.name: p.domain for p in self.params}

    def decode(self, config: dict[str, Any]) -> dict[str, Any]:
        """The plugin's hyperparameters for a configuration the searcher proposed."""
        decoded = {}
        for plan in self.params:
            raw = config[plan.spec.name]
            decoded[plan.spec.name] = plan.decode(raw) if plan.decode else snap(plan.spec, raw)
        return decoded

    def encode(self, point: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """A points_to_evaluate entry in the searcher's coordinates; missing values are drawn at random."""
        encoded = {}
        for plan in self.params:
            name = plan.spec.name
            if isinstance(plan.spec, GridSearch):
                continue
            value = point[name] if name in point else _draw(plan, rng)
            encoded[name] = plan.encode(value) if plan.encode else value
        return encoded

    def describe(self) -> dict[str, str]:
        return {p.spec.name: f"{p.how}: {p.description}" for p in self.params}


def _draw(plan: ParamPlan, rng: random.Random) -> Any:
    import numpy as np

    state = np.random.default_rng(rng.randrange(2**32))
    if plan.decode is not None and off_grid(plan.spec):  # Ray has no domain for this grid
        return plan.decode(plan.domain.sample(random_state=state))
    return snap(plan.spec, ray_domain(plan.spec).sample(random_state=state))


def compile_space(specs: Sequence[Distribution], searcher: str) -> SearchPlan:
    native = _NATIVE[searcher]
    plans = []
    for spec in specs:
        if spec.type in native and not off_grid(spec):
            plans.append(ParamPlan(spec, "native", f"{spec.type} as Ray samples it", ray_domain(spec)))
        elif isinstance(spec, (Choice, Range)):
            plans.append(_transformed(spec))
        else:  # grid_search, or a normal for a searcher that needs bounds (the others sample normals natively)
            plans.append(ParamPlan(spec, "refused", _refusal(spec, searcher)))
    return SearchPlan(searcher, plans)
