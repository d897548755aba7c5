"""The team server: the REST API (``/api/v1``) over the embedded backend's storage code."""

from __future__ import annotations

from .app import create_app
from .settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
