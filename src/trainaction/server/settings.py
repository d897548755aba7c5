"""The server's options (a stand-in with the agreed fields; the server's own module replaces it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ServerSettings"]


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8765
    db: str | None = None
    artifacts: Path
    max_body_mb: float = 16
    max_upload_gb: float = 10
