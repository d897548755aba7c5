"""Hyperparameter search-space specifications: the 12 distribution types of a tuning job.

Each spec is an immutable pydantic model with a ``type`` discriminator, validated on
construction. Bound rules, written once here for users:

- ``min``/``max`` of range types: ``min`` must be below ``max``.
- Integer types (randint, qrandint, lograndint, qlograndint): ``max`` is *inclusive*.
- Log types (loguniform, qloguniform, lograndint, qlograndint) need ``base`` > 1 and ``min`` > 0.
- Quantised types take ``q``. When it is omitted, the default is filled in and shown by
  ``trainaction validate``: 1 for integer types; for float types the largest power of ten
  not above a hundredth of the range (quniform: ``max - min``; qrandn: ``sd``), and for
  qloguniform the largest power of ten not above ``min``.
"""

from __future__ import annotations

import math
from functools import reduce
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "DISTRIBUTION_TYPES",
    "HyperparameterSpec",
    "count_trials",
]


def _power_of_ten_floor(value: float) -> float:
    if not value > 0:
        return 1.0
    power = float(10 ** math.floor(math.log10(value)))
    return power if power > 0 else value  # below ~1e-323 no power of ten is a float (it rounds to 0)


class _Spec(BaseModel):
    # NaN would slip past every bound check (all comparisons are false); ±inf is no usable bound.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("blank", "'name' must not be blank; give the hyperparameter's name")
        return value


class _Range(_Spec):
    @model_validator(mode="after")
    def _min_below_max(self) -> Any:
        low, high = self.min, self.max  # type: ignore[attr-defined]
        if low >= high:
            raise PydanticCustomError(
                "min_max",
                "'min' must be below 'max', got min={low}, max={high} — swap them",
                {"low": low, "high": high},
            )
        return self


class _Log(_Range):
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
        if self.min <= 0:  # type: ignore[attr-defined]
            raise PydanticCustomError(
                "log_min",
                "'min' must be greater than 0 for a log scale, got min={low} — "
                "use a positive lower bound or a non-log type such as uniform/randint",
                {"low": self.min},  # type: ignore[attr-defined]
            )
        return self


class Uniform(_Range):
    type: Literal["uniform"]
    min: float
    max: float


class QUniform(_Range):
    type: Literal["quniform"]
    min: float
    max: float
    q: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _default_q(self) -> Any:
        if self.q is None and self.min < self.max:
            span = self.max - self.min
            # two finite bounds can still be too far apart for a float, e.g. ±1e308
            hundredth = span / 100 if math.isfinite(span) else self.max / 100 - self.min / 100
            object.__setattr__(self, "q", _power_of_ten_floor(hundredth))
        return self


class LogUniform(_Log):
    type: Literal["loguniform"]
    min: float
    max: float


class QLogUniform(_Log):
    type: Literal["qloguniform"]
    min: float
    max: float
    q: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _default_q(self) -> Any:
        if self.q is None and self.min > 0:
            object.__setattr__(self, "q", _power_of_ten_floor(self.min))
        return self


class RandN(_Spec):
    type: Literal["randn"]
    mean: float
    sd: float = Field(gt=0)


class QRandN(_Spec):
    type: Literal["qrandn"]
    mean: float
    sd: float = Field(gt=0)
    q: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _default_q(self) -> Any:
        if self.q is None:
            object.__setattr__(self, "q", _power_of_ten_floor(self.sd / 10))
        return self


class RandInt(_Range):
    type: Literal["randint"]
    min: StrictInt
    max: StrictInt


class QRandInt(_Range):
    type: Literal["qrandint"]
    min: StrictInt
    max: StrictInt
    q: StrictInt = Field(default=1, gt=0)


class LogRandInt(_Log):
    type: Literal["lograndint"]
    min: StrictInt
    max: StrictInt


class QLogRandInt(_Log):
    type: Literal["qlograndint"]
    min: StrictInt
    max: StrictInt
    q: StrictInt = Field(default=1, gt=0)


class Choice(_Spec):
    type: Literal["choice"]
    options: list[Any] = Field(min_length=1)


class GridSearch(_Spec):
    type: Literal["grid_search"]
    options: list[Any] = Field(min_length=1)


HyperparameterSpec = Annotated[
    Uniform | QUniform | LogUniform | QLogUniform | RandN | QRandN | RandInt | QRandInt | LogRandInt | QLogRandInt | Choice | GridSearch,
    Field(discriminator="type"),
]

DISTRIBUTION_TYPES: dict[str, type[_Spec]] = {
    cls.model_fields["type"].annotation.__args__[0]: cls  # type: ignore[union-attr]
    for cls in (
        Uniform, QUniform, LogUniform, QLogUniform, RandN, QRandN,
        RandInt, QRandInt, LogRandInt, QLogRandInt, Choice, GridSearch,
    )
}

LOG_TYPES = frozenset({"loguniform", "qloguniform", "lograndint", "qlograndint"})


def count_trials(specs: list[Any], num_samples: int) -> int:
    """Total trials Ray Tune will run: every grid combination, repeated ``num_samples`` times."""
    grid_sizes = [len(spec.options) for spec in specs if isinstance(spec, GridSearch)]
    return reduce(lambda a, b: a * b, grid_sizes, 1) * num_samples
