"""Backends: where jobs, events and models are stored."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import StoreError
from .base import JOB_STATUSES, Backend, DatasetRecord, Deletion, JobRecord, ModelRecord
from .local import LocalBackend

__all__ = [
    "JOB_STATUSES",
    "Backend",
    "DatasetRecord",
    "Deletion",
    "JobRecord",
    "LocalBackend",
    "ModelRecord",
    "default_home",
    "open_backend",
    "server_url",
]


def default_home() -> Path:
    """``$TRAINACTION_HOME``, else ``~/.trainaction``."""
    return Path(os.environ.get("TRAINACTION_HOME") or Path.home() / ".trainaction").expanduser()


def server_url(url: str | None = None) -> str | None:
    """The team server's URL: ``url`` (a command's ``--backend``), else ``$TRAINACTION_BACKEND``; None
    selects the embedded backend. Anything but an ``http(s)://`` URL is refused, naming where it came from."""
    where = "--backend" if url else "TRAINACTION_BACKEND"
    url = url or os.environ.get("TRAINACTION_BACKEND") or None
    if url is None:
        return None
    if not url.startswith(("http://", "https://")):
        raise StoreError(
            f"{where} is '{url}'; it must be the team server's URL, e.g. http://127.0.0.1:8765 "
            "(leave it unset for the embedded backend)"
        )
    return url


def open_backend(*, create: bool = True, url: str | None = None, token: str | None = None) -> Backend:
    """The backend the environment selects: the team server at ``url`` (else ``$TRAINACTION_BACKEND``)
    with ``token`` (else ``$TRAINACTION_TOKEN``), or the embedded one under :func:`default_home`.

    ``create=False`` for commands that only read: a missing home raises NoHomeError, nothing is made."""
    server = server_url(url)
    if server is None:
        return LocalBackend(default_home(), create=create)
    token = token or os.environ.get("TRAINACTION_TOKEN") or None
    if token is None:
        raise StoreError(
            f"the backend is the team server at {server}, but no token is given; set TRAINACTION_TOKEN "
            "(or pass --token) to a token from `trainaction token create`"
        )
    from .http import HttpBackend  # httpx is loaded only for the server

    return HttpBackend(server, token)
