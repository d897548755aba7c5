"""Turn an untrusted job document into a :class:`~trainaction.job.Job`, or every error at once.

Each error names its JSON path (``params.hyperparameters[1].base``) and says how to fix it.
The deprecated ``tune`` action and the ``tune_hyperparameter`` spelling are migrated with a notice.
"""

from __future__ import annotations

import copy
import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import pydantic

from .backend import Backend
from .cross_checks import cross_check
from .distributions import DISTRIBUTION_TYPES
from .errors import FieldError, ValidationError
from .job import Job, SchedulerConfig, SearchAlgConfig, TrainingParams, TuneConfig, TuningParams
from .jsonfile import json_path, read_json_file

__all__ = ["JobCheck", "ParsedJob", "load_job_file", "parse_job", "validate_job"]

_TYPES = ", ".join(DISTRIBUTION_TYPES)

# Fields people carry over from other tools, and what this document calls them.
_SLIPS = {"values": "options", "lower": "min", "upper": "max", "low": "min", "high": "max"}

# Error types raised by our own validators, whose messages already say what to do.
_OWN_MESSAGES = frozenset(
    {"blank", "min_max", "base", "log_min", "unknown_name", "id_range", "int_range", "width", "grid"}
)

# Time limits in tune_config, with an example value for their error messages.
_SECONDS = {"trial_timeout_s": 3600, "time_budget_s": 7200}

_MISSING_HINTS = {
    "name": "give it a name",
    "dataset": "give the id of a registered dataset (see `trainaction dataset list`)",
    "metric": 'name the metric to optimise, e.g. "accuracy"',
    "options": 'list the values to choose from, e.g. "options": [16, 32, 64]',
    "min": "give the lower bound of the range",
    "max": "give the upper bound of the range",
    "mean": "give the mean of the normal distribution",
    "sd": "give the standard deviation of the normal distribution",
    "action": 'use "train"',
    "params": "give the job's parameters",
}


@dataclass(frozen=True)
class ParsedJob:
    job: Job
    notices: list[str] = field(default_factory=list)


def load_job_file(path: str | Path) -> ParsedJob:
    """Read and validate a job document from a JSON file (strict JSON: see :mod:`trainaction.jsonfile`)."""
    return parse_job(read_json_file(path))


class JobCheck(TypedDict):
    """What ``trainaction validate`` reports: the first four keys are its ``--json`` answer."""

    valid: bool
    errors: list[dict[str, str]]  # each {"path": JSON path or "--plugin", "message": the fix}
    job: dict[str, Any] | None  # the normalised document, when valid
    notices: list[str]
    preview: dict[str, Any] | None  # a valid tuning job's plan (trials, space, rungs, resources)


def validate_job(path: str | Path, plugin: str | None = None, *, backend: Backend | None = None) -> JobCheck:
    """Check a job file without running it: the document, a tuning job's search against the machine it
    would run on, and with ``plugin`` the fixed ``hyperparameter`` against the plugin's schema; the
    dataset and checkpoint ids in ``backend`` (by default the one the environment selects, if any).

    Invalid input is reported in the result, never raised (other errors, such as an unreadable file,
    are raised as they are by :func:`load_job_file`)."""
    errors: list[dict[str, str]] = []
    notices: list[str] = []
    raw: Any = None
    document = None
    preview: dict[str, Any] | None = None
    try:
        raw = read_json_file(path)
        parsed = parse_job(raw)
        notices, document = parsed.notices, parsed.job.to_document()
        params = parsed.job.params
        if isinstance(params, TuningParams):
            from .tuning.plan import plan_tuning
            from .tuning.preview import capacity_errors, preview_lines, tuning_notices, tuning_preview

            plan = plan_tuning(params)  # a ValidationError lists every problem of the search
            notices += tuning_notices(plan)
            preview = tuning_preview(plan)
            notices += preview_lines(preview)
            errors = [e.to_dict() for e in capacity_errors(preview)]
    except ValidationError as exc:
        errors = [e.to_dict() for e in exc.errors]
    # The plugin (schema, tune()) and the home (ids) are checked on the raw document, whatever else is wrong.
    errors, notices = cross_check(raw, plugin, errors, notices, backend)
    valid = not errors
    return {
        "valid": valid,
        "errors": errors,
        "job": document if valid else None,
        "notices": notices,
        "preview": preview,
    }


