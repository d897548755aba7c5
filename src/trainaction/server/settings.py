"""The server's options, as `trainaction server` takes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..backend import default_home

__all__ = ["ServerSettings"]


@dataclass(frozen=True)
class ServerSettings:
    """``db``: a SQLAlchemy URL, None for the SQLite database in ``artifacts`` (as the embedded backend's)."""

    host: str = "127.0.0.1"
    port: int = 8765
    db: str | None = None
    artifacts: Path = field(default_factory=default_home)
    max_body_mb: float = 16
    max_upload_gb: float = 10

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 2**20)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_gb * 2**30)
