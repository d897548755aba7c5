"""Where a job's files come from and go: the model a training run leaves, the job's own checkpoint copy."""

from __future__ import annotations

import shutil
from pathlib import Path

from .backend.files import copy_tree
from .errors import TrainActionError
from .supervisor import WorkerOutcome

__all__ = ["model_source", "private_copy"]


def model_source(outcome: WorkerOutcome, output_dir: Path) -> Path | None:
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


def private_copy(stored: Path, target: Path) -> Path:
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
