"""What runs inside each Ray trial: decode the configuration, call the plugin's ``tune()``.

``tune()`` may call ``ray.tune.report(...)`` or ``ray.train.report(...)`` (with or without a
checkpoint; both go the same way), return a dict, return a number (the optimised metric), or
return nothing after reporting. Reported metrics are cached and
merged with the return value. A trial that never reports the optimised metric raises
:class:`~trainaction.errors.MetricNotReported`, so Ray marks it ERROR with a message saying how to fix it.
"""

from __future__ import annotations

import io
import logging
import numbers
import os
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cluster.remote import NODE_IP_KEY, NODE_KEY, localize, this_node, this_node_ip, trial_place, upload_model
from ..errors import MetricNotReported
from ..plugin import load_plugin
from ..resources import Checkpoint, Dataset
from ..run import RecordSink, SpoolSink, TrainRun
from ..spool import SpoolWriter
from ..wire import LogText, TrialEnd
from .compiler import SearchPlan

__all__ = ["make_trainable"]


class _TrialState:
    """What a trial reported so far."""

    def __init__(self) -> None:
        self.metrics: dict[str, Any] = {}
        self.reports = 0
        self.checkpoint: str | None = None  # the folder of the last checkpoint reported


# Ray runs each trial's function in a thread of its own; with reused actors, a stopped trial's
# thread can still be winding down while the next trial's starts. So the state is per thread.
_local = threading.local()
_original_report: Callable[..., Any] | None = None
_node: dict[str, str] = {}  # this worker's Ray node and its address, sent with each result for the trials table


