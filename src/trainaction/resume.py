"""`jobs resume`: a tuning job whose search was cut off continues from its Ray Tune state.

What can resume: a tuning job that is FAILED (its driver died: SIGKILL, a machine lost) or STOPPED,
whose experiment folder (``<run folder>/ray/tune``, on the machine that ran it) is still there. Its
plugin is the one stored with a submitted job (``plugin.zip``), else the ``--plugin`` given.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .action import JobOutcome, TrainAction, default_work_root
from .backend import Backend
from .errors import NotFoundError, NotResumableError
from .plugin import load_plugin
from .pump import JobObserver
from .submission import unpack_plugin
from .validation import parse_job

__all__ = ["experiment_dir", "resume_job"]


def experiment_dir(work_root: Path, job_id: int) -> Path:
    """Where a tuning job's Ray Tune state lives (see :class:`trainaction.tuning.engine.TuningRun`)."""
    return work_root / str(job_id) / "ray" / "tune"


def resume_job(
    backend: Backend,
    job_id: int,
    plugin: str | Path | None = None,
    *,
    observer: JobObserver | None = None,
    ray_address: str | None = None,
) -> JobOutcome:
    """Run the rest of job ``job_id``'s search and its uploads; raises NotResumableError (nothing
    changed) when the job cannot resume, saying why."""
    record = backend.get_job(job_id)  # a job whose runner died reads FAILED here
    if not record.params.get("is_tune"):
        raise NotResumableError(
            f"job {job_id} is a training job; only tuning jobs resume (from Ray Tune's state): run it again instead"
        )
    if record.status == "SUCCEEDED":
        raise NotResumableError(f"job {job_id} SUCCEEDED; there is nothing left to resume")
    if record.status not in ("FAILED", "STOPPED"):
        raise NotResumableError(
            f"job {job_id} is {record.status}; only a FAILED or STOPPED job resumes (stop it first: "
            f"trainaction jobs stop {job_id})"
        )
    action = TrainAction(backend, load_plugin(_plugin_dir(backend, job_id, plugin)), ray_address=ray_address)
    if observer is not None:
        action.observer = observer
    state = experiment_dir(action.work_root, job_id)
    from ray.tune import Tuner

    if not Tuner.can_restore(str(state)):
        raise NotResumableError(
            f"job {job_id} has no Ray Tune state left at {state} (it never started its search, it ran on "
            "another machine, or its folder was removed); run the job again instead"
        )
    job = parse_job({"action": record.action, "params": record.params}).job
    return action.resume(action.prepare(job), job_id)


def _plugin_dir(backend: Backend, job_id: int, plugin: str | Path | None) -> str | Path:
    """``plugin`` when given; else the plugin stored with the submitted job, unpacked beside its run."""
    if plugin is not None:
        return plugin
    try:
        submission = backend.get_submission(job_id)
    except NotFoundError:
        raise NotResumableError(
            f"job {job_id} was started with `trainaction run`, so no plugin is stored with it; "
            f"give it: trainaction jobs resume {job_id} --plugin DIR"
        ) from None
    folder = default_work_root(backend) / str(job_id) / "plugin"
    shutil.rmtree(folder, ignore_errors=True)
    return unpack_plugin(backend.read_file(submission.plugin_key), folder)