def parse_job(raw: Any) -> ParsedJob:
    """Validate a job document. Raises :class:`ValidationError` listing every problem."""
    if not isinstance(raw, dict):
        raise ValidationError(
            [
                FieldError(
                    "",
                    f'a job document must be a JSON object like {{"action": "train", "params": {{...}}}}, got {_show(raw)}',
                )
            ]
        )
    doc, notices = _migrate(raw)
    try:
        job = Job.model_validate(doc)
    except pydantic.ValidationError as exc:
        mode_errors: list[FieldError] = []
        field_errors: list[FieldError] = []
        for err in exc.errors():
            mode_error = _mode_error(err, doc)
            if mode_error is not None:
                mode_errors.append(mode_error)
            elif (translated := _translate(err, doc)) is not None:
                field_errors.append(translated)
        # The mode rule first, as the document's shape; then the fields, in the document's order.
        raise ValidationError(_unique(mode_errors + _duplicate_name_errors(doc) + field_errors)) from None
    duplicates = _duplicate_name_errors(doc)
    if duplicates:
        raise ValidationError(duplicates)
    if isinstance(job.params, TrainingParams) and (job.params.num_cpus is not None or job.params.num_gpus is not None):
        notices.append("num_cpus/num_gpus set trial resources in tuning mode; they are ignored in training mode")
    return ParsedJob(job, notices)


