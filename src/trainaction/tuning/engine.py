"""Tuning mode: run the plugin's ``tune()`` through ``ray.tune.Tuner`` and keep every trial's model.

Ray starts on this machine (sized to it) or connects to an existing cluster (``RAY_ADDRESS`` or
``--ray-address``). Trials reuse actors, ask for ``num_cpus``/``num_gpus`` each, and report their
events through per-trial spools drained by the job's :class:`~trainaction.pump.EventPump`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import os
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..context import JobContext
from ..errors import TrainActionError
from ..plugin import Plugin
from ..pump import EventPump
from ..resources import Checkpoint, Dataset
from ..wire import Control, Progress, ProgressDone, TrialEnd, Trials
from .best import best_trial
from .models import trial_model
from .plan import TuningPlan
from .schedulers import build_scheduler
from .searchers import build_searcher
from .summary import TrialSummary, TuningSummary

__all__ = ["TuningRun"]

# Ray reads these when it is imported. Ctrl-C must reach us, so that the job is marked STOPPED;
# and Ray's own console report would write over our live display (we draw the trials table).
os.environ.setdefault("TUNE_DISABLE_SIGINT_HANDLER", "1")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
# A report without the optimised metric would end the whole experiment; instead, a trial that
# never reports it becomes an ERROR trial that says so (see errors.MetricNotReported).
os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")
# The experiment's state (finished trials, the searcher's state) is what `jobs resume` restores. Ray's
# "auto" saves it every 10 s or more; a small search saves every 2 s instead, so that a job whose
# driver is killed reruns few finished trials. A large one keeps "auto": each save writes every
# trial's state, and every 2 s that would slow a search of a thousand trials several times over.
_USER_CHECKPOINT_S = os.environ.get("TUNE_GLOBAL_CHECKPOINT_S")
_FREQUENT_SAVES_UP_TO = 64  # trials

# Ray joins trial names into folder paths: keep them to one short, portable path component.
_STEM_CHARS = 60


def trial_stem(encoded_name: str) -> str:
    """The job name as it starts each trial's name and folder: ``/`` and other characters a file
    name cannot hold become ``_``, and a long name is cut; a hash of the full name keeps two
    such names apart."""
    safe = re.sub(r"[^A-Za-z0-9._%-]", "_", encoded_name)[:_STEM_CHARS]
    if safe != encoded_name:
        safe += "-" + hashlib.sha1(encoded_name.encode()).hexdigest()[:8]
    return safe


class _LogForwarder(logging.Handler):
    """Ray Tune's warnings (a searcher stopping early, a trial failing) go into the job log."""

    def __init__(self, write: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self._write = write

    def emit(self, record: logging.LogRecord) -> None:
        self._write(f"[ray {record.levelname.lower()}] {record.getMessage()}\n")


class TuningRun:
    """One tuning job's search, from Ray start to the summary of its trials."""

    def __init__(
        self,
        context: JobContext,
        plan: TuningPlan,
        plugin: Plugin,
        ray_address: str | None = None,
        *,
        restore: dict[str, Any] | None = None,
    ) -> None:
        """``restore``: continue the job's cut-off search (its Ray Tune state in the run folder) from
        the trials table stored before; None starts a new search."""
        self.context, self.plan, self.plugin = context, plan, plugin
        self.restore = restore
        self.params, self.config = plan.params, plan.config
        self.run_dir, self.progress = context.run_dir, context.progress
        self.ray_address = ray_address
        self._checkpoint_outputs: dict[str, str] = {}
        self.pump = EventPump(
            context.backend,
            context.job_id,
            context.run_dir / "spool",
            context.progress,
            context.observer,
            self._on_control,
        )

    def _on_control(self, record: Control) -> None:
        if isinstance(record, TrialEnd) and record.checkpoint_output:
            self._checkpoint_outputs[record.trial_id] = record.checkpoint_output

    def log(self, line: str) -> None:
        self.pump.log(line if line.endswith("\n") else line + "\n")

    def run(self, dataset: Dataset, checkpoint: Checkpoint | None) -> TuningSummary:
        import ray

        from .limits import caller_stop_signals, restore_handlers
        from .raylog import ray_logs_to

        started = not ray.is_initialized()
        stop_signals = caller_stop_signals()
        restore_ray_logs = ray_logs_to(self.log)  # Ray's banners and warnings: into the job log, not over the view
        if started:
            ray.init(
                address=self.ray_address,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
                configure_logging=False,
            )
            restore_handlers(stop_signals)  # ray.init makes SIGTERM call sys.exit: the job would stay RUNNING
        forwarder = _LogForwarder(self.log)
        ray_logger = logging.getLogger("ray.tune")
        ray_logger.addHandler(forwarder)
        self.pump.start()
        from ..cluster.nodepump import start_node_pumps, stop_node_pumps

        node_failures: list[str] = []
        try:
            if start_node_pumps(self.context.job_id):
                self.log("trials on other nodes of the cluster report through their node's event pump")
            self._check_resources()
            total = self.plan.total_trials
            self.log(f"tuning: {total} trial(s), search {self.plan.searcher}, scheduler {self.plan.scheduler}")
            self.progress.send(Progress("trials", 0, total))
            summary = self._search(dataset, checkpoint, stop_signals)
        finally:
            node_failures = stop_node_pumps(self.context.job_id)
            self.pump.stop()
            ray_logger.removeHandler(forwarder)
            restore_ray_logs()
            if started:
                ray.shutdown()
        # Never SUCCEEDED with events missing: the job fails once its models are kept.
        failure = "; ".join(f for f in [self.pump.failure_message(), *node_failures] if f) or None
        return dataclasses.replace(summary, store_failure=failure)

    def _check_resources(self) -> None:
        """Fail in seconds, naming the resource, when no node can ever hold one trial."""
        import ray

        cpus, gpus = self.plan.cpus_per_trial, self.plan.gpus_per_trial
        nodes = [node["Resources"] for node in ray.nodes() if node["Alive"]]
        most_cpus = max((n.get("CPU", 0.0) for n in nodes), default=0.0)
        most_gpus = max((n.get("GPU", 0.0) for n in nodes), default=0.0)
        for field, asked, most, unit in (("num_gpus", gpus, most_gpus, "GPU"), ("num_cpus", cpus, most_cpus, "CPU")):
            if asked > most:
                raise TrainActionError(
                    f"params.{field}: each trial asks for {asked:g} {unit}(s), but no node of the Ray cluster has "
                    f"that many (the largest has {most:g}); lower {field} or run on a cluster that has them "
                    "(--ray-address / RAY_ADDRESS)"
                )
        at_once = sum(
            min(n.get("CPU", 0.0) // cpus if cpus else math.inf, n.get("GPU", 0.0) // gpus if gpus else math.inf)
            for n in nodes
        )
        self.log(f"each trial gets {cpus:g} CPU(s) and {gpus:g} GPU(s); up to {at_once:g} trial(s) fit at once")

    def _search(self, dataset: Dataset, checkpoint: Checkpoint | None, stop_signals: dict[int, Any]) -> TuningSummary:
        """Run the trials; a stop signal ends them the way time_budget_s does, then the job is STOPPED."""
        from .limits import SearchStop, TrialTimeouts, stop_gracefully
        from .trials import TrialsTable

        total = self.plan.total_trials
        self._stop = SearchStop(self.config.time_budget_s)
        self._timeouts = TrialTimeouts(self.config.trial_timeout_s)
        table = TrialsTable(
            self.plan.space,
            self.config.metric,
            lambda data: self.pump.send(Trials(data)),
            lambda finished: self.progress.send(Progress("trials", finished, total)),
            log=self.pump.log,
            error_override=self._timeouts.message,
        )
        if self.restore is not None:
            table.restore(self.restore)
        try:
            with stop_gracefully(self._stop, stop_signals):
                self._stop.start()
                grid = self._fit(dataset, checkpoint, table)
            # A trial's last record names its model's files; the pump may not have read it yet.
            self.pump.sync()
        except KeyboardInterrupt:  # a second signal: Ray did not get to stop the trials itself
            self.pump.send(Trials(table.final("")))
            raise
        return self._finish(grid, table)

    def _fit(self, dataset: Dataset, checkpoint: Checkpoint | None, table: Any) -> Any:
        import ray
        from ray import tune
        from ray.tune.stopper import CombinedStopper

        from ..cluster.nodepump import remote_events_enabled
        from .limits import EndStoppedTrials, result_loggers
        from .stopper import CriterionStopper, StoreFailureStopper
        from .trainable import make_trainable
        from .watchdog import RestartWatchdog, restart_limit

        name = trial_stem(self.params.encoded_name)
        spec = {
            "plugin": self.plugin.source,
            "metric": self.config.metric,
            "dataset": dataset.to_dict(),
            "checkpoint": checkpoint.to_dict() if checkpoint else None,
            "spool_root": str(self.run_dir / "spool"),
            "trials_dir": str(self.run_dir / "trials"),
            "driver_host": socket.gethostname(),
            "driver_node": ray.get_runtime_context().get_node_id(),
            "remote_events": remote_events_enabled(),
            "job_id": self.context.job_id,
            "model_prefix": self.params.encoded_name,
            "plugin_in_working_dir": _in_working_dir(self.plugin.source),
            "trainable_name": f"{name}_tune",
        }
        cpus, gpus = self.plan.cpus_per_trial, self.plan.gpus_per_trial
        loggers = result_loggers()
        # Once events cannot be stored, running more trials would only lose more of them.
        store_stopper = StoreFailureStopper(
            f"{os.getpid()}-{self.context.job_id}", lambda: self.pump.failure is not None
        )
        watchdog = RestartWatchdog(self.run_dir / "trials", restart_limit(self.plan.expected_reports))
        stoppers = [self._stop, store_stopper] + ([CriterionStopper(self.plan.stop)] if self.plan.stop else [])
        trainable = tune.with_resources(make_trainable(spec, self.plan.space), {"cpu": cpus, "gpu": gpus})
        tune_config = tune.TuneConfig(
            metric=self.config.metric,
            mode=self.config.mode,
            search_alg=build_searcher(self.config, self.plan.space),
            scheduler=build_scheduler(self.plan),
            num_samples=self.config.num_samples,
            # Applied by build_searcher: Ray ignores it for a BasicVariantGenerator passed in.
            max_concurrent_trials=None,
            reuse_actors=True,
            trial_name_creator=lambda trial: f"{name}_{trial.trial_id}",
            trial_dirname_creator=lambda trial: f"{name}_{trial.trial_id}",
        )
        run_config = tune.RunConfig(
            name="tune",
            storage_path=str(self.run_dir / "ray"),
            verbose=0,
            stop=CombinedStopper(*stoppers),
            callbacks=[table, self._timeouts, watchdog, EndStoppedTrials(self._stop, loggers), *loggers],
            failure_config=tune.FailureConfig(max_failures=self.config.max_failures),
        )
        if _USER_CHECKPOINT_S is None:  # read by Ray when fit() starts
            small = self.plan.total_trials <= _FREQUENT_SAVES_UP_TO
            os.environ["TUNE_GLOBAL_CHECKPOINT_S"] = "2" if small else "auto"
        if self.restore is None:
            tuner = tune.Tuner(
                trainable, param_space=self.plan.space.param_space(), tune_config=tune_config, run_config=run_config
            )
        else:
            tuner = tune.Tuner.restore(
                str(self.run_dir / "ray" / "tune"),
                trainable=trainable,
                resume_errored=True,
                param_space=self.plan.space.param_space(),
            )
            # Ray restores the run config pickled at the start, whose callbacks and stoppers belonged
            # to the dead driver (its pump, its table); this run's own replace them. Ray offers no
            # public way to do that; name and storage path are the same as restore set them.
            internal = tuner._local_tuner
            if internal is None:  # only through Ray Client, which trainaction does not use
                raise TrainActionError("resuming a search through Ray Client is not supported; use --ray-address")
            internal._run_config = run_config
        try:
            return tuner.fit()
        finally:
            store_stopper.close()

    def _finish(self, grid: Any, table: Any) -> TuningSummary:
        """The trials as they ended, the best one marked in the final table; uploads are the caller's,
        except those of trials on other nodes, which uploaded their models from there."""
        uploaded = {m.trial_id: m.id for m in self.context.backend.list_models(job_id=self.context.job_id)}
        trials = [self._summarize(result, table, uploaded) for result in grid]
        started = {trial_id: index for index, trial_id in enumerate(table.order)}
        trials.sort(key=lambda t: started.get(t.trial_id, len(started)))  # "earlier" means started earlier
        unfinished = sorted(status for status in table.statuses.values() if status in ("PENDING", "RUNNING", "PAUSED"))
        if unfinished:  # Ray left them so without being asked to stop: the final table shows them STOPPED
            self.log(f"warning: {len(unfinished)} trial(s) ended {', '.join(sorted(set(unfinished)))}")
        best_id, why = best_trial(trials, self.config.metric, self.config.mode, self.config.scope)
        self.progress.send(ProgressDone("trials"))
        self.progress.save(force=True)
        self.pump.send(Trials(table.final(best_id or "")))
        return TuningSummary(tuple(trials), self.plan.total_trials, best_id, why, self._stop.reason)

    def _summarize(self, result: Any, table: Any, uploaded: dict[str | None, int]) -> TrialSummary:
        from .trials import RAY_RESULT_KEYS  # imports Ray: after this module has set Ray's environment

        metrics = dict(result.metrics or {})
        path = str(result.path)
        prefix = f"{trial_stem(self.params.encoded_name)}_"  # trial folders are named <stem>_<trial id>
        from_dirname = Path(path).name[len(prefix) :] if Path(path).name.startswith(prefix) else None
        trial_id = metrics.get("trial_id") or from_dirname or hashlib.sha1(path.encode()).hexdigest()[:12]
        clean = {k: v for k, v in metrics.items() if k not in RAY_RESULT_KEYS}
        output_dir = self.run_dir / "trials" / trial_id / "output"  # the trial's run.output_dir
        source = trial_model(clean, result.checkpoint, self._checkpoint_outputs.get(trial_id), output_dir)
        clean.pop("checkpoint_output", None)
        error = self._timeouts.message(trial_id)
        if error is None and result.error is not None:
            text = str(result.error).strip()
            error = text.splitlines()[-1][:500] if text else type(result.error).__name__
        # A trial stopped before it started has no result, hence no config in it; the table has it.
        config = self.plan.space.decode(result.config) if result.config else table.config(trial_id)
        return TrialSummary(
            trial_id=trial_id,
            trial_logdir=path,
            status=table.statuses.get(trial_id, "STOPPED"),
            config=config,
            metrics=clean,
            error=error,
            history=tuple(table.history.get(trial_id, [])),
            started=trial_id in table.started,
            model_source=None if trial_id in uploaded else source,
            model_id=uploaded.get(trial_id),
        )


def _in_working_dir(plugin_source: str) -> str | None:
    """The plugin's folder relative to the working directory, when inside it: a Ray job's working_dir is
    unpacked on each node, and workers start in it, so there the same relative path finds the plugin."""
    try:
        return str(Path(plugin_source).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return None
