"""TrainRun: the handle a plugin logs through. It never waits on I/O.

Events go to a *sink*. In a job the sink is a shared-memory spool read by the job's owner
(see :mod:`trainaction.spool`); in tests it can be a plain list (:mod:`trainaction.testing`).
"""

from __future__ import annotations

import io
import marshal
import os
import time
from pathlib import Path
from typing import Any, Protocol

from .events import plain
from .spool import SpoolWriter

__all__ = ["EventSink", "SpoolSink", "TrainRun"]


class EventSink(Protocol):
    def emit(self, type: str, data: dict[str, Any]) -> None: ...


class SpoolSink:
    """Writes each event into a :class:`SpoolWriter` as a marshalled ``(type, data, time)`` tuple."""

    def __init__(self, writer: SpoolWriter) -> None:
        self._write = writer.write

    def emit(self, type: str, data: dict[str, Any]) -> None:
        # Format 2: no back-references to track, the fastest encoding of these plain values.
        self._write(marshal.dumps((type, data, time.time()), 2))


class TrainRun:
    """What ``train()`` and ``tune()`` receive as ``run``.

    ``checkpoint_output``: set it to the path of the model files to upload.
    ``output_dir``: a scratch folder for this job (or trial), created for you.
    """

    def __init__(
        self,
        sink: EventSink,
        *,
        output_dir: str | Path,
        is_tune: bool = False,
        trial_id: str | None = None,
    ) -> None:
        self._emit = sink.emit
        self.output_dir = Path(output_dir)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.is_tune = is_tune
        self.trial_id = trial_id
        self.checkpoint_output: str | None = None

    def _tag(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.trial_id is not None:
            data["trial_id"] = self.trial_id
        return data

    def log_metric(self, category: str, key: str, value: Any, **metrics: Any) -> None:
        """Record ``value`` for ``category``/``key``; keyword arguments (epoch=..., step=...) go in ``metrics``."""
        data = {
            "category": category,
            "key": key,
            "value": plain(value),
            "metrics": {name: plain(v) for name, v in metrics.items()},
        }
        if self.trial_id is not None:
            data["trial_id"] = self.trial_id
        self._emit("metric", data)

    def log_visualization(self, category: str, group: str, index: int, image: Any) -> None:
        """Store an image: a file path, PNG/JPEG bytes, a PIL image, or a numpy array (HxW or HxWxC)."""
        content, extension = _image_bytes(image)
        data = {"category": category, "group": group, "index": plain(index), "content": content, "extension": extension}
        self._emit("visualization", self._tag(data))

    def log_message(self, text: str, level: str = "info") -> None:
        self._emit("message", self._tag({"text": str(text), "level": level}))

    def set_progress(self, current: float, total: float, category: str = "train") -> None:
        self._emit("progress", self._tag({"category": category, "current": plain(current), "total": plain(total)}))

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
        self._emit("trials", plain(data))


def _image_bytes(image: Any) -> tuple[bytes, str]:
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        return path.read_bytes(), (path.suffix.lstrip(".").lower() or "png")
    if isinstance(image, (bytes, bytearray)):
        return bytes(image), "jpg" if image[:3] == b"\xff\xd8\xff" else "png"
    from PIL import Image  # imported here: only plugins that log images pay for it

    if not isinstance(image, Image.Image):
        image = Image.fromarray(_as_uint8(image))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue(), "png"


def _as_uint8(array: Any) -> Any:
    import numpy as np

    array = np.asarray(array)
    if array.dtype != np.uint8:
        low, high = float(array.min()), float(array.max())
        scale = 255.0 / (high - low) if high > low else 0.0
        array = ((array - low) * scale).astype(np.uint8)
    return array
