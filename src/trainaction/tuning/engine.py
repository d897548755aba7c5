"""Tuning mode: run the plugin's ``tune()`` through ``ray.tune.Tuner`` and keep every trial's model.

Ray starts on this machine (sized to it) or connects to an existing cluster (``RAY_ADDRESS`` or
``--ray-address``). Trials reuse actors, ask for ``num_cpus``/``num_gpus`` each, and report their
events through per-trial spools drained by the job's :class:`~trainaction.pump.EventPump`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..backend import Backend
from ..errors import Interrupted, TrainActionError, ValidationError
from ..job import Job
from ..plugin import Plugin
from ..progress import PhaseProgress
from ..pump import EventPump, JobObserver
from ..resources import Checkpoint, Dataset
from .compiler import SearchPlan, compile_space
from .models import no_model_note, trial_model
from .schedulers import build_scheduler, expected_reports, stop_criterion
from .searchers import build_searcher

__all__ = ["TuningRun"]

# Ray reads these when it is imported. Ctrl-C must reach us, so that the job is marked STOPPED;
# and Ray's own console report would write over our live display (we draw the trials table).
os.environ.setdefault("TUNE_DISABLE_SIGINT_HANDLER", "1")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
# A report without the optimised metric would end the whole experiment; instead, a trial that
# never reports it becomes an ERROR trial that says so (see errors.MetricNotReported).
os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")

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


@dataclass
class _TrialOutcome:
    trial_id: str
    trial_logdir: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    error: str | None
    artifact: Path | None
    history: list[float]
    status: str  # as in the final trials table: TERMINATED, ERROR or STOPPED


class _LogForwarder(logging.Handler):
    """Ray Tune's warnings (a searcher stopping early, a trial failing) go into the job log."""

    def __init__(self, write: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self._write = write

    def emit(self, record: logging.LogRecord) -> None:
        self._write(f"[ray {record.levelname.lower()}] {record.getMessage()}\n")


class TuningRun:
    """One tuning job, from Ray start to uploaded models."""

    def __init__(
        self,
        backend: Backend,
        job_id: int,
        job: Job,
        plugin: Plugin,
        run_dir: Path,
        progress: PhaseProgress,
        observer: JobObserver,
        ray_address: str | None = None,
    ) -> None:
        self.backend, self.job_id, self.job, self.plugin = backend, job_id, job, plugin
        self.params = job.params
        assert self.params.hyperparameters is not None and self.params.tune_config is not None
        self.config = self.params.tune_config
        self.run_dir, self.progress = run_dir, progress
        self.ray_address = ray_address
        self.plan: SearchPlan = compile_space(self.params.hyperparameters, self.config.search_alg.name)
        if self.plan.errors():
            raise ValidationError(self.plan.errors())
        self._checkpoint_outputs: dict[str, str] = {}
        self.pump = EventPump(backend, job_id, run_dir / "spool", progress, observer, self._on_control)

    def _on_control(self, type_: str, data: dict[str, Any]) -> None:
        if type_ == "_trial_end" and data["checkpoint_output"]:
            self._checkpoint_outputs[data["trial_id"]] = data["checkpoint_output"]

    def log(self, line: str) -> None:
        self.pump.log(line if line.endswith("\n") else line + "\n")

    def run(self, dataset: Dataset, checkpoint: Checkpoint | None) -> dict[str, Any]:
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
        try:
            self._check_resources()
            total = self.params.total_trials
            self.log(
                f"tuning: {total} trial(s), search {self.config.search_alg.name}, scheduler {self.config.scheduler.name}"
            )
            self.progress.set("trials", 0, total)
            result = self._search(dataset, checkpoint, stop_signals)
        finally:
            self.pump.stop()
            ray_logger.removeHandler(forwarder)
            restore_ray_logs()
            if started:
                ray.shutdown()
        failure = self.pump.failure_message()
        if failure is not None:  # never SUCCEEDED with events missing
            raise TrainActionError(failure)
        return result

    def _check_resources(self) -> None:
        """Fail in seconds, naming the resource, when no node can ever hold one trial."""
        import ray

        cpus, gpus = self._trial_resources()
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

    def _trial_resources(self) -> tuple[float, float]:
        return (self.params.num_cpus if self.params.num_cpus is not None else 1.0, self.params.num_gpus or 0.0)

    def _search(self, dataset: Dataset, checkpoint: Checkpoint | None, stop_signals: dict[int, Any]) -> dict[str, Any]:
        """Run the trials; a stop signal ends them the way time_budget_s does, then the job is STOPPED."""
        from .limits import SearchStop, TrialTimeouts, stop_gracefully
        from .trials import TrialsTable

        total = self.params.total_trials
        self._stop = SearchStop(self.config.time_budget_s)
        self._timeouts = TrialTimeouts(self.config.trial_timeout_s)
        table = TrialsTable(
            self.plan,
            self.config.metric,
            lambda data: self.pump.emit("trials", data),
            lambda finished: self.progress.set("trials", finished, total),
            log=self.pump.log,
            error_override=self._timeouts.message,
        )
        try:
            with stop_gracefully(self._stop, stop_signals):
                self._stop.start()
                grid = self._fit(dataset, checkpoint, table)
        except KeyboardInterrupt:  # a second signal: Ray did not get to stop the trials itself
            self.pump.emit("trials", table.final(""))
            raise
        result = self._finish(grid, table)
        if self._stop.interrupted:
            self.log(f"stopped by a signal: {result['trials']['stopped']} trial(s) were still running or waiting")
            raise Interrupted(result)
        return result

    def _fit(self, dataset: Dataset, checkpoint: Checkpoint | None, table: Any) -> Any:
        from ray import tune
        from ray.tune.stopper import CombinedStopper

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
            "trainable_name": f"{name}_tune",
        }
        cpus, gpus = self._trial_resources()
        loggers = result_loggers()
        # Once events cannot be stored, running more trials would only lose more of them.
        store_stopper = StoreFailureStopper(f"{os.getpid()}-{self.job_id}", lambda: self.pump.failure is not None)
        specs = self.params.hyperparameters or []
        watchdog = RestartWatchdog(self.run_dir / "trials", restart_limit(expected_reports(self.config, specs)))
        criterion = stop_criterion(self.config, specs)
        stoppers = [self._stop, store_stopper] + ([CriterionStopper(criterion)] if criterion else [])
        tuner = tune.Tuner(
            tune.with_resources(make_trainable(spec, self.plan), {"cpu": cpus, "gpu": gpus}),
            param_space=self.plan.param_space(),
            tune_config=tune.TuneConfig(
                metric=self.config.metric,
                mode=self.config.mode,
                search_alg=build_searcher(self.config, self.plan),
                scheduler=build_scheduler(self.config, self.plan),
                num_samples=self.config.num_samples,
                # Applied by build_searcher: Ray ignores it for a BasicVariantGenerator passed in.
                max_concurrent_trials=None,
                reuse_actors=True,
                trial_name_creator=lambda trial: f"{name}_{trial.trial_id}",
                trial_dirname_creator=lambda trial: f"{name}_{trial.trial_id}",
            ),
            run_config=tune.RunConfig(
                name="tune",
                storage_path=str(self.run_dir / "ray"),
                verbose=0,
                stop=CombinedStopper(*stoppers),
                callbacks=[table, self._timeouts, watchdog, EndStoppedTrials(self._stop, loggers), *loggers],
                failure_config=tune.FailureConfig(max_failures=self.config.max_failures),
            ),
        )
        try:
            return tuner.fit()
        finally:
            store_stopper.close()

    def _finish(self, grid: Any, table: Any) -> dict[str, Any]:
        outcomes = [self._outcome(result, table) for result in grid]
        started = {trial_id: index for index, trial_id in enumerate(table.order)}
        outcomes.sort(key=lambda o: started.get(o.trial_id, len(started)))  # "earlier" means started earlier
        total = self.params.total_trials
        ran = sum(o.trial_id in table.started for o in outcomes)
        errored = [o for o in outcomes if o.error is not None]
        stopped = [o for o in outcomes if o.status == "STOPPED"]
        unfinished = sorted(status for status in table.statuses.values() if status in ("PENDING", "RUNNING", "PAUSED"))
        if unfinished:  # Ray left them so without being asked to stop: the final table shows them STOPPED
            self.log(f"warning: {len(unfinished)} trial(s) ended {', '.join(sorted(set(unfinished)))}")
        best_id = self._best(outcomes)
        self.progress.complete("trials")
        self.pump.write_progress(force=True)

        trial_models = []
        without: list[str] = []  # trials that ended without a model
        best_model: int | None = None
        for outcome in outcomes:
            entry: dict[str, Any] = {
                "trial_id": outcome.trial_id,
                "trial_logdir": outcome.trial_logdir,
                "model_id": None,
                "config": outcome.config,
                "metrics": outcome.metrics,
            }
            if outcome.error is not None:
                entry.update(status="ERROR", error=outcome.error)
                trial_models.append(entry)
                continue
            if outcome.status == "STOPPED":
                entry["status"] = "STOPPED"
            if outcome.artifact is not None:
                model = self.backend.add_model(
                    f"{self.params.encoded_name}-trial-{outcome.trial_id}",
                    outcome.artifact,
                    job_id=self.job_id,
                    trial_id=outcome.trial_id,
                    config=outcome.config,
                    metrics=outcome.metrics,
                )
                entry["model_id"] = model.id
                if outcome.trial_id == best_id:
                    best_model = model.id
            elif outcome.trial_id not in table.started:
                entry["note"] = "stopped before it started"
            else:
                entry["note"] = no_model_note([outcome.trial_id])
                without.append(outcome.trial_id)
            trial_models.append(entry)
        if without:  # one line, however many trials: a search of a thousand must not bury the log
            self.log(f"warning: {no_model_note(without)}")
        self.progress.complete("model_upload")

        if best_id is not None:
            self.backend.update_job(self.job_id, best_trial=best_id)
        self.pump.emit("trials", table.final(best_id or ""))
        if not self._stop.interrupted and (not outcomes or len(errored) == len(outcomes)):
            first = errored[0].error if errored else "no trial ran"
            raise TrainActionError(f"every trial failed ({len(errored)} of {total}); the first error: {first}")
        best = next(o for o in outcomes if o.trial_id == best_id) if best_id else None
        result: dict[str, Any] = {
            "model_id": best_model,
            "best_trial": None
            if best is None
            else {
                "trial_id": best.trial_id,
                "trial_logdir": best.trial_logdir,
                "config": best.config,
                "metrics": best.metrics,
            },
            "trial_models": trial_models,
            "best_rule": {
                "metric": self.config.metric,
                "mode": self.config.mode,
                "scope": self.config.scope,
                "ties": "earlier trial",
            },
            "trials": {"total": total, "ran": ran, "errored": len(errored)},
        }
        if self._stop.reason is not None:
            result["trials"]["stopped"] = len(stopped)  # only a cut-short search has stopped trials
        why = None
        if self._stop.budget_spent and not self._stop.interrupted:
            why = (
                f"tune_config.time_budget_s ({self.config.time_budget_s:g} s) ran out: {ran} of {total} trials ran, "
                f"{len(stopped)} of them stopped before they finished"
            )
        elif ran < total and self._stop.reason is None:
            why = (
                f"only {ran} of {total} trials ran: the search algorithm {self.config.search_alg.name} "
                "stopped suggesting new configurations (see the [ray warning] lines in this log)"
            )
        if why is not None:
            self.log(f"warning: {why}")
            result["note"] = why
        return result

    def _outcome(self, result: Any, table: Any) -> _TrialOutcome:
        from .trials import RAY_RESULT_KEYS  # imports Ray: after this module has set Ray's environment

        metrics = dict(result.metrics or {})
        path = str(result.path)
        prefix = f"{trial_stem(self.params.encoded_name)}_"  # trial folders are named <stem>_<trial id>
        from_dirname = Path(path).name[len(prefix) :] if Path(path).name.startswith(prefix) else None
        trial_id = metrics.get("trial_id") or from_dirname or hashlib.sha1(path.encode()).hexdigest()[:12]
        history = table.history.get(trial_id, [])
        clean = {k: v for k, v in metrics.items() if k not in RAY_RESULT_KEYS}
        output_dir = self.run_dir / "trials" / trial_id / "output"  # the trial's run.output_dir
        artifact = trial_model(clean, result.checkpoint, self._checkpoint_outputs.get(trial_id), output_dir)
        clean.pop("checkpoint_output", None)
        error = self._timeouts.message(trial_id)
        if error is None and result.error is not None:
            error = (
                str(result.error).strip().splitlines()[-1][:500]
                if str(result.error).strip()
                else type(result.error).__name__
            )
        status = table.statuses.get(trial_id, "STOPPED")
        # A trial stopped before it started has no result, hence no config in it; the table has it.
        config = self.plan.decode(result.config) if result.config else table.config(trial_id)
        return _TrialOutcome(trial_id, path, config, clean, error, artifact, history, status)

    def _best(self, outcomes: list[_TrialOutcome]) -> str | None:
        from .trials import select_best

        metric, scope = self.config.metric, self.config.scope
        candidates = []
        for outcome in outcomes:
            if outcome.error is not None:
                continue
            if scope == "best" and outcome.history:
                pick = max if self.config.mode == "max" else min
                candidates.append((outcome.trial_id, pick(outcome.history)))
            elif isinstance(outcome.metrics.get(metric), (int, float)):
                candidates.append((outcome.trial_id, float(outcome.metrics[metric])))
        return select_best(candidates, self.config.mode)