def _migrate(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    doc = copy.deepcopy(raw)
    notices: list[str] = []
    params = doc.get("params")
    if not isinstance(params, dict):
        if doc.get("action") == "tune":
            doc["action"] = "train"  # a known action: only the params error is reported
        return doc, notices
    if "tune_hyperparameter" in params and "hyperparameters" not in params:
        params["hyperparameters"] = params.pop("tune_hyperparameter")
        notices.append("'tune_hyperparameter' is deprecated; renamed to 'hyperparameters'")
    if doc.get("action") == "tune":
        doc["action"] = "train"
        params["is_tune"] = True
        if "hyperparameter" in params and "hyperparameters" not in params:
            params["hyperparameters"] = params.pop("hyperparameter")
        notices.append(
            "the 'tune' action is deprecated; this job was migrated to the train action with is_tune=true:\n"
            + json.dumps(doc, indent=2)
        )
    return doc, notices


# The mode rule itself is the type of ``params`` (job.JobParams: is_tune picks TrainingParams or
# TuningParams); these are its messages, for the errors pydantic reports against the chosen mode.
_MODE_REQUIRED = {
    ("training", "hyperparameter"): "hyperparameter is required when is_tune=False",
    ("tuning", "hyperparameters"): "hyperparameters is required when is_tune=True",
    ("tuning", "tune_config"): 'tune_config is required when is_tune=True, e.g. {"metric": "accuracy", "mode": "max"}',
}
_TUNING_ONLY = (
    '{key} is only used when is_tune=True; set "is_tune": true to tune, '
    "or remove it and give fixed values in 'hyperparameter'"
)
_MODES = ("training", "tuning")  # the tags of job.JobParams


def _mode_error(err: Any, doc: dict[str, Any]) -> FieldError | None:
    """The mode rule's message for a field the chosen mode requires or refuses, else None."""
    loc = err["loc"]
    if not (len(loc) == 3 and loc[0] == "params" and loc[1] in _MODES):
        return None
    mode, field_name = loc[1], loc[2]
    if not isinstance(doc["params"].get("is_tune", False), bool):
        return None  # the mode is unknown: the is_tune error says so
    path = f"params.{field_name}"
    if (mode, field_name) in _MODE_REQUIRED and (err["type"] == "missing" or err.get("input") is None):
        return FieldError(path, _MODE_REQUIRED[(mode, field_name)])
    if mode == "training" and err["type"] == "none_required":
        return FieldError(path, _TUNING_ONLY.format(key=field_name))
    return None


def _duplicate_name_errors(doc: dict[str, Any]) -> list[FieldError]:
    params = doc.get("params")
    specs = params.get("hyperparameters") if isinstance(params, dict) else None
    if not isinstance(specs, list):
        return []
    seen: set[str] = set()
    errors = []
    for index, spec in enumerate(specs):
        name = spec.get("name") if isinstance(spec, dict) else None
        if isinstance(name, str) and name in seen:
            errors.append(
                FieldError(
                    f"params.hyperparameters[{index}].name",
                    f"duplicate hyperparameter '{name}'; each name must appear once",
                )
            )
        if isinstance(name, str):
            seen.add(name)
    return errors


def _translate(err: Any, doc: dict[str, Any]) -> FieldError | None:
    raw = err["loc"]
    loc = _strip_tags(raw)
    kind = err["type"]
    field_name = loc[-1] if loc and isinstance(loc[-1], str) else None
    if len(raw) == 3 and raw[0] == "params" and raw[1] in _MODES:
        if field_name == "is_tune" and kind == "literal_error":
            return FieldError("params.is_tune", f"must be true or false, got {_show(err['input'])}")
        if field_name in ("hyperparameter", "hyperparameters", "tune_config") and kind in ("missing", "none_required"):
            return None  # with is_tune not a bool, whether the field belongs depends on the mode it leaves open
    parent = _lookup(doc, loc[:-1])
    path = _path(loc)

    if kind == "missing":
        if isinstance(parent, dict) and any(_SLIPS.get(slip) == field_name for slip in parent):
            return None  # the slip itself is reported with its fix
        spec_type = parent.get("type") if isinstance(parent, dict) else None
        model = DISTRIBUTION_TYPES.get(spec_type) if isinstance(spec_type, str) else None
        if field_name == "base" and model is not None and model.log:
            return FieldError(path, f"'base' is required for {spec_type}: the logarithm's base, typically 10 or 2")
        hint = _MISSING_HINTS.get(str(field_name), "")
        return FieldError(path, f"'{field_name}' is required" + (f"; {hint}" if hint else ""))
    if kind == "extra_forbidden":
        if field_name in _SLIPS:
            return FieldError(path, f"unknown field '{field_name}'; use '{_SLIPS[field_name]}' instead")
        allowed = _allowed_fields(loc[:-1], parent)
        close = difflib.get_close_matches(str(field_name), allowed, n=1)
        fix = f"did you mean '{close[0]}'?" if close else f"allowed fields: {', '.join(allowed)}"
        return FieldError(path, f"unknown field '{field_name}'; {fix}")
    if kind == "union_tag_invalid":
        return FieldError(path + ".type", f"unknown type {_show(err['input'].get('type'))}; use one of: {_TYPES}")
    if kind == "union_tag_not_found":
        return FieldError(path + ".type", f"'type' is required; use one of: {_TYPES}")
    if kind == "literal_error" and field_name == "action":
        return FieldError(path, f'unknown action {_show(err["input"])}; use "train" (or the deprecated "tune")')
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return FieldError(path, f"must be an integer, got {_show(err['input'])}")
    if kind in ("float_type", "float_parsing"):
        return FieldError(path, f"must be a number, got {_show(err['input'])}")
    if kind in ("bool_type", "bool_parsing"):
        return FieldError(path, f"must be true or false, got {_show(err['input'])}")
    if kind == "dict_type" and field_name == "hyperparameter":
        return FieldError(path, f'must be an object of fixed values, e.g. {{"epochs": 10}}, got {_show(err["input"])}')
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return FieldError(path, f"must be a JSON object, got {_show(err['input'])}")
    if kind == "list_type":
        return FieldError(path, f"must be a list, got {_show(err['input'])}")
    if kind == "too_short":
        return FieldError(path, "must not be empty; list at least one value")
    if kind in ("string_type", "string_too_short"):
        return FieldError(path, f"must be a non-empty string, got {_show(err['input'])}")
    if kind == "greater_than" and field_name in _SECONDS:
        return FieldError(
            path,
            f"must be a positive number of seconds, e.g. {_SECONDS[field_name]}, got {_show(err['input'])}; omit it for no limit",
        )
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return FieldError(path, f"{err['msg'].lower()}, got {_show(err['input'])}")
    if kind in _OWN_MESSAGES:
        return FieldError(path, err["msg"])
    return FieldError(path, f"{err['msg']}, got {_show(err['input'])}")


def _strip_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the tags pydantic puts in a location: the mode after ``params``, and a hyperparameter's
    type after its index."""
    out: list[Any] = []
    for i, part in enumerate(loc):
        if i == 1 and loc[0] == "params" and part in _MODES:
            continue
        if len(out) >= 2 and out[-2] == "hyperparameters" and isinstance(out[-1], int) and part in DISTRIBUTION_TYPES:
            continue
        out.append(part)
    return tuple(out)


def _path(loc: tuple[Any, ...]) -> str:
    return json_path(loc)


def _lookup(doc: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        try:
            doc = doc[part]
        except (KeyError, IndexError, TypeError):
            return None
    return doc


def _allowed_fields(loc: tuple[Any, ...], parent: Any) -> list[str]:
    models: dict[tuple[Any, ...], type[pydantic.BaseModel]] = {
        (): Job,
        ("params",): TrainingParams,  # the same fields as TuningParams
        ("params", "tune_config"): TuneConfig,
        ("params", "tune_config", "search_alg"): SearchAlgConfig,
        ("params", "tune_config", "scheduler"): SchedulerConfig,
    }
    model = models.get(tuple(loc))
    if model is None and isinstance(parent, dict):
        model = DISTRIBUTION_TYPES.get(parent.get("type"))  # type: ignore[arg-type]
    return list(model.model_fields) if model is not None else []


def _show(value: Any) -> str:
    text = json.dumps(value, default=repr) if not isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unique(errors: list[FieldError]) -> list[FieldError]:
    return list(dict.fromkeys(errors))
