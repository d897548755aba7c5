"""Hyperparameter search-space specifications: the 12 distribution types of a tuning job.

Each spec is an immutable pydantic model with a ``type`` discriminator, validated on
construction. A spec's family is its base class (:class:`Range` has ``min``/``max``, :class:`Normal`
has ``mean``/``sd``, :class:`Categorical` has ``options``) and its traits are class attributes
(``integer``, ``log``, ``quantised``), so the validator and the compiler ask the spec, not a list
of type names. Bound rules, written once here for users:

- ``min``/``max`` of range types: ``min`` must be below ``max``.
- Integer types (randint, qrandint, lograndint, qlograndint): ``max`` is *inclusive*.
- Log types (loguniform, qloguniform, lograndint, qlograndint) need ``base`` > 1 and ``min`` > 0.
- Integer bounds lie in the 64-bit range Ray samples (-2**63 .. 2**63 - 2); a uniform range's width
  ``max - min`` must be a finite float (±1e308 is refused: no searcher can draw from it), and ``q``
  must leave a countable number of grid steps.
- Quantised types take ``q``. Float types (quniform, qloguniform) take the values ``min + k·q``
  inside ``[min, max]`` (``max`` itself only when ``max - min`` is a multiple of ``q``); integer
  types (qrandint, qlograndint) take, as Ray does, the multiples of ``q`` inside ``[min, max]``, and
  a range that holds none is refused. When it is omitted, the default is filled in and shown by
  ``trainaction validate``: 1 for integer types; for float types the largest power of ten
  not above a hundredth of the range (quniform: ``max - min``; qrandn: ``sd``), and for
  qloguniform the largest power of ten not above ``min``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import reduce
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "DISTRIBUTION_TYPES",
    "Categorical",
    "Distribution",
    "HyperparameterSpec",
    "Normal",
    "Range",
    "count_trials",
]


def _power_of_ten_floor(value: float) -> float:
    if not value > 0:
        return 1.0
    power = float(10 ** math.floor(math.log10(value)))
    return power if power > 0 else value  # below ~1e-323 no power of ten is a float (it rounds to 0)


class Distribution(BaseModel):
    """One hyperparameter's search space; the concrete classes below are the 12 ``type`` values."""

    # NaN would slip past every bound check (all comparisons are false); ±inf is no usable bound.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    integer: ClassVar[bool] = False  # draws integers; ``max`` is inclusive
    log: ClassVar[bool] = False  # searched on a log scale; takes ``base``, needs ``min`` > 0
    quantised: ClassVar[bool] = False  # takes ``q``: values lie on a grid

    name: str
    if TYPE_CHECKING:  # every concrete class declares it, so the field keeps its place after ``name``
        type: str

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("blank", "'name' must not be blank; give the hyperparameter's name")
        return value


class Range(Distribution):
    """A bounded range: ``min`` below ``max``."""

    if TYPE_CHECKING:  # declared by each concrete class, integer or float, in its own field order
        min: float
        max: float

    @model_validator(mode="after")
    def _min_below_max(self) -> Any:
        low, high = self.min, self.max
        if low >= high:
            raise PydanticCustomError(
                "min_max",
                "'min' must be below 'max', got min={low}, max={high} — swap them",
                {"low": low, "high": high},
            )
        return self


class _Log(Range):
    log = True
    base: float

    @field_validator("base")
    @classmethod
    def _base_above_one(cls, value: float) -> float:
        if value <= 1:
            raise PydanticCustomError(
                "base", "'base' must be greater than 1, got {value} — use 10 or 2", {"value": value}
            )
        return value

    @model_validator(mode="after")
    def _min_positive(self) -> Any:
        if self.min <= 0:
            raise PydanticCustomError(
                "log_min",
                "'min' must be greater than 0 for a log scale, got min={low} — "
                "use a positive lower bound or a non-log type such as uniform/randint",
                {"low": self.min},
            )
        return self


class _Wide(Range):
    @model_validator(mode="after")
    def _width_finite(self) -> Any:
        low, high = self.min, self.max
        if not math.isfinite(high - low):
            raise PydanticCustomError(
                "width",
                "'max' - 'min' overflows a 64-bit float (min={low}, max={high}), so no searcher can draw from "
                "the range; narrow it, or search it on a log scale with loguniform",
                {"low": low, "high": high},
            )
        return self


def _countable(q: float, *magnitudes: float) -> None:
    """Snapping divides by q: a q so small that the quotient overflows cannot be searched."""
    if any(not math.isfinite(m / q) for m in magnitudes):
        raise PydanticCustomError(
            "grid", "'q' = {q} is too small for these bounds: value / q overflows a float; use a larger q", {"q": q}
        )


# Ray samples integers with numpy's int64; randint's exclusive upper bound is max + 1.
_INT_LOW, _INT_HIGH = -(2**63), 2**63 - 2


