"""Which files are a trial's model.

The same four ways as the reference describes, in its order, plus training mode's last resort:
``checkpoint_output`` in the reported metrics → the last reported checkpoint → ``run.checkpoint_output``
→ files left in ``run.output_dir``. A trial a scheduler stopped early keeps the checkpoint of its last
report (Ray keeps every reported checkpoint: no ``num_to_keep`` is set).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["MODEL_WAYS", "no_model_note", "trial_model"]

MODEL_WAYS = (
    "report 'checkpoint_output' (a path) in its metrics",
    "report a checkpoint: tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(path))",
    "set run.checkpoint_output to the model's folder",
    "leave the model's files in run.output_dir",
)


def trial_model(
    metrics: dict[str, Any], checkpoint: Any, checkpoint_output: str | None, output_dir: Path
) -> Path | None:
    """The first of the four that names files that exist; None if none does."""
    candidates = [
        metrics.get("checkpoint_output"),
        checkpoint.path if checkpoint is not None else None,
        checkpoint_output,
    ]
    for candidate in candidates:
        if isinstance(candidate, str) and candidate and Path(candidate).exists():
            return Path(candidate)
    if output_dir.is_dir() and any(output_dir.iterdir()):
        return output_dir
    return None


def no_model_note(trial_ids: list[str]) -> str:
    """For the trials' ``note`` and, once for all of them, the job log's warning."""
    ways = "; ".join(f"({n}) {way}" for n, way in enumerate(MODEL_WAYS, 1))
    which = f"trial {trial_ids[0]}" if len(trial_ids) == 1 else f"{len(trial_ids)} trials ({', '.join(trial_ids)})"
    return f"{which} ended without a model; tune() gives one in any of four ways: {ways}"
