"""Read an untrusted job file as strict JSON, or say exactly why it is not one.

Python's :mod:`json` is lenient where a job document must not be: it accepts ``NaN`` and
``Infinity`` (JSON has neither), turns ``1e400`` into ``inf``, and raises ``RecursionError`` on
deep nesting. Here each of those becomes a :class:`~trainaction.errors.FieldError` naming the file
or the JSON path, so ``validate`` and ``run`` answer with exit status 2, never a traceback.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from .errors import FieldError, ValidationError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "json_path", "read_json_file"]

# A job document is a few kilobytes; these limits only stop garbage from costing memory or a crash.
MAX_BYTES = 16 << 20
MAX_DEPTH = 64
# Python refuses to parse integers longer than this (sys.get_int_max_str_digits) with a ValueError.
_MAX_INT_DIGITS = 4000

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Bad:
    """Stands in for a value JSON does not allow, so that its path can be reported after parsing."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def read_json_file(path: str | Path) -> Any:
    """The JSON value in ``path``; :class:`ValidationError` if it is missing, not UTF-8 or not strict JSON."""
    path = Path(path)
    try:
        if path.is_dir():
            raise _error(f"{path} is a folder; give the path of the job's JSON file")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise _error(f"{path} is {size} bytes; a job document is at most {MAX_BYTES} bytes of JSON")
        data = path.read_bytes()
    except FileNotFoundError:
        raise _error(f"cannot read job file {path}: it does not exist; check the path") from None
    except OSError as exc:
        raise _error(f"cannot read job file {path}: {exc.strerror or exc}") from None
    return parse_json_bytes(data, str(path))


def parse_json_bytes(data: bytes, source: str) -> Any:
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark, as some editors write, is not an error
    except UnicodeDecodeError as exc:
        raise _error(
            f"{source} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save the job document as UTF-8 JSON"
        ) from None
    depth, where = _depth(text)
    if depth > MAX_DEPTH:
        line = text.count("\n", 0, where) + 1
        raise _error(
            f"{source} nests arrays/objects more than {MAX_DEPTH} levels deep (line {line}); flatten the document"
        )
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except json.JSONDecodeError as exc:
        raise _error(f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:  # the limits above should make these unreachable
        raise _error(f"{source} is not valid JSON: {exc}") from None
    errors = _bad_values(value)
    if errors:
        raise ValidationError(errors)
    return value


def _error(message: str) -> ValidationError:
    return ValidationError([FieldError("", message)])


def _depth(text: str) -> tuple[int, int]:
    """The deepest nesting of brackets outside strings, and where it first passed MAX_DEPTH."""
    without_strings = _STRING.sub(lambda m: " " * len(m.group()), text)
    depth = deepest = 0
    for match in _BRACKET.finditer(without_strings):
        depth += 1 if match.group() in "[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > MAX_DEPTH:
                return deepest, match.start()
    return deepest, 0


def _constant(name: str) -> _Bad:
    return _Bad(f"{name} is not a JSON number (JSON has no NaN or Infinity); give a finite number")


def _float(text: str) -> float | _Bad:
    value = float(text)
    if not math.isfinite(value):
        return _Bad(f"{text} is too large for a 64-bit float (at most about 1.8e308); give a smaller number")
    return value


def _int(text: str) -> int | _Bad:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        return _Bad(f"an integer with {len(text.lstrip('-'))} digits is too large; give a smaller number")
    return int(text)


def json_path(parts: tuple[Any, ...]) -> str:
    """``("params", "hyperparameters", 0, "min")`` → ``params.hyperparameters[0].min``."""
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _bad_values(value: Any) -> list[FieldError]:
    """Every stand-in and every unpaired surrogate, with its JSON path; iterative, so depth cannot crash it."""
    errors = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), value)]
    while stack:
        parts, item = stack.pop()
        if isinstance(item, _Bad):
            errors.append(FieldError(json_path(parts), item.reason))
        elif isinstance(item, str) and _SURROGATE.search(item):
            errors.append(FieldError(json_path(parts), _surrogate_message(item)))
        elif isinstance(item, dict):
            for key, child in item.items():
                if _SURROGATE.search(key):
                    errors.append(FieldError(json_path(parts), f"a key {_surrogate_message(key)}"))
                else:
                    stack.append(((*parts, key), child))
        elif isinstance(item, list):
            stack.extend(((*parts, index), child) for index, child in enumerate(item))
    return sorted(errors, key=lambda e: e.path)


def _surrogate_message(text: str) -> str:
    match = _SURROGATE.search(text)
    code = f"\\u{ord(match.group()):04x}" if match else ""
    return f"contains an unpaired UTF-16 surrogate ({code}), which is not a character; remove it or pair it"
