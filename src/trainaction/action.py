"""TrainAction: runs a validated job through its phases and records everything in a backend.

Training mode: ``dataset`` (resolve the dataset and checkpoint to local folders) →
``train`` (the plugin's ``train()`` in its own process) → ``model_upload`` (register the model).
Tuning mode: ``dataset`` → ``trials`` (Ray Tune runs ``tune()`` per trial, see
:mod:`trainaction.tuning.engine`) → ``model_upload`` (every trial's model, the best one marked).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .backend import Backend, default_home
from .backend.base import FINISHED_STATUSES
from .backend.files import copy_tree
from .context import JobContext
from .cross_checks import missing_records
from .errors import Interrupted, JobStopped, NotFoundError, PluginError, StoreError, TrainActionError, ValidationError
from .job import Job, TrainingParams, TuningParams
from .liveness import Heartbeat, this_runner
from .plugin import Plugin
from .progress import TRAINING_WEIGHTS, TUNING_WEIGHTS, ProgressKeeper
from .pump import EventPump, JobObserver, NullObserver
from .resources import Checkpoint, Dataset
from .results import every_trial_failed, models_missing, training_result, tuning_result
from .supervisor import PluginProcess, WorkerOutcome
from .tuning.summary import INTERRUPTED
from .wire import ProgressDone

if TYPE_CHECKING:
    from .tuning.plan import TuningPlan

__all__ = ["JobOutcome", "PreparedJob", "TrainAction"]


@dataclass(frozen=True)
class JobOutcome:
    job_id: int
    status: str
    result: dict[str, Any] | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "status": self.status, "result": self.result, "error": self.error}


@dataclass(frozen=True)
class PreparedJob:
    """A job that passed every check that needs no job record; :meth:`TrainAction.execute` runs it."""

    job: Job
    plan: TuningPlan | None = None  # a tuning job's search, checked once
    notices: list[str] = field(default_factory=list)  # what a tuning job will do that may surprise


class TrainAction:
    """Runs jobs for one plugin against one backend."""

    def __init__(
        self,
        backend: Backend,
        plugin: Plugin,
        *,
        observer: JobObserver | None = None,
        work_root: Path | None = None,
        ray_address: str | None = None,
    ) -> None:
        self.backend = backend
        self.plugin = plugin
        self.observer = observer or NullObserver()
        self.work_root = work_root or _work_root(backend)
        self.ray_address = ray_address

    def prepare(self, job: Job) -> PreparedJob:
        """Every check that needs no job record: plugin schema, a tuning job's plan, dataset and
        checkpoint ids, mode support. Raises :class:`ValidationError` (every error at once),
        :class:`PluginError` or :class:`NotFoundError`."""
        params = job.params
        plan = None
        notices: list[str] = []
        if isinstance(params, TuningParams):
            from .tuning.plan import plan_tuning
            from .tuning.preview import capacity_errors, tuning_notices, tuning_preview

            if self.plugin.tune is None:
                raise PluginError(
                    f"plugin '{self.plugin.name}' has no tune() function; tuning jobs (is_tune=true) need "
                    "tune(hyperparameter, run, dataset, checkpoint, **kwargs)"
                )
            plan = plan_tuning(params)
            errors = capacity_errors(tuning_preview(plan)) if self._starts_local_ray() else []
            notices = tuning_notices(plan)
        else:
            errors = self.plugin.hyperparameter_errors(params.hyperparameter)
        if errors:
            raise ValidationError(errors)
        missing = missing_records(self.backend, params.dataset, params.checkpoint)
        if missing:
            raise NotFoundError(f"{missing[0].path}: {missing[0].message}")
        return PreparedJob(job, plan, notices)

    def _starts_local_ray(self) -> bool:
        """Whether a tuning job starts Ray on this machine, whose size is known without starting it."""
        ray = sys.modules.get("ray")
        running = ray is not None and ray.is_initialized()
        return self.ray_address is None and not os.environ.get("RAY_ADDRESS") and not running

    def execute(self, job: Job | PreparedJob, *, job_id: int | None = None) -> JobOutcome:
        """Run the job to its end. Raises before creating a record if the input is wrong (a
        :class:`Job` is prepared here; a :class:`PreparedJob` was already checked);
        afterwards every failure is recorded on the job and returned, not raised.

        ``job_id``: run that existing record (a submitted job, QUEUED or PENDING) instead of creating one."""
        prepared = job if isinstance(job, PreparedJob) else self.prepare(job)
        params = prepared.job.params
        if job_id is None:
            job_id = self.backend.create_job(
                prepared.job.action, prepared.job.to_document()["params"], params.encoded_name, params.name
            ).id
        else:
            status = self.backend.get_job(job_id).status
            if status not in ("QUEUED", "PENDING"):
                raise TrainActionError(f"job {job_id} is {status}; only a QUEUED or PENDING job can be started")
        on_start = getattr(self.observer, "on_start", None)  # optional: observers written before it existed
        if on_start is not None:
            on_start(job_id, params.name)
        self._reclaim_spools()
        self.backend.heartbeat(job_id, this_runner())  # who runs it, recorded before it shows RUNNING
        self.backend.update_job(job_id, status="RUNNING")
        context = JobContext(
            job_id=job_id,
            run_dir=self.work_root / str(job_id),
            backend=self.backend,
            progress=ProgressKeeper(
                self.backend, job_id, TUNING_WEIGHTS if prepared.plan is not None else TRAINING_WEIGHTS, self.observer
            ),
            observer=self.observer,
            log=_job_log(self.backend, job_id, self.observer),
        )
        try:
            with Heartbeat(lambda: self.backend.heartbeat(job_id)):
                return self._run(context, prepared)
        finally:
            # Whatever the end, the pump drained the spool before we get here: it is only scratch now.
            shutil.rmtree(context.run_dir / "spool", ignore_errors=True)

    def _run(self, ctx: JobContext, prepared: PreparedJob) -> JobOutcome:
        job_id, params = ctx.job_id, prepared.job.params
        _note(ctx, f"job {job_id} '{params.name}' started with plugin {self.plugin.source}")
        try:
            dataset, checkpoint = self._dataset_phase(ctx, prepared.job)
            ctx.progress.save(force=True)
            if prepared.plan is not None:
                result = self._tune(ctx, prepared.plan, dataset, checkpoint)
            elif isinstance(params, TrainingParams):
                outcome = self._train_phase(ctx, params, dataset, checkpoint)
                if not outcome.succeeded:
                    return _fail(ctx, outcome.error or "train() failed", outcome)
                ctx.progress.send(ProgressDone("train"))
                ctx.progress.save(force=True)
                result = self._upload_phase(ctx, params, outcome)
            else:
                raise TrainActionError("a tuning job must be prepared with its plan")  # not reachable via prepare()
        except KeyboardInterrupt as exc:
            partial = exc.result if isinstance(exc, Interrupted) else None
            _note(ctx, "stopped by the user (Ctrl-C, SIGTERM or SIGHUP)")
            self.backend.update_job(job_id, status="STOPPED", error="stopped by the user", result=partial)
            raise JobStopped(job_id, partial) from None
        except TrainActionError as exc:
            return _fail(ctx, str(exc), None)
        except Exception as exc:  # a failure of ours or of a library: the job must not stay RUNNING
            _note(ctx, traceback.format_exc().rstrip())
            return _fail(ctx, f"{type(exc).__name__}: {exc}", None)
        try:
            ctx.progress.save(force=True)
            self.backend.update_job(job_id, status="SUCCEEDED", result=result)
        except StoreError as exc:
            return _fail(ctx, f"the job ran to its end, but its end could not be recorded: {exc}", None)
        _note(ctx, f"job {job_id} succeeded")
        # Scratch space goes; Ray's trial folders (each result's trial_logdir) stay.
        for scratch in ("output", "trials", "checkpoint"):
            shutil.rmtree(ctx.run_dir / scratch, ignore_errors=True)
        return JobOutcome(job_id, "SUCCEEDED", result, None)

    def _reclaim_spools(self) -> None:
        """Remove the spools of jobs that ended (or whose runner died) without removing their own."""
        if not self.work_root.is_dir():
            return
        for spool in self.work_root.glob("*/spool"):
            if not spool.parent.name.isdigit():
                continue
            try:
                status = self.backend.get_job(int(spool.parent.name)).status  # a dead runner's job turns FAILED here
            except NotFoundError:
                continue  # not this backend's job: not ours to judge
            if status in FINISHED_STATUSES:
                shutil.rmtree(spool, ignore_errors=True)

    def _tune(
        self, ctx: JobContext, plan: TuningPlan, dataset: Dataset, checkpoint: Checkpoint | None
    ) -> dict[str, Any]:
        """The search, then every trial's model uploaded and the result; a stopped search raises
        :class:`Interrupted` with that result, a search where every trial failed fails the job."""
        from .tuning.engine import TuningRun
        from .tuning.models import no_model_note

        summary = TuningRun(ctx, plan, self.plugin, self.ray_address).run(dataset, checkpoint)
        model_ids: dict[str, int] = {}
        for trial in summary.trials:
            if trial.error is None and trial.model_source is not None:
                model = self.backend.add_model(
                    f"{plan.params.encoded_name}-trial-{trial.trial_id}",
                    trial.model_source,
                    job_id=ctx.job_id,
                    trial_id=trial.trial_id,
                    config=trial.config,
                    metrics=trial.metrics,
                )
                model_ids[trial.trial_id] = model.id
        without = models_missing(summary)
        if without:  # one line, however many trials: a search of a thousand must not bury the log
            ctx.log(f"warning: {no_model_note(without)}")
        ctx.progress.send(ProgressDone("model_upload"))
        if summary.best_trial is not None:
            self.backend.update_job(ctx.job_id, best_trial=summary.best_trial)
        failed = every_trial_failed(summary)
        if failed is not None:
            raise TrainActionError(failed)
        result, why = tuning_result(summary, plan.config, model_ids)
        if why is not None:
            ctx.log(f"warning: {why}")
        if summary.stop_reason == INTERRUPTED:
            ctx.log(f"stopped by a signal: {result['trials']['stopped']} trial(s) were still running or waiting")
            raise Interrupted(result)
        if summary.store_failure is not None:
            raise TrainActionError(summary.store_failure)
        return result

    def _dataset_phase(self, ctx: JobContext, job: Job) -> tuple[Dataset, Checkpoint | None]:
        params = job.params
        record = self.backend.get_dataset(params.dataset)
        dataset = Dataset(
            id=record.id,
            name=record.name,
            path=self.backend.dataset_path(record.id),
            metadata=record.metadata,
            files=[f["path"] for f in record.files],
        )
        checkpoint = None
        if params.checkpoint is not None:
            model = self.backend.get_model(params.checkpoint)
            checkpoint = Checkpoint(
                id=model.id,
                name=model.name,
                path=_private_copy(self.backend.model_path(model.id), ctx.run_dir / "checkpoint"),
                job_id=model.job_id,
                config=model.config,
                metrics=model.metrics,
            )
        ctx.progress.send(ProgressDone("dataset"))
        return dataset, checkpoint

    def _train_phase(
        self, ctx: JobContext, params: TrainingParams, dataset: Dataset, checkpoint: Checkpoint | None
    ) -> WorkerOutcome:
        spec = {
            "plugin": self.plugin.source,
            "hyperparameter": params.hyperparameter,
            "dataset": dataset.to_dict(),
            "checkpoint": checkpoint.to_dict() if checkpoint else None,
            "output_dir": str(ctx.run_dir / "output"),
            "spool_dir": str(ctx.run_dir / "spool" / "train"),
        }

        def make_pump(on_control: Any, on_failure: Any) -> EventPump:
            return EventPump(
                ctx.backend,
                ctx.job_id,
                ctx.run_dir / "spool",
                ctx.progress,
                ctx.observer,
                on_control,
                on_failure=on_failure,
            )

        return PluginProcess(spec, ctx.run_dir, make_pump).run()

    def _upload_phase(self, ctx: JobContext, params: TrainingParams, outcome: WorkerOutcome) -> dict[str, Any]:
        source = _model_source(outcome, ctx.run_dir / "output")
        model = None
        if source is None:
            _note(
                ctx, "no model to upload: train() returned no path, set no checkpoint_output, and left output_dir empty"
            )
        else:
            model = self.backend.add_model(
                params.encoded_name,
                source,
                job_id=ctx.job_id,
                config=dict(params.hyperparameter),
                metrics=outcome.last_metrics,
            )
            _note(ctx, f"model {model.id} '{model.name}' uploaded from {source} ({model.size} bytes)")
        ctx.progress.send(ProgressDone("model_upload"))
        return training_result(model, outcome.last_metrics)


def _work_root(backend: Backend) -> Path:
    """Where jobs keep their scratch folders: the home's ``runs``, or for the team server (whose
    home is on another machine) ``runs`` in this machine's cache of it."""
    from .backend.http import HttpBackend

    if isinstance(backend, HttpBackend):
        return backend.cache_dir / "runs"
    return default_home() / "runs"


