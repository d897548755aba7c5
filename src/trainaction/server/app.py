"""The FastAPI application: routers, the body limit, and the one table from errors to HTTP statuses."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..backend import LocalBackend
from ..errors import (
    DatabaseLockedError,
    InUseError,
    NotFoundError,
    PathError,
    StoreError,
    TrainActionError,
    ValidationError,
)
from . import routes_charts, routes_files, routes_jobs, routes_submissions, routes_tokens, ui
from .auth import TokenStore
from .limits import BodyLimit
from .settings import ServerSettings

__all__ = ["STATUS", "JsonAnswer", "create_app"]

log = logging.getLogger("trainaction.server")

# Looked up along the exception's classes (as the CLI's exit statuses): the most specific entry wins.
STATUS: dict[type[BaseException], int] = {
    TrainActionError: 409,
    NotFoundError: 404,
    InUseError: 409,
    StoreError: 409,
    PathError: 400,
    ValidationError: 422,
    # Another process held the database past every retry: the client retries 503s.
    DatabaseLockedError: 503,
}


class JsonAnswer(JSONResponse):
    """JSON with every character past ASCII escaped. Stored text can hold a lone surrogate (a client's
    ``"\\ud800"`` escape is valid JSON and is kept as sent), which UTF-8 cannot encode but an escape can:
    the answer must be the data back, not a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def create_app(
    storage: LocalBackend, tokens: TokenStore, settings: ServerSettings, *, open_read: bool = False
) -> FastAPI:
    """``open_read``: every request is a ``read`` caller without a token (`trainaction ui` on loopback)."""
    app = FastAPI(
        title="trainaction",
        summary="The team server of trainaction: jobs, events, datasets and models.",
        version="1",
        default_response_class=JsonAnswer,
    )
    app.state.storage = storage
    app.state.tokens = tokens
    app.state.settings = settings
    app.state.creating = threading.Lock()
    app.state.open_read = open_read
    for module in (routes_jobs, routes_charts, routes_files, routes_submissions, routes_tokens):
        app.include_router(module.router)
    ui.mount(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_exception_handler(TrainActionError, _known)
    app.add_exception_handler(Exception, _unexpected)
    return app


async def _known(_: Request, exc: Exception) -> JsonAnswer:
    status = next((STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS), 409)
    return JsonAnswer({"detail": str(exc)}, status_code=status)


async def _unexpected(request: Request, exc: Exception) -> JsonAnswer:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JsonAnswer(
        {"detail": f"internal error ({type(exc).__name__}); the server's log has the details"}, status_code=500
    )
