"""Locate and load a plugin: a directory with ``plugin.py`` (or a dotted module path).

A plugin defines ``train(run, dataset, hyperparameter, checkpoint, **kwargs)`` and optionally
``tune(hyperparameter, run, dataset, checkpoint, **kwargs)`` — note the different argument order.
An optional ``plugin.yaml`` manifest gives name, version, description and a JSON Schema
(``hyperparameter_schema``) that a training job's ``hyperparameter`` must satisfy.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pydantic
import yaml

from .errors import FieldError, PluginError

__all__ = ["Manifest", "Plugin", "load_plugin"]

_TRAIN_SIGNATURE = "train(run, dataset, hyperparameter, checkpoint, **kwargs)"
_TUNE_SIGNATURE = "tune(hyperparameter, run, dataset, checkpoint, **kwargs)"


class Manifest(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str = "0.0.0"
    description: str = ""
    hyperparameter_schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class Plugin:
    """A loaded plugin. ``source`` is what :func:`load_plugin` was given, resolved."""

    source: str
    module: ModuleType
    train: Callable[..., Any]
    tune: Callable[..., Any] | None
    manifest: Manifest | None

    @property
    def name(self) -> str:
        return self.manifest.name if self.manifest else Path(self.source).name

    def hyperparameter_errors(self, hyperparameter: dict[str, Any]) -> list[FieldError]:
        """Problems with a training job's ``hyperparameter`` under the manifest's JSON Schema."""
        schema = self.manifest.hyperparameter_schema if self.manifest else None
        if schema is None:
            return []
        import jsonschema

        validator = jsonschema.Draft202012Validator(schema)
        errors = []
        for error in sorted(validator.iter_errors(hyperparameter), key=lambda e: list(e.absolute_path)):
            path = "params.hyperparameter" + "".join(
                f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
            )
            errors.append(FieldError(path, f"{error.message} (plugin '{self.name}' schema)"))
        return errors

    def call_train(self, run: Any, dataset: Any, hyperparameter: dict[str, Any], checkpoint: Any) -> Any:
        return self.train(run, dataset, hyperparameter, checkpoint)

    def call_tune(self, hyperparameter: dict[str, Any], run: Any, dataset: Any, checkpoint: Any) -> Any:
        if self.tune is None:
            raise PluginError(f"plugin '{self.name}' has no tune() function; tuning jobs need {_TUNE_SIGNATURE}")
        return self.tune(hyperparameter, run, dataset, checkpoint)


def load_plugin(source: str | Path) -> Plugin:
    """Import a plugin from a directory (containing ``plugin.py``) or a dotted module path."""
    text = str(source)
    path = Path(text).expanduser()
    looks_like_module = not path.exists() and "/" not in text and text.replace(".", "").replace("_", "").isalnum()
    if looks_like_module:
        module = _import_module(text)
        manifest = None
        resolved = text
    else:
        directory = path.resolve()
        if not directory.is_dir():
            raise PluginError(
                f"plugin directory '{text}' does not exist; pass the folder that holds plugin.py "
                "(`trainaction init DIR` writes a starter plugin)"
            )
        module = _import_file(directory)
        manifest = _load_manifest(directory)
        resolved = str(directory)
    return Plugin(
        source=resolved,
        module=module,
        train=_function(module, "train", _TRAIN_SIGNATURE, required=True),  # type: ignore[arg-type]
        tune=_function(module, "tune", _TUNE_SIGNATURE, required=False),
        manifest=manifest,
    )


def _import_file(directory: Path) -> ModuleType:
    file = directory / "plugin.py"
    if not file.is_file():
        raise PluginError(f"plugin directory '{directory}' has no plugin.py; it must define {_TRAIN_SIGNATURE}")
    # A name unique to the directory, so two plugins loaded in one process never collide.
    name = f"trainaction_plugin_{hashlib.sha1(str(directory).encode()).hexdigest()[:12]}"
    if name in sys.modules:
        return sys.modules[name]
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))  # so the plugin can import its own sibling modules
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:  # a plugin.py that exists always has a loader
        raise PluginError(f"cannot load '{file}' as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        del sys.modules[name]
        raise PluginError(
            f"plugin {file} has a syntax error at line {exc.lineno}: {exc.msg}; fix the file and run again"
        ) from exc
    except Exception as exc:
        del sys.modules[name]
        raise PluginError(
            f"importing plugin {file} failed with {type(exc).__name__}: {exc}; "
            "check the plugin's imports and that its dependencies are installed"
        ) from exc
    return module


def _import_module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except SyntaxError as exc:
        raise PluginError(f"plugin module '{name}' has a syntax error at line {exc.lineno}: {exc.msg}") from exc
    except Exception as exc:
        raise PluginError(
            f"cannot import plugin '{name}': {type(exc).__name__}: {exc}; pass a plugin directory "
            "or a module path importable from here"
        ) from exc


def _function(module: ModuleType, name: str, signature: str, *, required: bool) -> Callable[..., Any] | None:
    where = getattr(module, "__file__", None) or module.__name__
    function: Callable[..., Any] | None = getattr(module, name, None)
    if function is None:
        if required:
            raise PluginError(f"plugin {where} has no {name}() function; define {signature}")
        return None
    if not callable(function):
        raise PluginError(f"plugin {where}: '{name}' is not a function; define {signature}")
    try:
        inspect.signature(function).bind(None, None, None, None)
    except TypeError:
        raise PluginError(
            f"plugin {where}: {name}{inspect.signature(function)} cannot be called as {signature}; "
            "it must take those four arguments in that order"
        ) from None
    except ValueError:
        pass  # builtins without a signature: trust them
    return function


def _load_manifest(directory: Path) -> Manifest | None:
    file = directory / "plugin.yaml"
    if not file.is_file():
        return None
    try:
        manifest = Manifest.model_validate(yaml.safe_load(file.read_text(encoding="utf-8")))
    except yaml.YAMLError as exc:
        raise PluginError(f"plugin manifest {file} is not valid YAML: {exc}") from exc
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'manifest'}: {e['msg']}" for e in exc.errors())
        raise PluginError(f"plugin manifest {file} is invalid: {problems}") from exc
    if manifest.hyperparameter_schema is not None:
        import jsonschema

        try:
            jsonschema.Draft202012Validator.check_schema(manifest.hyperparameter_schema)
        except jsonschema.SchemaError as exc:
            raise PluginError(
                f"plugin manifest {file}: hyperparameter_schema is not a valid JSON Schema: {exc.message}"
            ) from exc
    return manifest