def _some_multiple(spec: QRandInt | QLogRandInt) -> Any:
    q, low, high = spec.q, spec.min, spec.max
    if low < high and -(-low // q) * q > high:
        raise PydanticCustomError(
            "grid",
            "no multiple of q={q} lies in [{low}, {high}], so there is no value to draw; lower q or widen the range",
            {"q": q, "low": low, "high": high},
        )
    return spec


def _int_bound(cls: type[Distribution], value: int, info: ValidationInfo) -> int:
    if not _INT_LOW <= value <= _INT_HIGH:
        raise PydanticCustomError(
            "int_range",
            "'{field}' must lie between {low} and {high} (the 64-bit integers searchers sample), got {value}; "
            "for a larger range use lograndint or loguniform",
            {"field": info.field_name, "low": _INT_LOW, "high": _INT_HIGH, "value": value},
        )
    return value


class Uniform(_Wide):
    type: Literal["uniform"]
    min: float
    max: float


class QUniform(_Wide):
    quantised = True

    type: Literal["quniform"]
    min: float
    max: float
    q: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _default_q(self) -> Any:
        q = self.q if self.q is not None else _power_of_ten_floor((self.max - self.min) / 100)
        object.__setattr__(self, "q", q)
        _countable(q, self.max - self.min, self.min, self.max)
        return self


class LogUniform(_Log):
    type: Literal["loguniform"]
    min: float
    max: float


class QLogUniform(_Log):
    quantised = True

    type: Literal["qloguniform"]
    min: float
    max: float
    q: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _default_q(self) -> Any:
        if self.q is None and self.min > 0:
            object.__setattr__(self, "q", _power_of_ten_floor(self.min))
        if self.q is not None:
            _countable(self.q, self.max - self.min, self.max)
        return self


class Normal(Distribution):
    """A normal distribution: unbounded, so searchers that need bounds refuse it."""

    if TYPE_CHECKING:
        mean: float
        sd: float


class Categorical(Distribution):
    """A list of ``options``, drawn (choice) or each tried (grid_search)."""

    if TYPE_CHECKING:
        options: list[Any]


class RandN(Normal):
    type: Literal["randn"]
    mean: float
    sd: float = Field(gt=0)


class QRandN(Normal):
    quantised = True

    type: Literal["qrandn"]
    mean: float
    sd: float = Field(gt=0)
    q: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _default_q(self) -> Any:
        q = self.q if self.q is not None else _power_of_ten_floor(self.sd / 10)
        object.__setattr__(self, "q", q)
        _countable(q, abs(self.mean) + 10 * self.sd)  # draws beyond 10 sd never happen in practice
        return self


class RandInt(Range):
    integer = True

    type: Literal["randint"]
    min: StrictInt
    max: StrictInt

    _bounds = field_validator("min", "max")(classmethod(_int_bound))


class QRandInt(Range):
    integer = quantised = True

    type: Literal["qrandint"]
    min: StrictInt
    max: StrictInt

    _bounds = field_validator("min", "max")(classmethod(_int_bound))
    q: StrictInt = Field(default=1, gt=0)

    _has_values = model_validator(mode="after")(_some_multiple)


class LogRandInt(_Log):
    integer = True

    type: Literal["lograndint"]
    min: StrictInt
    max: StrictInt

    _bounds = field_validator("min", "max")(classmethod(_int_bound))


class QLogRandInt(_Log):
    integer = quantised = True

    type: Literal["qlograndint"]
    min: StrictInt
    max: StrictInt

    _bounds = field_validator("min", "max")(classmethod(_int_bound))
    q: StrictInt = Field(default=1, gt=0)

    _has_values = model_validator(mode="after")(_some_multiple)


class Choice(Categorical):
    type: Literal["choice"]
    options: list[Any] = Field(min_length=1)


class GridSearch(Categorical):
    type: Literal["grid_search"]
    options: list[Any] = Field(min_length=1)


HyperparameterSpec = Annotated[
    Uniform
    | QUniform
    | LogUniform
    | QLogUniform
    | RandN
    | QRandN
    | RandInt
    | QRandInt
    | LogRandInt
    | QLogRandInt
    | Choice
    | GridSearch,
    Field(discriminator="type"),
]

DISTRIBUTION_TYPES: dict[str, type[Distribution]] = {
    cls.model_fields["type"].annotation.__args__[0]: cls  # type: ignore[union-attr]
    for cls in (
        Uniform,
        QUniform,
        LogUniform,
        QLogUniform,
        RandN,
        QRandN,
        RandInt,
        QRandInt,
        LogRandInt,
        QLogRandInt,
        Choice,
        GridSearch,
    )
}


def count_trials(specs: Sequence[Distribution], num_samples: int) -> int:
    """Total trials Ray Tune will run: every grid combination, repeated ``num_samples`` times."""
    grid_sizes = [len(spec.options) for spec in specs if isinstance(spec, GridSearch)]
    return reduce(lambda a, b: a * b, grid_sizes, 1) * num_samples
