"""Ray's own messages go to the job log, not over the live view.

At import Ray gives its ``ray`` logger a handler that writes to the terminal (stderr) and stops
propagation; ``ray.init`` then warns through it ("Token authentication is enabled…"), as do Ray's
other modules while the job runs. Those lines would land in the middle of the live view. While a
tuning job runs, :func:`ray_logs_to` swaps that terminal handler for one writing into the job's
log; the returned function puts Ray's handlers back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["ray_logs_to"]


class _JobLogHandler(logging.Handler):
    def __init__(self, write: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self._write = write

    def emit(self, record: logging.LogRecord) -> None:
        # ray.tune's warnings have their own forwarder into the job log (tuning.engine): not twice.
        if record.name == "ray.tune" or record.name.startswith("ray.tune."):
            return
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
    logger.addHandler(handler)

    def restore() -> None:
        logger.removeHandler(handler)
        for old in terminal:
            if old not in logger.handlers:
                logger.addHandler(old)

    return restore
