"""Ray's own messages go to the job log, not over the live view.

At import Ray gives its ``ray`` logger a handler that writes to the terminal (stderr) and stops
propagation. ``ray.init(configure_logging=False)`` removes every handler of ``ray``, then warns
("Token authentication is enabled…"): with no handler left, Python's last-resort handler prints
it on stderr, in the middle of the live view; so do Ray's other warnings while the job runs.

While a tuning job runs, :func:`ray_logs_to` gives ``ray`` and the loggers of Ray's parts a
handler writing into the job's log, and takes Ray's terminal handler away; the returned function
puts things back. The handler sits on the children too because ``ray.init`` clears ``ray``'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["ray_logs_to"]


# ray.tune is not among them: its warnings have their own forwarder into the job log (tuning.engine).
_LOGGERS = ("ray", "ray._private", "ray.util", "ray.air", "ray.train", "ray.data", "ray.dashboard")


class _JobLogHandler(logging.Handler):
    def __init__(self, write: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self._write = write
        self._last: logging.LogRecord | None = None

    def emit(self, record: logging.LogRecord) -> None:
        # One handler on a logger and its parent sees a record twice; and ray.tune's are written already.
        if record is self._last or record.name == "ray.tune" or record.name.startswith("ray.tune."):
            return
        self._last = record
        ray_logger = logging.getLogger("ray")
        if self not in ray_logger.handlers:  # ray.init cleared it: back on ``ray``, for Ray's other parts
            ray_logger.addHandler(self)
        try:
            self._write(f"[ray {record.levelname.lower()}] {record.getMessage()}\n")
        except Exception:  # a log line must never fail the job
            self.handleError(record)


def ray_logs_to(write: Callable[[str], None]) -> Callable[[], None]:
    """Send the ``ray`` logger's warnings to ``write`` instead of the terminal; returns the undo."""
    logger = logging.getLogger("ray")
    terminal = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    handler = _JobLogHandler(write)
    for old in terminal:
        logger.removeHandler(old)
    for name in _LOGGERS:
        logging.getLogger(name).addHandler(handler)

    def restore() -> None:
        for name in _LOGGERS:
            logging.getLogger(name).removeHandler(handler)
        for old in terminal:
            if old not in logger.handlers:
                logger.addHandler(old)

    return restore
