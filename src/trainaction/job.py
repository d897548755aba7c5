"""The job document: ``{"action": "train", "params": {...}}`` as frozen, fully validated models.

A :class:`Job` that exists is valid. Build one from untrusted JSON with
:func:`trainaction.validation.parse_job`, which collects every error at once.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictInt,
    Tag,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from .distributions import HyperparameterSpec, count_trials

__all__ = [
    "SCHEDULERS",
    "SEARCH_ALGORITHMS",
    "Job",
    "JobParams",
    "SchedulerConfig",
    "SearchAlgConfig",
    "TrainingParams",
    "TuneConfig",
    "TuningParams",
    "decode_name",
    "encode_name",
]

SEARCH_ALGORITHMS = ("basicvariantgenerator", "bayesoptsearch", "hyperoptsearch", "optunasearch", "axsearch")
SCHEDULERS = ("fifo", "hyperband", "asha", "median_stopping", "pbt")

# Characters that other systems (Ray trial names, model registries) treat as separators, and
# "%" itself, so that a name that already contains "%3A" keeps its own encoding (reversible).
_NAME_ENCODING = {"%": "%25", ":": "%3A", ",": "%2C"}


def encode_name(name: str) -> str:
    """Encode ``:`` and ``,`` in a job name, e.g. ``exp:v1,b:32`` → ``exp%3Av1%2Cb%3A32``."""
    for char, code in _NAME_ENCODING.items():
        name = name.replace(char, code)
    return name


def decode_name(encoded: str) -> str:
    """Inverse of :func:`encode_name`."""
    for char, code in reversed(_NAME_ENCODING.items()):  # "%25" last
        encoded = encoded.replace(code, char)
    return encoded


# Ids are SQL 64-bit integers: a larger number can never name a record (SQLite would overflow).
MAX_ID = 2**63 - 1
# Searchers hand the seed to numpy, which takes 0 .. 2**32 - 1.
MAX_SEED = 2**32 - 1


def _id_in_range(value: int | None, info: ValidationInfo) -> int | None:
    if value is not None and not 1 <= value <= MAX_ID:
        raise PydanticCustomError(
            "id_range",
            "'{field}' must be an id between 1 and {top} (ids are 64-bit), got {value}; "
            "see `trainaction {listing} list`",
            {
                "field": info.field_name,
                "top": MAX_ID,
                "value": value,
                "listing": "dataset" if info.field_name == "dataset" else "models",
            },
        )
    return value


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _named(value: Any) -> Any:
    """Accept ``"hyperoptsearch"`` as shorthand for ``{"name": "hyperoptsearch"}``."""
    return {"name": value} if isinstance(value, str) else value


def _known(value: str, known: tuple[str, ...], what: str) -> str:
    if value not in known:
        raise PydanticCustomError(
            "unknown_name",
            "unknown {what} '{value}'; supported: {known}",
            {"what": what, "value": value, "known": ", ".join(known)},
        )
    return value


class SearchAlgConfig(_Frozen):
    name: str
    points_to_evaluate: list[dict[str, Any]] | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _supported(cls, value: str) -> str:
        return _known(value, SEARCH_ALGORITHMS, "search algorithm")


class SchedulerConfig(_Frozen):
    name: str
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _supported(cls, value: str) -> str:
        return _known(value, SCHEDULERS, "scheduler")


class TuneConfig(_Frozen):
    metric: str = Field(min_length=1)
    mode: Literal["max", "min"] = "max"
    num_samples: StrictInt = Field(default=1, ge=1)
    max_concurrent_trials: StrictInt | None = Field(default=None, ge=1)
    search_alg: SearchAlgConfig = SearchAlgConfig(name="basicvariantgenerator")
    scheduler: SchedulerConfig = SchedulerConfig(name="fifo")
    seed: StrictInt | None = Field(default=None, ge=0, le=MAX_SEED)
    max_failures: StrictInt = Field(default=0, ge=0)
    # Which report decides the best trial: the last one (Ray's default) or the best one of each trial.
    scope: Literal["last", "best"] = "last"
    # Wall-clock limits in seconds: one run of a trial's tune() (the trial becomes ERROR), and the whole
    # search (trials still running are stopped; the job succeeds with what finished).
    trial_timeout_s: float | None = Field(default=None, gt=0, strict=True)
    time_budget_s: float | None = Field(default=None, gt=0, strict=True)

    _shorthand_search_alg = field_validator("search_alg", mode="before")(lambda cls, v: _named(v))
    _shorthand_scheduler = field_validator("scheduler", mode="before")(lambda cls, v: _named(v))


class _Params(_Frozen):
    """The fields both modes share; the field order is the normalised document's."""

    name: str
    dataset: StrictInt
    checkpoint: StrictInt | None = None

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("blank", "'name' must not be blank; give the job a name")
        return value

    @field_validator("dataset", "checkpoint")
    @classmethod
    def _ids_in_range(cls, value: int | None, info: ValidationInfo) -> int | None:
        return _id_in_range(value, info)

    @property
    def encoded_name(self) -> str:
        return encode_name(self.name)


class TrainingParams(_Params):
    """Training mode: one ``train()`` run with fixed ``hyperparameter`` values."""

    is_tune: Literal[False] = False
    num_cpus: float | None = Field(default=None, ge=0)
    num_gpus: float | None = Field(default=None, ge=0)
    hyperparameter: dict[str, Any]
    # Null is how the normalised document writes them; anything else is refused (see validation).
    hyperparameters: None = None
    tune_config: None = None

    @property
    def total_trials(self) -> int:
        return 1


class TuningParams(_Params):
    """Tuning mode: Ray Tune runs ``tune()`` once per trial over ``hyperparameters``."""

    is_tune: Literal[True]
    num_cpus: float | None = Field(default=None, ge=0)
    num_gpus: float | None = Field(default=None, ge=0)
    hyperparameter: dict[str, Any] | None = None
    hyperparameters: list[HyperparameterSpec]
    tune_config: TuneConfig

    @property
    def total_trials(self) -> int:
        """Trials the job will run: grid combinations × num_samples."""
        return count_trials(self.hyperparameters, self.tune_config.num_samples)


def _mode(value: Any) -> str:
    """The union's tag: ``is_tune``. One that is not a bool (an error, reported on ``params.is_tune``)
    picks the mode whose fields the document has, so that those fields are still checked."""
    if isinstance(value, (TrainingParams, TuningParams)):
        return "tuning" if value.is_tune else "training"
    if not isinstance(value, dict):
        return "training"  # reported as "must be a JSON object" against either mode
    is_tune = value.get("is_tune", False)
    if isinstance(is_tune, bool):
        return "tuning" if is_tune else "training"
    tuning_fields = any(value.get(key) is not None for key in ("hyperparameters", "tune_config"))
    return "tuning" if tuning_fields else "training"


JobParams = Annotated[
    Annotated[TrainingParams, Tag("training")] | Annotated[TuningParams, Tag("tuning")],
    Discriminator(_mode),
]
"""A job's ``params``: the mode is the type, so a tuning job *has* its space and ``tune_config``."""


class Job(_Frozen):
    action: Literal["train"]
    params: JobParams
    # Free text for people reading the job file (why it differs from a reference, say); ignored.
    description: str | None = None

    def to_document(self) -> dict[str, Any]:
        """The normalised job document (defaults filled in), as JSON-ready data."""
        return self.model_dump(mode="json", exclude_none=False)
