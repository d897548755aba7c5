"""The checks :class:`~trainaction.run.TrainRun` applies to a plugin's arguments, at the call.

A bad argument is the plugin's error: it raises ``TypeError`` (wrong kind) or ``ValueError`` (right
kind, wrong value) in the plugin, at the line that made the call, naming the argument and what is
allowed. What has an obvious meaning is accepted and stored in its plain form: an ``int`` name (a
class index) as its string, a numpy/torch scalar as the Python number it holds.

Rules for names (``category``, ``key``, ``group``, a progress ``category``): a ``str`` or an ``int``;
not empty; at most 255 bytes of UTF-8 (what one file name may hold: visualizations are stored
under files named after them); no NUL character. ``/`` is allowed (``"train/loss"`` is a common
key) — where a name becomes part of a file path it is made safe there.
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path
from typing import Any

__all__ = [
    "LOG_LEVELS",
    "MAX_NAME_BYTES",
    "check_name",
    "field_value",
    "image_bytes",
    "metric_value",
    "progress_values",
]

MAX_NAME_BYTES = 255
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")

# Signatures of the encoded image formats we store as they are; anything else is not an image.
_IMAGE_SIGNATURES = (
    (b"\x89PNG", "png"),
    (b"\xff\xd8\xff", "jpg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)
_IMAGE_KINDS = "a path to a PNG/JPEG/GIF/BMP/WebP file, the bytes of one, a PIL image, or an array of shape HxW or HxWxC (C = 1, 3 or 4)"


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60] + '…' if len(text) > 60 else text}"


def check_name(argument: str, value: Any) -> str:
    """A category/key/group as the string that is stored."""
    if type(value) is str:
        text = value
    elif isinstance(value, bool) or not isinstance(value, (str, numbers.Integral)):
        raise TypeError(f"{argument} must be a str (or an int such as a class index), got {_describe(value)}")
    else:
        text = str(int(value)) if not isinstance(value, str) else str(value)
    if not text:
        raise ValueError(f"{argument} must not be empty")
    if len(text) > MAX_NAME_BYTES // 4 and len(text.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise ValueError(
            f"{argument} is {len(text.encode('utf-8', 'surrogatepass'))} bytes of UTF-8, more than the "
            f"{MAX_NAME_BYTES} a name may hold: {text[:40]!r}…; use a shorter name"
        )
    if "\0" in text:
        raise ValueError(f"{argument} must not contain a NUL character, got {text!r}")
    return text


def metric_value(value: Any, argument: str = "value") -> int | float | None:
    """A metric value: a real number, stored as int or float; NaN and ±inf are stored as None."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, numbers.Real):  # numpy scalars, Fraction, Decimal-like reals
        return metric_value(value.item() if hasattr(value, "item") else float(value), argument)
    item = getattr(value, "item", None)  # torch tensors, 0-d / one-element numpy arrays
    if callable(item) and not isinstance(value, (str, bytes)):
        try:
            number = item()
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{argument} must be a single number, got {_describe(value)} holding several") from None
        if isinstance(number, (int, float)):
            return metric_value(number, argument)
    raise TypeError(f"{argument} must be a number (int, float, or a numpy/torch scalar), got {_describe(value)}")


def field_value(name: str, value: Any) -> Any:
    """A keyword of ``log_metric`` (``epoch=``, ``step=``, ...): a number, a str, a bool or None."""
    if value is None or isinstance(value, (str, bool)):
        return value
    try:
        return metric_value(value, f"{name}=")
    except TypeError:
        raise TypeError(
            f"{name}= must be a number, a str, a bool or None (it is stored beside the metric), got {_describe(value)}"
        ) from None


def progress_values(current: Any, total: Any) -> tuple[int | float, int | float]:
    numbers_ = []
    for argument, value in (("current", current), ("total", total)):
        number = metric_value(value, argument)
        if number is None:
            raise ValueError(f"{argument} must be a finite number, got {value!r}")
        numbers_.append(number)
    current_, total_ = numbers_
    if total_ <= 0:
        raise ValueError(f"total must be above 0, got {total_!r}")
    if not 0 <= current_ <= total_:
        raise ValueError(f"current must be between 0 and total ({total_!r}), got {current_!r}")
    return current_, total_


def image_bytes(image: Any) -> tuple[bytes, str]:
    """The encoded image to store and its file extension."""
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        if not path.is_file():
            raise ValueError(f"image: the file '{path}' does not exist or is not a file; pass {_IMAGE_KINDS}")
        content = path.read_bytes()
        return content, _encoded_format(content, f"the file '{path}'")
    if isinstance(image, (bytes, bytearray, memoryview)):
        content = bytes(image)
        return content, _encoded_format(content, f"the {len(content)} bytes given")
    from PIL import Image  # imported here: only plugins that log images pay for it

    if not isinstance(image, Image.Image):
        image = Image.fromarray(_pixels(image))
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue(), "png"


def _encoded_format(content: bytes, what: str) -> str:
    for signature, extension in _IMAGE_SIGNATURES:
        if content.startswith(signature):
            return extension
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "webp"
    raise ValueError(f"image: {what} are not an image (no PNG/JPEG/GIF/BMP/WebP signature); pass {_IMAGE_KINDS}")


def _pixels(image: Any) -> Any:
    import numpy as np

    if not (isinstance(image, np.ndarray) or hasattr(image, "__array__")):
        raise TypeError(f"image must be {_IMAGE_KINDS}; got {_describe(image)}")
    try:
        array = np.asarray(image)
    except Exception as exc:  # a tensor on a GPU, an object array...
        raise TypeError(f"image could not be read as an array ({exc}); pass {_IMAGE_KINDS}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"image must hold numbers, got an array of dtype {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))) or array.size == 0:
        raise ValueError(f"image must be an array of shape HxW or HxWxC (C = 1, 3 or 4), got shape {array.shape}")
    if array.dtype == np.uint8:
        return array
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError("image holds NaN or infinite values; replace them before logging")
    low, high = float(array.min()), float(array.max())
    scale = 255.0 / (high - low) if high > low else 0.0
    return ((array - low) * scale).astype(np.uint8)
