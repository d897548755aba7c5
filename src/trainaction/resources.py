"""What a plugin receives besides its hyperparameters: the dataset and, when resuming, a checkpoint."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Checkpoint", "Dataset"]


@dataclass(frozen=True)
class Dataset:
    """A registered dataset, materialised as a local folder at ``path``."""

    id: int
    name: str
    path: Path
    metadata: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "path": str(self.path),
            "metadata": self.metadata,
            "files": self.files,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Dataset:
        return cls(data["id"], data["name"], Path(data["path"]), data["metadata"], data["files"])


@dataclass(frozen=True)
class Checkpoint:
    """A model from an earlier job: its files at ``path`` and the config and metrics it was made with.

    While tuning, a trial that Ray restores (a retry, a PBT exploit) gets its own last checkpoint,
    with ``id`` None.
    """

    id: int | None
    name: str
    path: Path
    job_id: int | None = None
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "path": str(self.path),
            "job_id": self.job_id,
            "config": self.config,
            "metrics": self.metrics,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        return cls(data["id"], data["name"], Path(data["path"]), data["job_id"], data["config"], data["metrics"])
