"""The records a plugin process or a tuning trial sends to the process that owns the job.

Event records are stored as the job's events (their name is the event type): :class:`Metric`,
:class:`Visualization`, :class:`Message`, :class:`Progress`, :class:`Trials`. Control records
(names starting with ``_``) steer the job and are never stored as events: :class:`LogText`
(output for the job log), :class:`Result` and :class:`Error` (how ``train()`` ended),
:class:`TrialEnd` (a trial's last record) and :class:`ProgressDone` (a phase finished).

On the wire a record is ``marshal`` format 2 of ``(name, payload, time)``: the payload is the
plain dict the event stores, so a metric costs the plugin one small dict and one ``marshal`` call.
:func:`decode` trusts nothing: a record from a plugin going around :class:`~trainaction.run.TrainRun`
raises ``ValueError``/``TypeError`` naming the record and the field, and its reader decides what to do
(the pump drops it, counts it and says so in the job log). No I/O here: the spool, the pump and any
future transport (the HTTP backend, remote trials) carry these bytes.
"""

from __future__ import annotations

import marshal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

__all__ = [
    "CONTROL_RECORDS",
    "ERROR",
    "EVENT_RECORDS",
    "LOG_TEXT",
    "MESSAGE",
    "METRIC",
    "PROGRESS",
    "PROGRESS_DONE",
    "RESULT",
    "TRIALS",
    "TRIAL_END",
    "VISUALIZATION",
    "Control",
    "Error",
    "LogText",
    "Message",
    "Metric",
    "Progress",
    "ProgressDone",
    "Record",
    "Result",
    "TrialEnd",
    "Trials",
    "Visualization",
    "decode",
    "encode",
]

METRIC = "metric"
VISUALIZATION = "visualization"
MESSAGE = "message"
PROGRESS = "progress"
TRIALS = "trials"
LOG_TEXT = "_log"
RESULT = "_result"
ERROR = "_error"
TRIAL_END = "_trial_end"
PROGRESS_DONE = "_progress_done"

_FORMAT = 2  # marshal format 2: no back-references to track, the fastest encoding of plain values


