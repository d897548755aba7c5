"""What ends a search before its trials do: a signal, ``time_budget_s``, ``trial_timeout_s``.

Ray's controller checks a :class:`~ray.tune.Stopper`'s ``stop_all()`` on every step and then stops
every live trial itself; :class:`SearchStop` is that stopper, and it remembers *why* the search
ended, so the result can say so. A trial that hangs never reports, so no stopper ever sees it:
:class:`TrialTimeouts` watches the wall clock of each running trial and kills its actor.
:class:`EndStoppedTrials` does the same for the trials a stopped search leaves hanging.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

from ray.tune import Callback, Stopper

from .summary import INTERRUPTED, TIME_BUDGET

__all__ = [
    "INTERRUPTED",
    "TIME_BUDGET",
    "EndStoppedTrials",
    "SearchStop",
    "TrialTimeouts",
    "caller_stop_signals",
    "restore_handlers",
    "result_loggers",
    "stop_gracefully",
]


# The signals a caller may map to KeyboardInterrupt (the CLI maps SIGTERM and SIGHUP to it).
_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class SearchStop(Stopper):
    """Ends the whole search when asked to (a signal) or when ``time_budget_s`` has passed."""

    def __init__(self, time_budget_s: float | None) -> None:
        self._budget = time_budget_s
        self._deadline: float | None = None
        self.interrupted = False
        self.budget_spent = False

    def start(self) -> None:
        if self._budget is not None:
            self._deadline = time.monotonic() + self._budget

    def interrupt(self) -> None:
        self.interrupted = True

    @property
    def reason(self) -> str | None:
        """Why the search ended early, if it did; an interrupt outranks the budget."""
        return INTERRUPTED if self.interrupted else TIME_BUDGET if self.budget_spent else None

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return False  # per-trial limits are TrialTimeouts' job: a hanging trial never gets here

    def stop_all(self) -> bool:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            self.budget_spent = True
        return self.interrupted or self.budget_spent


class _RunningTrials(Callback):
    """Keeps the trials that are running and their actors, from Ray's start/end hooks only: a
    search of thousands of trials must not pay a walk over every trial on every step."""

    def __init__(self) -> None:
        self._running: dict[str, tuple[Any, Any, float]] = {}  # trial id → (trial, actor, start time)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_running": {}}  # handles and monotonic times mean nothing elsewhere

    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        # Ray sets the trial's actor before this hook. A retried or resumed trial gets a fresh clock.
        self._running[trial.trial_id] = (trial, trial.temporary_state.ray_actor, time.monotonic())

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._running.pop(trial.trial_id, None)

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._running.pop(trial.trial_id, None)


class TrialTimeouts(_RunningTrials):
    """Kills the actor of a trial that has run longer than ``trial_timeout_s``; the trial becomes ERROR.

    Stopping the trial the polite way would not do: Ray's ``stop`` only takes effect at the trial's
    next report, and with reused actors the hung thread would make the next trial on that actor
    fail. A killed actor ends even a trial blocked in C code, and Ray frees its resources.
    """

    def __init__(self, timeout_s: float | None) -> None:
        super().__init__()
        self._timeout = timeout_s
        self.timed_out: dict[str, float] = {}  # trial id → the limit it ran past

    def message(self, trial_id: str) -> str | None:
        if trial_id not in self.timed_out:
            return None
        return f"timed out after {self.timed_out[trial_id]:g} s (tune_config.trial_timeout_s); its actor was killed"

    def on_step_begin(self, iteration: int, trials: list[Any], **info: Any) -> None:
        if self._timeout is None:
            return
        import ray

        now = time.monotonic()
        for trial_id, (trial, actor, started) in list(self._running.items()):
            if now - started < self._timeout or trial.status != "RUNNING" or actor is None:
                continue
            del self._running[trial_id]
            self.timed_out[trial_id] = self._timeout
            # A timeout is not a crash to retry: the same configuration would hang again.
            trial.max_failures = 0
            ray.kill(actor, no_restart=True)


class EndStoppedTrials(_RunningTrials):
    """Kills the actors of the trials a stopped search left running, and closes their result files.

    Ray asks them to stop at their next report and waits up to ~15 s for each one that never
    reports before it kills it; a stopped search has nothing to wait for. Ray's result loggers
    close a trial's files when it completes or fails, never when the search stops it: ``loggers``
    are those loggers (passed to Ray in place of its defaults), closed here at the end.
    """

    def __init__(self, stop: SearchStop, loggers: list[Any]) -> None:
        super().__init__()
        self._stop = stop
        self._loggers = loggers

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        if self._stop.reason is None:
            return
        import ray

        for trial_id, (trial, actor, _) in list(self._running.items()):
            if trial.status == "TERMINATED" and actor is not None:  # stopped by the search, not completed
                del self._running[trial_id]
                ray.kill(actor, no_restart=True)

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        for trial in trials:
            for logger in self._loggers:
                logger.log_trial_end(trial)  # a no-op for a trial whose files are closed


def result_loggers() -> list[Any]:
    """Ray's default result loggers (result.json, progress.csv, TensorBoard when installed)."""
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

    loggers: list[Any] = [CSVLoggerCallback(), JsonLoggerCallback()]
    try:
        from ray.tune.logger import TBXLoggerCallback

        loggers.append(TBXLoggerCallback())
    except ImportError:  # tensorboardX is optional, as it is for Ray
        pass
    return loggers


def caller_stop_signals() -> dict[int, Any]:
    """The signals whose current handler raises KeyboardInterrupt, with those handlers.

    Read before ``ray.init``: it replaces SIGTERM's handler with one that calls ``sys.exit``,
    which would skip the STOPPED record (a SystemExit is neither an Exception nor an interrupt).
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: handler for sig in _STOP_SIGNALS if (handler := signal.getsignal(sig)) is signal.default_int_handler}


def restore_handlers(handlers: dict[int, Any]) -> None:
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


@contextlib.contextmanager
def stop_gracefully(stop: SearchStop, handlers: dict[int, Any]) -> Iterator[None]:
    """While Ray runs the search, the first stop signal asks Ray to stop every trial and return
    (finished trials keep their models, the table is final); a second one interrupts at once."""

    def first(signum: int, frame: FrameType | None) -> None:
        if stop.interrupted:
            raise KeyboardInterrupt
        stop.interrupt()

    for sig in handlers:
        signal.signal(sig, first)
    try:
        yield
    finally:
        restore_handlers(handlers)
