"""The FastAPI application (a stand-in: the token routes only; the server's own module replaces it)."""

from __future__ import annotations

from fastapi import FastAPI

from ..backend import LocalBackend
from . import routes_tokens
from .auth import TokenStore
from .settings import ServerSettings

__all__ = ["create_app"]


def create_app(storage: LocalBackend, tokens: TokenStore, settings: ServerSettings) -> FastAPI:
    app = FastAPI(title="trainaction")
    app.state.storage = storage
    app.state.tokens = tokens
    app.state.settings = settings
    app.include_router(routes_tokens.router)
    return app