def _report(metrics: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    state: _TrialState | None = getattr(_local, "state", None)
    if state is not None:
        state.metrics.update(metrics)
        state.reports += 1
        checkpoint = kwargs.get("checkpoint", args[0] if args else None)
        if checkpoint is not None and isinstance(getattr(checkpoint, "path", None), str):
            state.checkpoint = checkpoint.path
    assert _original_report is not None
    return _original_report({**metrics, **_node}, *args, **kwargs)


def _train_report(metrics: dict[str, Any], checkpoint: Any = None, checkpoint_dir_name: str | None = None) -> Any:
    """``ray.train.report`` in a trial: Ray refuses it inside Tune, so it becomes ``ray.tune.report``.

    ``checkpoint_dir_name`` only names folders in Ray Train runs; Tune names its own.
    """
    from ray import tune

    if checkpoint is not None and not isinstance(checkpoint, tune.Checkpoint):
        checkpoint = tune.Checkpoint(path=checkpoint.path, filesystem=checkpoint.filesystem)
    return _report(metrics, checkpoint=checkpoint)


def _intercept_reports() -> None:
    """Route ``ray.tune.report`` and ``ray.train.report`` through :func:`_report` (once per worker process).

    ``ray.train.get_checkpoint`` is Ray Train's name for ``ray.tune.get_checkpoint``; in a Tune trial
    Ray raises for it too, so it is routed as well.
    """
    global _original_report, _node
    import ray.train
    from ray import tune

    _node = {NODE_KEY: this_node(), NODE_IP_KEY: this_node_ip()}
    if _original_report is None:
        _original_report = tune.report
        tune.report = _report
        ray.train.report = _train_report
        ray.train.get_checkpoint = tune.get_checkpoint


class _LogStream(io.TextIOBase):
    """Sends a trial's prints to the job log, prefixed with the trial id."""

    def __init__(self, sink: RecordSink, prefix: str) -> None:
        self._sink, self._prefix, self._buffer = sink, prefix, ""

    def write(self, text: str) -> int:
        self._buffer += text
        *lines, self._buffer = self._buffer.split("\n")
        if lines:
            self._sink.send(LogText("".join(f"{self._prefix}{line}\n" for line in lines)))
        return len(text)

    def flush(self) -> None:
        if self._buffer:
            self._sink.send(LogText(f"{self._prefix}{self._buffer}\n"))
            self._buffer = ""


def make_trainable(spec: dict[str, Any], plan: SearchPlan) -> Callable[[dict[str, Any]], None]:
    """The function Ray runs for each trial; named after the job so Ray's output is readable."""

    def trainable(config: dict[str, Any]) -> None:
        _run_trial(spec, plan, config)

    trainable.__name__ = trainable.__qualname__ = spec["trainable_name"]
    return trainable


def _run_trial(spec: dict[str, Any], plan: SearchPlan, config: dict[str, Any]) -> None:
    from ray import tune

    context = tune.get_context()
    trial_id = context.get_trial_id()
    metric = spec["metric"]
    place = trial_place(spec)
    writer = SpoolWriter(place.spool_root / f"{trial_id}-{uuid.uuid4().hex[:8]}", segment_size=1 << 20)
    sink = SpoolSink(writer)
    run = TrainRun(sink, output_dir=place.trials_dir / trial_id / "output", is_tune=True, trial_id=trial_id)
    _intercept_reports()
    # Ray logs "Checkpoint successfully created at ..." for every report with a checkpoint, into the
    # trial's stderr, which is the job log: nearly every line of it. Its warnings still get through.
    logging.getLogger("ray.train._internal.storage").setLevel(logging.WARNING)
    state = _local.state = _TrialState()
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = _LogStream(sink, f"[trial {trial_id}] ")
    try:
        from .watchdog import check_verdict

        check_verdict(spec["trials_dir"], trial_id)
        plugin = load_plugin(_plugin_source(spec, place.remote))
        hyperparameter = plan.decode(config)
        dataset, job_checkpoint = localize(spec) if place.remote else (Dataset.from_dict(spec["dataset"]), None)
        checkpoint = _checkpoint(spec, job_checkpoint)
        returned = plugin.call_tune(hyperparameter, run, dataset, checkpoint)
        final = _as_metrics(returned, metric)
        if final and any(state.metrics.get(k) != v for k, v in final.items()):
            tune.report({**state.metrics, **final}, checkpoint=_checkpoint_of(run))
        restored = checkpoint is not None and checkpoint.id is None
        # A trial Ray restored from its checkpoint reported before that checkpoint was taken.
        if metric not in state.metrics and not restored:
            reported = ", ".join(sorted(state.metrics)) or "nothing"
            raise MetricNotReported(
                f"tune() never reported the optimised metric '{metric}' (it reported: {reported}); "
                f"call tune.report({{'{metric}': value}}) or return the value from tune()"
            )
        if place.remote:
            _upload_from_node(spec, trial_id, hyperparameter, state, run, place.trials_dir / trial_id / "output")
    finally:
        sys.stdout.flush()
        sys.stdout, sys.stderr = stdout, stderr
        output = run.checkpoint_output
        sink.send(TrialEnd(trial_id, None if output is None else str(output)))
        _local.state = None
        writer.close()


def _as_metrics(returned: Any, metric: str) -> dict[str, Any] | None:
    if returned is None:
        return None
    if isinstance(returned, dict):
        return dict(returned)
    if isinstance(returned, numbers.Number) and not isinstance(returned, bool):
        return {metric: float(returned)}  # type: ignore[arg-type]
    item = getattr(returned, "item", None)  # numpy / torch scalars
    if callable(item):
        return {metric: float(item())}
    raise TypeError(f"tune() returned {type(returned).__name__}; return a dict of metrics, a number, or None")


def _checkpoint_of(run: TrainRun) -> Any:
    from ray import tune

    if run.checkpoint_output is not None and Path(run.checkpoint_output).is_dir():
        return tune.Checkpoint.from_directory(str(run.checkpoint_output))
    return None


def _checkpoint(spec: dict[str, Any], on_node: Checkpoint | None) -> Checkpoint | None:
    """The trial's own last checkpoint when Ray restores it (a retry, a PBT exploit), else the job's
    (``on_node``: the job's as downloaded to a node away from the driver)."""
    from ray import tune

    restored = tune.get_checkpoint()
    if restored is not None:
        return Checkpoint(id=None, name="trial checkpoint", path=Path(restored.to_directory()))
    if on_node is not None:
        return on_node
    return Checkpoint.from_dict(spec["checkpoint"]) if spec["checkpoint"] else None


def _plugin_source(spec: dict[str, Any], remote: bool) -> str:
    """The plugin's folder: the driver's path, or on another node the same folder in this worker's copy of
    the job's ``runtime_env`` working_dir (Ray unpacks it on every node and starts workers in it; Tune then
    moves each trial into its trial folder, and keeps where it was in TUNE_ORIG_WORKING_DIR)."""
    relative = spec.get("plugin_in_working_dir")
    if remote and relative is not None:
        return str(Path(os.environ.get("TUNE_ORIG_WORKING_DIR") or os.getcwd()) / relative)
    return str(spec["plugin"])


def _upload_from_node(
    spec: dict[str, Any], trial_id: str, config: dict[str, Any], state: _TrialState, run: TrainRun, output: Path
) -> None:
    """A trial away from the driver uploads its model from its own node: the driver cannot read its files."""
    from .models import trial_model
    from .trials import RAY_RESULT_KEYS

    metrics = {k: v for k, v in state.metrics.items() if k not in RAY_RESULT_KEYS and k != "checkpoint_output"}
    source = trial_model(state.metrics, _PathCheckpoint(state.checkpoint), run.checkpoint_output, output)
    if source is not None:
        upload_model(spec, trial_id, source, config, metrics)


@dataclass(frozen=True)
class _PathCheckpoint:
    path: str | None