def _check_keys(name: str, payload: dict[str, Any], required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    missing = [key for key in required if key not in payload]
    if missing:
        raise ValueError(f"{name} record: missing {', '.join(repr(k) for k in missing)}")
    unknown = [key for key in payload if key not in required and key not in optional]
    if unknown:
        allowed = ", ".join(repr(k) for k in required + optional)
        raise ValueError(f"{name} record: unknown field(s) {', '.join(map(repr, unknown))}; allowed: {allowed}")


def _typed(name: str, payload: dict[str, Any], key: str, kinds: type | tuple[type, ...], what: str) -> Any:
    value = payload.get(key)
    # bool is an int to isinstance; no field of a record means a bool by a number.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _as_tuple(kinds)):
        raise TypeError(f"{name} record: {key!r} must be {what}, got {type(value).__name__} {value!r:.60}")
    return value


def _as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _trial_id(name: str, payload: dict[str, Any]) -> str | None:
    return None if payload.get("trial_id") is None else _typed(name, payload, "trial_id", str, "a str")


def _tagged(payload: dict[str, Any], trial_id: str | None) -> dict[str, Any]:
    if trial_id is not None:
        payload["trial_id"] = trial_id
    return payload


_NUMBER = (int, float)
_FIELD_VALUE = (int, float, str, bool, type(None))


@dataclass(frozen=True, slots=True)
class Metric:
    """``value`` (None for NaN/inf) of ``category``/``key``; ``metrics`` holds the call's keywords (epoch=...)."""

    NAME: ClassVar[str] = METRIC
    category: str
    key: str
    value: int | float | None
    metrics: dict[str, Any]
    trial_id: str | None = None

    def to_payload(self) -> dict[str, Any]:
        payload = {"category": self.category, "key": self.key, "value": self.value, "metrics": self.metrics}
        return _tagged(payload, self.trial_id)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Metric:
        _check_keys(METRIC, payload, ("category", "key", "value", "metrics"), ("trial_id",))
        value = payload["value"]
        if value is not None:
            _typed(METRIC, payload, "value", _NUMBER, "a number or None")
        metrics = _typed(METRIC, payload, "metrics", dict, "a dict")
        for field, item in metrics.items():
            if not isinstance(field, str) or not isinstance(item, _FIELD_VALUE):
                raise TypeError(
                    f"metric record: 'metrics' maps names to numbers, strs, bools or None, got {field!r}: {item!r:.60}"
                )
        return cls(
            _typed(METRIC, payload, "category", str, "a str"),
            _typed(METRIC, payload, "key", str, "a str"),
            value,
            metrics,
            _trial_id(METRIC, payload),
        )


@dataclass(frozen=True, slots=True)
class Visualization:
    """An encoded image (``content``, a file of type ``extension``) for ``category``/``group`` at ``index``."""

    NAME: ClassVar[str] = VISUALIZATION
    category: str
    group: str
    index: int
    content: bytes
    extension: str
    trial_id: str | None = None

    def to_payload(self) -> dict[str, Any]:
        payload = {
            "category": self.category,
            "group": self.group,
            "index": self.index,
            "content": self.content,
            "extension": self.extension,
        }
        return _tagged(payload, self.trial_id)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Visualization:
        name = VISUALIZATION
        _check_keys(name, payload, ("category", "group", "index", "content", "extension"), ("trial_id",))
        return cls(
            _typed(name, payload, "category", str, "a str"),
            _typed(name, payload, "group", str, "a str"),
            _typed(name, payload, "index", int, "an int"),
            _typed(name, payload, "content", bytes, "bytes"),
            _typed(name, payload, "extension", str, "a str"),
            _trial_id(name, payload),
        )


@dataclass(frozen=True, slots=True)
class Message:
    """A line for the job log at ``level`` (debug, info, warning, error, critical)."""

    NAME: ClassVar[str] = MESSAGE
    text: str
    level: str
    trial_id: str | None = None

    def to_payload(self) -> dict[str, Any]:
        return _tagged({"text": self.text, "level": self.level}, self.trial_id)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Message:
        _check_keys(MESSAGE, payload, ("text", "level"), ("trial_id",))
        return cls(
            _typed(MESSAGE, payload, "text", str, "a str"),
            _typed(MESSAGE, payload, "level", str, "a str"),
            _trial_id(MESSAGE, payload),
        )


@dataclass(frozen=True, slots=True)
class Progress:
    """``current`` of ``total`` done in ``category``; a trial's progress is stored, not folded into the job's."""

    NAME: ClassVar[str] = PROGRESS
    category: str
    current: int | float
    total: int | float
    trial_id: str | None = None

    def to_payload(self) -> dict[str, Any]:
        return _tagged({"category": self.category, "current": self.current, "total": self.total}, self.trial_id)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Progress:
        _check_keys(PROGRESS, payload, ("category", "current", "total"), ("trial_id",))
        return cls(
            _typed(PROGRESS, payload, "category", str, "a str"),
            _typed(PROGRESS, payload, "current", _NUMBER, "a number"),
            _typed(PROGRESS, payload, "total", _NUMBER, "a number"),
            _trial_id(PROGRESS, payload),
        )


@dataclass(frozen=True, slots=True)
class Trials:
    """A trials table, or the rows of one that changed: ``{"trials": {id: row}, "base", ..., "best_trial"}``."""

    NAME: ClassVar[str] = TRIALS
    table: dict[str, Any]

    def to_payload(self) -> dict[str, Any]:
        return self.table

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Trials:
        rows = payload.get("trials", {})
        if not isinstance(rows, dict) or not all(isinstance(row, dict) for row in rows.values()):
            raise TypeError("trials record: 'trials' must map trial ids to dicts of column values")
        return cls(payload)


@dataclass(frozen=True, slots=True)
class LogText:
    """Text for the job log as it is (a trial's prints, already prefixed with the trial id)."""

    NAME: ClassVar[str] = LOG_TEXT
    text: str

    def to_payload(self) -> dict[str, Any]:
        return {"text": self.text}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> LogText:
        _check_keys(LOG_TEXT, payload, ("text",))
        return cls(_typed(LOG_TEXT, payload, "text", str, "a str"))


@dataclass(frozen=True, slots=True)
class Result:
    """``train()`` returned: the path it returned (if any) and ``run.checkpoint_output``."""

    NAME: ClassVar[str] = RESULT
    returned_path: str | None
    checkpoint_output: str | None

    def to_payload(self) -> dict[str, Any]:
        return {"returned_path": self.returned_path, "checkpoint_output": self.checkpoint_output}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Result:
        _check_keys(RESULT, payload, ("returned_path", "checkpoint_output"))
        return cls(_optional_str(RESULT, payload, "returned_path"), _optional_str(RESULT, payload, "checkpoint_output"))


@dataclass(frozen=True, slots=True)
class Error:
    """``train()`` raised: ``message`` is ``Type: text``, ``traceback`` the formatted traceback."""

    NAME: ClassVar[str] = ERROR
    message: str
    traceback: str

    def to_payload(self) -> dict[str, Any]:
        return {"message": self.message, "traceback": self.traceback}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Error:
        _check_keys(ERROR, payload, ("message", "traceback"))
        return cls(_typed(ERROR, payload, "message", str, "a str"), _typed(ERROR, payload, "traceback", str, "a str"))


@dataclass(frozen=True, slots=True)
class TrialEnd:
    """A trial's last record: its spool can be closed; ``checkpoint_output`` as the trial left it."""

    NAME: ClassVar[str] = TRIAL_END
    trial_id: str
    checkpoint_output: str | None

    def to_payload(self) -> dict[str, Any]:
        return {"trial_id": self.trial_id, "checkpoint_output": self.checkpoint_output}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> TrialEnd:
        _check_keys(TRIAL_END, payload, ("trial_id", "checkpoint_output"))
        return cls(
            _typed(TRIAL_END, payload, "trial_id", str, "a str"),
            _optional_str(TRIAL_END, payload, "checkpoint_output"),
        )


@dataclass(frozen=True, slots=True)
class ProgressDone:
    """Phase ``category`` is done: its ``current`` becomes its ``total``, whatever total was last set."""

    NAME: ClassVar[str] = PROGRESS_DONE
    category: str

    def to_payload(self) -> dict[str, Any]:
        return {"category": self.category}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ProgressDone:
        _check_keys(PROGRESS_DONE, payload, ("category",))
        return cls(_typed(PROGRESS_DONE, payload, "category", str, "a str"))


def _optional_str(name: str, payload: dict[str, Any], key: str) -> str | None:
    return None if payload[key] is None else _typed(name, payload, key, str, "a str or None")


Record: TypeAlias = (
    Metric | Visualization | Message | Progress | Trials | LogText | Result | Error | TrialEnd | ProgressDone
)
Control: TypeAlias = Result | Error | TrialEnd
"""The records that tell the job's owner how the plugin or a trial ended."""

EVENT_RECORDS: tuple[type[Record], ...] = (Metric, Visualization, Message, Trials, Progress)
CONTROL_RECORDS: tuple[type[Record], ...] = (LogText, Result, Error, TrialEnd, ProgressDone)
_BY_NAME: dict[str, Callable[[dict[str, Any]], Record]] = {
    kind.NAME: kind.from_payload for kind in EVENT_RECORDS + CONTROL_RECORDS
}


def encode(record: Record, at: float | None = None) -> bytes:
    """The record's bytes, stamped with ``at`` (now by default)."""
    return marshal.dumps((record.NAME, record.to_payload(), time.time() if at is None else at), _FORMAT)


def encode_metric(
    category: str, key: str, value: int | float | None, metrics: dict[str, Any], trial_id: str | None
) -> bytes:
    """``encode(Metric(category, key, value, metrics, trial_id))`` without making the record first: the
    call a training loop makes every step (:meth:`trainaction.run.TrainRun.log_metric`)."""
    payload = {"category": category, "key": key, "value": value, "metrics": metrics}
    if trial_id is not None:
        payload["trial_id"] = trial_id
    return marshal.dumps((METRIC, payload, time.time()), _FORMAT)


def decode(data: bytes) -> tuple[Record, float]:
    """The record in ``data`` and the time it was sent; ``ValueError``/``TypeError`` saying what is wrong."""
    try:
        decoded = marshal.loads(data)
    except (EOFError, ValueError, TypeError) as exc:
        raise ValueError(f"not a marshalled record ({exc})") from None
    if not (isinstance(decoded, tuple) and len(decoded) == 3 and isinstance(decoded[0], str)):
        raise ValueError("not a (name, payload, time) record")
    name, payload, at = decoded
    if not isinstance(payload, dict):
        raise ValueError(f"{name} record: its payload is {type(payload).__name__}, not a dict")
    if isinstance(at, bool) or not isinstance(at, (int, float)):
        raise ValueError(f"its time is {at!r}, not a number")
    make = _BY_NAME.get(name)
    if make is None:
        raise ValueError(f"unknown record {name!r}; known: {', '.join(_BY_NAME)}")
    return make(payload), float(at)