def _job_log(backend: Backend, job_id: int, observer: JobObserver) -> Callable[[str], None]:
    def write(line: str) -> None:
        text = line if line.endswith("\n") else line + "\n"
        backend.append_log(job_id, text)
        observer.on_log(text)

    return write


def _note(ctx: JobContext, line: str) -> None:
    """A line of trainaction's own in the job log, stamped so it stands out from the plugin's."""
    ctx.log(f"[trainaction {time.strftime('%H:%M:%S')}] {line}")


def _fail(ctx: JobContext, error: str, outcome: WorkerOutcome | None) -> JobOutcome:
    result = {"metrics": outcome.last_metrics} if outcome is not None else None
    try:
        if outcome is not None:
            _note(ctx, f"plugin process: {outcome.exit_status}")
        _note(ctx, f"job {ctx.job_id} failed: {error}")
        ctx.progress.save(force=True)  # what the phases and the plugin got to, before the job shows FAILED
        ctx.backend.update_job(ctx.job_id, status="FAILED", error=error, result=result)
    except StoreError as exc:
        # The backend (a team server gone for longer than the retry window) cannot take the end: the
        # outcome says so rather than pretend it was recorded; the backend reads the job FAILED once
        # it sees its runner gone.
        error = f"{error}; its FAILED status could not be recorded: {exc}"
    return JobOutcome(ctx.job_id, "FAILED", result, error)


