"""The size limit of JSON request bodies, enforced while the body arrives."""

from __future__ import annotations

import json

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimit", "too_large"]


def too_large(what: str, limit: str, fix: str) -> HTTPException:
    return HTTPException(413, f"{what} is larger than the limit of {limit}; {fix}")


class BodyLimit:
    """Pure ASGI: a body announced (Content-Length) or found (counted as it streams) past ``limit``
    bytes is answered 413 before the app holds it. PUT bodies are file uploads, limited by their route."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "PUT":
            await self.app(scope, receive, send)
            return
        error = too_large(
            "the request body", f"{self.limit / 2**20:.3g} MiB", "send less at a time (the server's --max-body-mb)"
        )
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await _answer(send, error)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # An HTTPException: FastAPI's body reading passes it on, and the app answers 413.
                    raise error
            return message

        await self.app(scope, counted, send)


async def _answer(send: Send, error: HTTPException) -> None:
    body = json.dumps({"detail": error.detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
