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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .backend import Backend, default_home
from .backend.base import FINISHED_STATUSES
from .backend.files import copy_tree
from .errors import Interrupted, JobStopped, NotFoundError, PluginError, TrainActionError, ValidationError
from .job import Job
from .liveness import Heartbeat, this_runner
from .plugin import Plugin
from .progress import TRAINING_WEIGHTS, TUNING_WEIGHTS, PhaseProgress
from .pump import EventPump, JobObserver, NullObserver
from .resources import Checkpoint, Dataset
from .supervisor import PluginProcess, WorkerOutcome

__all__ = ["JobOutcome", "TrainAction"]


@dataclass(frozen=True)
class JobOutcome:
    job_id: int
    status: str
    result: dict[str, Any] | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "status": self.status, "result": self.result, "error": self.error}


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
        self.work_root = work_root or default_home() / "runs"
        self.ray_address = ray_address

    def preflight(self, job: Job) -> None:
        """Every check that needs no job record: plugin schema, dataset and checkpoint ids, mode support."""
        params = job.params
        if params.is_tune:
            from .tuning.checks import tuning_errors

            if self.plugin.tune is None:
                raise PluginError(
                    f"plugin '{self.plugin.name}' has no tune() function; tuning jobs (is_tune=true) need "
                    "tune(hyperparameter, run, dataset, checkpoint, **kwargs)"
                )
            errors = tuning_errors(params)
            if not errors and self._starts_local_ray():
                from .tuning.checks import capacity_errors, tuning_preview

                errors = capacity_errors(tuning_preview(params))
        else:
            assert params.hyperparameter is not None
            errors = self.plugin.hyperparameter_errors(params.hyperparameter)
        if errors:
            raise ValidationError(errors)
        try:
            self.backend.get_dataset(params.dataset)
        except NotFoundError as exc:
            raise NotFoundError(f"params.dataset: {exc}") from None
        if params.checkpoint is not None:
            try:
                self.backend.get_model(params.checkpoint)
            except NotFoundError as exc:
                raise NotFoundError(f"params.checkpoint: {exc} (a checkpoint is a model id)") from None

    def _starts_local_ray(self) -> bool:
        """Whether a tuning job starts Ray on this machine, whose size is known without starting it."""
        ray = sys.modules.get("ray")
        running = ray is not None and ray.is_initialized()
        return self.ray_address is None and not os.environ.get("RAY_ADDRESS") and not running

    def execute(self, job: Job, *, checked: bool = False) -> JobOutcome:
        """Run the job to its end. Raises before creating a record if the input is wrong;
        afterwards every failure is recorded on the job and returned, not raised.
        ``checked``: the caller already ran :meth:`preflight` on this job."""
        if not checked:
            self.preflight(job)
        params = job.params
        record = self.backend.create_job(job.action, job.to_document()["params"], params.encoded_name, params.name)
        job_id = record.id
        self.observer.on_start(job_id, params.name)
        self._reclaim_spools()
        self.backend.heartbeat(job_id, this_runner())  # who runs it, recorded before it shows RUNNING
        self.backend.update_job(job_id, status="RUNNING")
        run_dir = self.work_root / str(job_id)
        try:
            with Heartbeat(lambda: self.backend.heartbeat(job_id)):
                return self._run(job_id, job, run_dir)
        finally:
            # Whatever the end, the pump drained the spool before we get here: it is only scratch now.
            shutil.rmtree(run_dir / "spool", ignore_errors=True)

    def _run(self, job_id: int, job: Job, run_dir: Path) -> JobOutcome:
        params = job.params
        progress = PhaseProgress(TUNING_WEIGHTS if params.is_tune else TRAINING_WEIGHTS)
        self._log(job_id, f"job {job_id} '{params.name}' started with plugin {self.plugin.source}")
        try:
            dataset, checkpoint = self._dataset_phase(job, run_dir, progress)
            self._set_progress(job_id, progress)
            if params.is_tune:
                result = self._tune(job_id, job, dataset, checkpoint, run_dir, progress)
            else:
                outcome = self._train_phase(job_id, job, dataset, checkpoint, run_dir, progress)
                if not outcome.succeeded:
                    return self._fail(job_id, progress, outcome.error or "train() failed", outcome)
                progress.complete("train")
                self._set_progress(job_id, progress)
                result = self._upload_phase(job_id, job, outcome, run_dir, progress)
        except KeyboardInterrupt as exc:
            partial = exc.result if isinstance(exc, Interrupted) else None
            self._log(job_id, "stopped by the user (Ctrl-C, SIGTERM or SIGHUP)")
            self.backend.update_job(job_id, status="STOPPED", error="stopped by the user", result=partial)
            raise JobStopped(job_id, partial) from None
        except TrainActionError as exc:
            return self._fail(job_id, progress, str(exc), None)
        except Exception as exc:  # a failure of ours or of a library: the job must not stay RUNNING
            self._log(job_id, traceback.format_exc().rstrip())
            return self._fail(job_id, progress, f"{type(exc).__name__}: {exc}", None)
        self._set_progress(job_id, progress)
        self.backend.update_job(job_id, status="SUCCEEDED", result=result)
        self._log(job_id, f"job {job_id} succeeded")
        # Scratch space goes; Ray's trial folders (each result's trial_logdir) stay.
        for scratch in ("output", "trials", "checkpoint"):
            shutil.rmtree(run_dir / scratch, ignore_errors=True)
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
        self,
        job_id: int,
        job: Job,
        dataset: Dataset,
        checkpoint: Checkpoint | None,
        run_dir: Path,
        progress: PhaseProgress,
    ) -> dict[str, Any]:
        from .tuning.engine import TuningRun

        tuning = TuningRun(self.backend, job_id, job, self.plugin, run_dir, progress, self.observer, self.ray_address)
        return tuning.run(dataset, checkpoint)

    def _dataset_phase(self, job: Job, run_dir: Path, progress: PhaseProgress) -> tuple[Dataset, Checkpoint | None]:
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
                path=_private_copy(self.backend.model_path(model.id), run_dir / "checkpoint"),
                job_id=model.job_id,
                config=model.config,
                metrics=model.metrics,
            )
        progress.complete("dataset")
        return dataset, checkpoint

    def _train_phase(
        self,
        job_id: int,
        job: Job,
        dataset: Dataset,
        checkpoint: Checkpoint | None,
        run_dir: Path,
        progress: PhaseProgress,
    ) -> WorkerOutcome:
        spec = {
            "plugin": self.plugin.source,
            "hyperparameter": job.params.hyperparameter,
            "dataset": dataset.to_dict(),
            "checkpoint": checkpoint.to_dict() if checkpoint else None,
            "output_dir": str(run_dir / "output"),
            "spool_dir": str(run_dir / "spool" / "train"),
        }

        def make_pump(on_control: Any, on_failure: Any) -> EventPump:
            return EventPump(
                self.backend, job_id, run_dir / "spool", progress, self.observer, on_control, on_failure=on_failure
            )

        return PluginProcess(spec, run_dir, make_pump).run()

    def _upload_phase(
        self, job_id: int, job: Job, outcome: WorkerOutcome, run_dir: Path, progress: PhaseProgress
    ) -> dict[str, Any]:
        source = _model_source(outcome, run_dir / "output")
        metrics = outcome.last_metrics
        result: dict[str, Any] = {"model_id": None, "model_name": None, "metrics": metrics}
        if source is None:
            self._log(
                job_id,
                "no model to upload: train() returned no path, set no checkpoint_output, and left output_dir empty",
            )
        else:
            model = self.backend.add_model(
                job.params.encoded_name,
                source,
                job_id=job_id,
                config=dict(job.params.hyperparameter or {}),
                metrics=metrics,
            )
            result.update(model_id=model.id, model_name=model.name)
            self._log(job_id, f"model {model.id} '{model.name}' uploaded from {source} ({model.size} bytes)")
        progress.complete("model_upload")
        return result

    def _fail(self, job_id: int, progress: PhaseProgress, error: str, outcome: WorkerOutcome | None) -> JobOutcome:
        if outcome is not None:
            self._log(job_id, f"plugin process: {outcome.exit_status}")
        self._log(job_id, f"job {job_id} failed: {error}")
        result = {"metrics": outcome.last_metrics} if outcome is not None else None
        self.backend.update_job(
            job_id,
            status="FAILED",
            error=error,
            result=result,
            progress=progress.snapshot(),
            progress_percent=progress.percent,
        )
        return JobOutcome(job_id, "FAILED", result, error)

    def _set_progress(self, job_id: int, progress: PhaseProgress) -> None:
        self.backend.update_job(job_id, progress=progress.snapshot(), progress_percent=progress.percent)
        self.observer.on_progress(progress.snapshot(), progress.percent)

    def _log(self, job_id: int, line: str) -> None:
        text = f"[trainaction {time.strftime('%H:%M:%S')}] {line}\n"
        self.backend.append_log(job_id, text)
        self.observer.on_log(text)


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