def _model_source(outcome: WorkerOutcome, output_dir: Path) -> Path | None:
    """The path train() returns, else run.checkpoint_output, else the files left in output_dir."""
    for candidate, what in (
        (outcome.returned_path, "train() returned"),
        (outcome.checkpoint_output, "run.checkpoint_output is"),
    ):
        if candidate is not None:
            path = Path(candidate)
            if not path.exists():
                raise TrainActionError(f"{what} '{path}', which does not exist; save the model there first")
            return path
    if output_dir.is_dir() and any(output_dir.iterdir()):
        return output_dir
    return None


def _private_copy(stored: Path, target: Path) -> Path:
    """The job's own copy of a stored model, so that nothing the plugin writes reaches the store.

    File modes protect nothing (jobs often run as root) and hard links share the content, so the
    plugin gets real copies. ``copy_file`` makes them as reflinks where the filesystem can
    (copy-on-write: instant, no extra space) and with in-kernel copies elsewhere: on ext4 a 1 GB
    model copies in about 0.6 s, less than the sha256 check before it (benchmarks/RESULTS.md).
    Tuning trials share this one copy: a copy per trial would cost the model's size per trial.
    """
    shutil.rmtree(target, ignore_errors=True)  # the job's own scratch folder, never a stored one
    copy_tree(stored, target, f"model folder '{stored}'")
    return target
