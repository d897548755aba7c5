"""What the routes take from the app: its storage and settings, and the caller's role."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request

from ..backend import LocalBackend
from .auth import Caller, require
from .schemas import MAX_ID
from .settings import ServerSettings

__all__ = ["ERRORS", "JobId", "Reader", "Writer", "settings", "storage"]


def storage(request: Request) -> LocalBackend:
    backend: LocalBackend = request.app.state.storage
    return backend


def settings(request: Request) -> ServerSettings:
    value: ServerSettings = request.app.state.settings
    return value


Storage = Annotated[LocalBackend, Depends(storage)]
Settings = Annotated[ServerSettings, Depends(settings)]
Reader = Annotated[Caller, Depends(require("read"))]
Writer = Annotated[Caller, Depends(require("write"))]
JobId = Annotated[int, Path(ge=1, le=MAX_ID, description="the job's id")]
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
            }
        },
    }


# The error answers every route may give, for the spec.
ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error("missing or invalid token"),
    403: _error("the token's role is too low"),
    404: _error("no such record"),
}
CONFLICT: dict[int | str, dict[str, Any]] = {409: _error("in use, or the store refused")}
TOO_LARGE: dict[int | str, dict[str, Any]] = {413: _error("larger than the server's limit")}
BAD_PATH: dict[int | str, dict[str, Any]] = {400: _error("the path is not inside its folder")}
