"""What ``validate`` checks beyond the document itself, found whatever else is wrong with it.

The document's structure is checked by :mod:`trainaction.validation`; these checks read the raw
document, so they report alongside its structure errors rather than after them are fixed:

- the fixed ``hyperparameter`` against the plugin's schema (with ``--plugin``);
- a tuning job's plugin has ``tune()`` (with ``--plugin``);
- the ``dataset`` and ``checkpoint`` ids exist, when there is a home to look in. A missing home is
  not created (a notice says the ids were not checked), and a read-only one is read.
"""

from __future__ import annotations

from typing import Any

from .backend import Backend, LocalBackend, default_home, open_backend, server_url
from .backend.database import DB_NAME
from .errors import FieldError, NotFoundError, PluginError, TrainActionError
from .plugin import load_plugin

__all__ = ["cross_check", "missing_records"]


def cross_check(
    document: Any,
    plugin: str | None,
    errors: list[dict[str, str]],
    notices: list[str],
    backend: Backend | None = None,
) -> tuple[list[dict[str, str]], list[str]]:
    """``errors`` and ``notices`` with what the plugin and the home add to those of the raw
    ``document`` (None when the file could not be read: that error is the report), each error once."""
    params = document.get("params") if isinstance(document, dict) else None
    if not isinstance(params, dict):
        return errors, notices
    tuning = params.get("is_tune") is True or document.get("action") == "tune"
    found = list(errors)
    if plugin is not None:
        found += _plugin_errors(plugin, params, tuning, errors)
    more, notes = _id_errors(params, errors, backend)
    found += more
    unique = list({(e["path"], e["message"]): e for e in found}.values())
    return unique, notices + notes


def _plugin_errors(
    plugin: str, params: dict[str, Any], tuning: bool, known: list[dict[str, str]]
) -> list[dict[str, str]]:
    try:
        loaded = load_plugin(plugin)
    except PluginError as exc:
        return [{"path": "--plugin", "message": str(exc)}]
    errors = []
    if tuning and loaded.tune is None:
        errors.append(
            {
                "path": "params.is_tune",
                "message": f"plugin '{loaded.name}' has no tune() function; a tuning job needs "
                'tune(hyperparameter, run, dataset, checkpoint, **kwargs) in the plugin, or set "is_tune": false',
            }
        )
    hyperparameter = params.get("hyperparameter")
    if isinstance(hyperparameter, dict) and not any(e["path"].startswith("params.hyperparameter") for e in known):
        errors += [e.to_dict() for e in loaded.hyperparameter_errors(hyperparameter)]
    return errors


def _id_errors(
    params: dict[str, Any], known: list[dict[str, str]], backend: Backend | None
) -> tuple[list[dict[str, str]], list[str]]:
    wanted: dict[str, int] = {
        key: int(params[key])
        for key in ("dataset", "checkpoint")
        if _is_id(params.get(key)) and not any(e["path"] == f"params.{key}" for e in known)
    }
    if not wanted:
        return [], []
    try:
        if backend is None and server_url() is not None:
            backend = open_backend(create=False)
        if backend is not None:
            return [e.to_dict() for e in missing_records(backend, wanted.get("dataset"), wanted.get("checkpoint"))], []
    except TrainActionError as exc:
        return [], [f"dataset and checkpoint ids were not checked: {exc}"]
    home = default_home()
    if not (home / DB_NAME).exists():
        return [], [
            f"no trainaction home at {home}; dataset and checkpoint ids were not checked "
            "(set TRAINACTION_HOME or run a job first)"
        ]
    try:
        backend = LocalBackend(home, create=False)
    except TrainActionError as exc:
        return [], [f"dataset and checkpoint ids were not checked: {exc}"]
    return [e.to_dict() for e in missing_records(backend, wanted.get("dataset"), wanted.get("checkpoint"))], []


def missing_records(backend: Backend, dataset: int | None, checkpoint: int | None) -> list[FieldError]:
    """An error for the ``dataset`` and for the ``checkpoint`` (a model id) the backend does not have."""
    errors = []
    if dataset is not None:
        try:
            backend.get_dataset(dataset)
        except NotFoundError as exc:
            errors.append(FieldError("params.dataset", str(exc)))
    if checkpoint is not None:
        try:
            backend.get_model(checkpoint)
        except NotFoundError as exc:
            errors.append(FieldError("params.checkpoint", f"{exc} (a checkpoint is a model id)"))
    return errors


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
