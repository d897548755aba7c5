"""TrainRun: the handle a plugin logs through. It never waits on I/O.

Each call becomes a typed record (:mod:`trainaction.wire`) sent to a *sink*. In a job the sink is a
shared-memory spool read by the job's owner (see :mod:`trainaction.spool`); in tests it can be a plain
list (:mod:`trainaction.testing`).
"""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any, Protocol

from .arguments import LOG_LEVELS, check_name, field_value, image_bytes, metric_value, progress_values
from .events import plain
from .spool import SpoolWriter
from .wire import Message, Metric, Progress, Record, Trials, Visualization, encode, encode_metric

__all__ = ["RecordSink", "SpoolSink", "TrainRun"]

# Name pairs already checked; bounded so a plugin logging ever-new keys cannot grow it without end.
_NAME_CACHE = 4096


class RecordSink(Protocol):
    def send(self, record: Record) -> None: ...


class SpoolSink:
    """Writes each record into a :class:`SpoolWriter`, encoded by :func:`trainaction.wire.encode`."""

    def __init__(self, writer: SpoolWriter) -> None:
        self._write = writer.write

    def send(self, record: Record) -> None:
        self._write(encode(record))

    def send_metric(
        self, category: str, key: str, value: int | float | None, metrics: dict[str, Any], trial_id: str | None
    ) -> None:
        """``send(Metric(...))`` without the record object, for the call made every training step."""
        self._write(encode_metric(category, key, value, metrics, trial_id))


class TrainRun:
    """What ``train()`` and ``tune()`` receive as ``run``.

    ``checkpoint_output``: set it to the path of the model files to upload.
    ``output_dir``: a scratch folder for this job (or trial), created for you.
    """

    def __init__(
        self,
        sink: RecordSink,
        *,
        output_dir: str | Path,
        is_tune: bool = False,
        trial_id: str | None = None,
    ) -> None:
        self._send = sink.send
        # A sink that writes a metric straight from its fields (the spool's) saves log_metric, the
        # call a training loop makes every step, the record object; other sinks get the record.
        self._send_metric = getattr(sink, "send_metric", None)
        self.output_dir = Path(output_dir)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.is_tune = is_tune
        self.trial_id = trial_id
        self.checkpoint_output: str | None = None
        self._names: set[tuple[str, str]] = set()

    def log_metric(self, category: str, key: str, value: Any, **metrics: Any) -> None:
        """Record ``value`` for ``category``/``key``; keyword arguments (epoch=..., step=...) go in ``metrics``.

        ``value`` is a number (numpy/torch scalars too; NaN is stored as null); the keywords are numbers,
        strings, bools or None. Names follow :mod:`trainaction.arguments`. A bad argument raises here.
        """
        # The fast path (a few type tests and one set lookup) keeps this call cheap in a training loop;
        # everything unusual takes the full check once per name pair.
        if type(category) is not str or type(key) is not str or (category, key) not in self._names:
            category, key = self._check_names(category, key)
        kind = type(value)
        if kind is float:
            if value - value != 0.0:  # NaN or ±inf: stored as null, as JSON has no such numbers
                value = None
        elif kind is not int:
            value = metric_value(value)
        for name, field in metrics.items():  # the call's own dict: its values are replaced, not its keys
            kind = type(field)
            if kind is not int and kind is not str:
                metrics[name] = field_value(name, field)
        if self._send_metric is not None:
            self._send_metric(category, key, value, metrics, self.trial_id)
        else:
            self._send(Metric(category, key, value, metrics, self.trial_id))

    def _check_names(self, category: Any, key: Any) -> tuple[str, str]:
        names = check_name("category", category), check_name("key", key)
        if type(category) is str and type(key) is str and len(self._names) < _NAME_CACHE:
            self._names.add(names)
        return names

    def log_visualization(self, category: str, group: str, index: int, image: Any) -> None:
        """Store an image: a file path, PNG/JPEG/GIF/BMP/WebP bytes, a PIL image, or an array (HxW or HxWxC)."""
        category, group = check_name("category", category), check_name("group", group)
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"index must be an int (e.g. the epoch), got {type(index).__name__} {index!r}")
        content, extension = image_bytes(image)
        self._send(Visualization(category, group, int(index), content, extension, self.trial_id))

    def log_message(self, text: Any, level: str = "info") -> None:
        """Add a line to the job log; ``level`` is one of debug, info, warning, error, critical."""
        if not isinstance(level, str) or level.lower() not in LOG_LEVELS:
            raise ValueError(f"level must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
        self._send(Message(str(text), level.lower(), self.trial_id))

    def set_progress(self, current: float, total: float, category: str = "train") -> None:
        """Report ``current`` of ``total`` done (0 <= current <= total, total > 0) for ``category``."""
        category = check_name("category", category)
        current, total = progress_values(current, total)
        self._send(Progress(category, current, total, self.trial_id))

    def log_trials(
        self,
        data: dict[str, Any] | None = None,
        *,
        trials: dict[str, dict[str, Any]] | None = None,
        base: list[str] | None = None,
        hyperparameters: list[str] | None = None,
        metrics: list[str] | None = None,
        best_trial: str = "",
    ) -> None:
        """Record a trials table: ``trials`` maps trial id → column values."""
        if data is None:
            data = {
                "trials": trials or {},
                "base": base or ["status"],
                "hyperparameters": hyperparameters or [],
                "metrics": metrics or [],
                "best_trial": best_trial,
            }
        if not isinstance(data, dict) or not isinstance(data.get("trials", {}), dict):
            raise TypeError("log_trials: data must be a dict whose 'trials' maps trial id → dict of column values")
        if not all(isinstance(row, dict) for row in data.get("trials", {}).values()):
            raise TypeError("log_trials: each trial must be a dict of column values")
        self._send(Trials(plain(data)))
