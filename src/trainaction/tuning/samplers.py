"""Optuna samplers by name, for ``optunasearch``'s ``options.sampler`` and ``options.sampler_options``.

Ray's ``OptunaSearch`` takes a sampler *object* (and otherwise runs ``TPESampler(seed=seed)``), which
a JSON job cannot hold: the job names the sampler, and its options are checked against the sampler's
own signature before Ray starts. An option is settable from JSON when its annotation is made of
``bool``, ``int``, ``float``, ``str``, ``dict[str, Any]`` and ``None``; options that take Python
objects (callables, other samplers, trials) are refused, as are ones Optuna has deprecated.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from dataclasses import dataclass
from typing import Any

from ..errors import FieldError

__all__ = ["DEFAULT_SAMPLER", "SAMPLERS", "build_sampler", "describe_sampler", "sampler_errors"]


@dataclass(frozen=True)
class _Sampler:
    cls: str  # in optuna.samplers
    needs: str | None = None  # a module imported only when the sampler first samples
    install: str = ""


SAMPLERS: dict[str, _Sampler] = {
    "tpe": _Sampler("TPESampler"),
    # GPSampler's Gaussian process is written in PyTorch; torch is imported at its first suggestion.
    "gp": _Sampler("GPSampler", "torch", "pip install 'trainaction[tune]' (PyTorch, CPU build)"),
    "cmaes": _Sampler("CmaEsSampler", "cmaes", "pip install cmaes"),
    "qmc": _Sampler("QMCSampler", "scipy", "pip install scipy"),
    "random": _Sampler("RandomSampler"),
}
# Ray's own choice when no sampler is given: TPESampler(seed=seed), univariate.
DEFAULT_SAMPLER = "tpe"
_PATH = "params.tune_config.search_alg.options"
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "bool": (bool,),
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "None": (type(None),),
    "dict[str, Any]": (dict,),
}


def _sampler_class(name: str) -> type:
    import optuna

    cls: type = getattr(optuna.samplers, SAMPLERS[name].cls)
    return cls


def _json_types(annotation: Any) -> tuple[type, ...] | None:
    """The JSON values an option accepts, from its annotation string; None when it takes Python objects."""
    if not isinstance(annotation, str):
        return None
    accepted: tuple[type, ...] = ()
    for part in (p.strip() for p in annotation.split("|")):
        if part not in _JSON_TYPES:
            return None
        accepted += _JSON_TYPES[part]
    return accepted


def _settable(name: str) -> dict[str, tuple[type, ...]]:
    """The sampler's options a job may set, with the JSON types each takes (``seed`` comes from tune_config)."""
    params = inspect.signature(_sampler_class(name)).parameters.values()
    settable = {}
    for param in params:
        types = _json_types(param.annotation)
        if param.name != "seed" and types is not None:
            settable[param.name] = types
    return settable


def _type_name(types: tuple[type, ...]) -> str:
    names = {bool: "true/false", int: "an integer", float: "a number", str: "a string", dict: "an object"}
    words = [names[t] for t in dict.fromkeys(types) if t in names]
    if float in types and int in types:
        words.remove("an integer")
    return " or ".join(words) + (" or null" if type(None) in types else "")


def _is_type(value: Any, types: tuple[type, ...]) -> bool:
    # JSON true/false must not pass as a number: bool is a subclass of int in Python.
    if isinstance(value, bool):
        return bool in types
    return isinstance(value, types)


def sampler_errors(options: dict[str, Any]) -> list[FieldError]:
    """Problems with ``options.sampler`` / ``options.sampler_options``, each with its JSON path."""
    name = options.get("sampler", DEFAULT_SAMPLER)
    if not isinstance(name, str) or name not in SAMPLERS:
        return [FieldError(f"{_PATH}.sampler", f"unknown sampler {name!r}; allowed: {', '.join(SAMPLERS)}")]
    entry = SAMPLERS[name]
    if entry.needs is not None:
        try:
            importlib.import_module(entry.needs)
        except ImportError:
            return [FieldError(f"{_PATH}.sampler", f"sampler {name!r} needs {entry.needs}: {entry.install}")]
    given = options.get("sampler_options", {})
    if not isinstance(given, dict):
        return [FieldError(f"{_PATH}.sampler_options", f"must be an object of {name} options, got {given!r}")]
    settable = _settable(name)
    signature = {p.name: p.annotation for p in inspect.signature(_sampler_class(name)).parameters.values()}
    errors = []
    for key, value in given.items():
        path = f"{_PATH}.sampler_options.{key}"
        if key == "seed":
            errors.append(FieldError(path, "set the seed with params.tune_config.seed; it seeds the sampler"))
        elif key not in settable:
            allowed = ", ".join(sorted(settable)) or "none"
            annotation = signature.get(key)
            what = (
                f"takes a Python object ({annotation}), which a JSON job cannot hold"
                if annotation is not None
                else f"unknown option for sampler {name!r}"
            )
            errors.append(FieldError(path, f"{what}; allowed: {allowed}"))
        elif not _is_type(value, settable[key]):
            errors.append(FieldError(path, f"must be {_type_name(settable[key])}, got {value!r}"))
    if not errors:
        try:
            build_sampler(options, None)
        except (ValueError, TypeError, FutureWarning, DeprecationWarning) as exc:
            errors.append(FieldError(f"{_PATH}.sampler_options", f"optuna refused these options for {name!r}: {exc}"))
    return errors


def build_sampler(options: dict[str, Any], seed: int | None) -> Any:
    """The Optuna sampler the options name, seeded with ``tune_config.seed``; options already checked."""
    from optuna.exceptions import ExperimentalWarning

    name = options.get("sampler", DEFAULT_SAMPLER)
    with warnings.catch_warnings():
        # Experimental samplers (QMC) still run as documented; a deprecated option is an error, so that
        # a job keeps meaning the same thing when Optuna removes it.
        warnings.simplefilter("ignore", ExperimentalWarning)
        warnings.simplefilter("error", FutureWarning)
        warnings.simplefilter("error", DeprecationWarning)
        return _sampler_class(name)(seed=seed, **options.get("sampler_options", {}))


def describe_sampler(options: dict[str, Any], seed: int | None) -> str:
    """The sampler that will run, as Python would write it: ``TPESampler(multivariate=True, seed=7)``."""
    name = options.get("sampler", DEFAULT_SAMPLER)
    arguments = [f"{key}={value!r}" for key, value in options.get("sampler_options", {}).items()]
    arguments.append(f"seed={seed!r}")
    return f"optuna.samplers.{SAMPLERS[name].cls}({', '.join(arguments)})"
