"""The HTTP backend's connection to the team server: one keep-alive client, retries, error mapping.

A server restart must not fail a job: connection errors and 502/503/504 are retried with backoff
(0.1 s doubling to 5 s) for ``retry_s`` seconds, once the server has answered; a server that never
answered (a wrong URL, a server not started) is reported after a few seconds. Every write the client sends carries an id (a
batch id, a request id) or is idempotent by nature (PATCH, PUT), so a retry after a lost answer
stores nothing twice. Other HTTP errors become the embedded backend's exceptions, with the
server's message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import orjson

from ..errors import InUseError, NotFoundError, StoreError

__all__ = ["JSON_TYPE", "Transport", "json_content", "retry_seconds"]

T = TypeVar("T")

_RETRIED_STATUSES = frozenset({502, 503, 504})
_FIRST_PAUSE_S = 0.1
_LONGEST_PAUSE_S = 5.0
# Before the server has answered once, a call waits this long at most: the retry window is there
# for a server that restarts under a running job, not to make `jobs list` at a wrong URL hang.
_FIRST_CONTACT_S = 5.0


JSON_TYPE = {"Content-Type": "application/json"}


def json_content(value: Any) -> bytes:
    """``value`` as a JSON body: orjson, about five times as fast as httpx's ``json=`` (the standard
    library) for a batch of events, which a job's pump sends while the training loop runs.

    NaN and ±inf go as null (the server refuses them: they are not JSON); what orjson cannot encode
    (an integer past 64 bits) goes through the standard library, which writes it exactly."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value).encode()


def retry_seconds() -> float:
    """``TRAINACTION_STORE_RETRY_S`` (seconds a failing call is retried), 60 by default."""
    from ..pump import store_retry_seconds  # the one reader of that variable; imported late (pump imports backends)

    return store_retry_seconds()


class Transport:
    """``url`` is the server's root (``http://host:port``); requests go to ``/api/v1`` below it."""

    def __init__(self, url: str, token: str, retry_s: float, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.retry_s = retry_s
        # Set when a call waited out the whole window, cleared by the next answer: once the server is
        # known to be gone, later calls (a failing job recording its end) try once instead of waiting again.
        self.gone = False
        self.reached = False  # the server has answered once (whatever it said)
        self.client = httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            # Reads of a large page or a slow disk on the server take a while; a connect does not.
            timeout=httpx.Timeout(60.0, connect=5.0),
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

    def call(self, work: Callable[[], T], *, retry_s: float | None = None) -> T:
        """Run ``work`` (one or more requests), again after a connection error or a 502/503/504,
        until ``retry_s`` seconds passed; then StoreError naming the server and the last cause."""
        window = 0.0 if self.gone else self.retry_s if retry_s is None else retry_s
        if not self.reached:
            window = min(window, _FIRST_CONTACT_S)
        started = time.monotonic()
        pause = _FIRST_PAUSE_S
        while True:
            try:
                answer = work()
                self.gone = False
                return answer
            except (httpx.TransportError, httpx.HTTPStatusError) as exc:
                # HTTPStatusError is raised by check() only for a 502/503/504: the server (or a proxy
                # before it) is there but cannot answer now.
                waited = time.monotonic() - started
                if waited >= window:
                    self.gone = window > 0 or self.gone
                    raise StoreError(
                        f"the server at {self.url} did not answer for {waited:.0f} s: {_cause(exc)}; "
                        "check that `trainaction server` runs there (TRAINACTION_BACKEND / --backend)"
                    ) from None
                time.sleep(min(pause, max(0.0, window - waited)))
                pause = min(pause * 2, _LONGEST_PAUSE_S)

    def request(self, method: str, path: str, *, retry_s: float | None = None, **kwargs: Any) -> httpx.Response:
        """One request, retried; an error answer raised as the matching exception."""

        def send() -> httpx.Response:
            # A streamed body (a generator) cannot be sent twice: the caller passes a factory instead.
            factory = kwargs.pop("content_factory", None)
            if factory is not None:
                kwargs["content"] = factory()
            try:
                return self.check(self.client.request(method, path, **kwargs))
            finally:
                if factory is not None:
                    kwargs["content_factory"] = factory

        return self.call(send, retry_s=retry_s)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    def check(self, response: httpx.Response) -> httpx.Response:
        """``response`` when it succeeded; else the exception its status maps to (one to retry for 502/503/504)."""
        self.reached = True
        if response.is_success:
            return response
        if not response.is_stream_consumed:
            response.read()
        status = response.status_code
        detail = _detail(response)
        if status in _RETRIED_STATUSES:
            raise httpx.HTTPStatusError(f"HTTP {status}: {detail}", request=response.request, response=response)
        if status == 401:
            raise StoreError(
                f"the server at {self.url} refused the token ({detail}); set TRAINACTION_TOKEN (or --token) "
                "to a valid token from `trainaction token create`"
            )
        if status == 403:
            raise StoreError(
                f"the server at {self.url} refused this request: {detail}; use a token with that role "
                "(TRAINACTION_TOKEN or --token)"
            )
        if status == 404:
            raise NotFoundError(detail)
        if status == 409:
            raise InUseError(detail)
        raise StoreError(f"the server at {self.url} refused the request ({method_path(response)}, {status}): {detail}")


def method_path(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url.path}"


def _detail(response: httpx.Response) -> str:
    """The server's message: ``detail`` as text, or FastAPI's list of field errors joined."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(part) for part in item.get("loc", ()))
                parts.append(f"{where}: {item.get('msg', item)}" if where else str(item.get("msg", item)))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)


def _cause(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
