"""The server's security, over real HTTP: every route needs a token of the right role.

The routes are read from the app itself, so a route added later is covered without editing this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from servers import live_app
from trainaction.backend import LocalBackend
from trainaction.server.app import create_app
from trainaction.server.auth import ROLES, TokenStore
from trainaction.server.settings import ServerSettings

UNAUTHORIZED = {"detail": "missing or invalid token"}


def _app(backend: LocalBackend) -> FastAPI:
    return create_app(backend, TokenStore(backend.engine), ServerSettings(artifacts=backend.home))


def _needed(method: str, path: str) -> str:
    """The role api.md gives a route: tokens are admin's; every other read is read's, every change write's."""
    if path.startswith("/api/v1/tokens"):
        return "admin"
    return "read" if method in ("GET", "HEAD") else "write"


def _requests(app: FastAPI) -> list[tuple[str, str, str]]:
    """(method, concrete path, role needed) for every operation of the app's OpenAPI spec."""
    routes = []
    for template, operations in app.openapi()["paths"].items():
        path = re.sub(r"\{[^}]+\}", "1", template)
        if "{" in path or not template.startswith("/"):
            raise AssertionError(template)
        for method in operations:
            routes.append((method.upper(), path, _needed(method.upper(), template)))
    return routes


@pytest.fixture
def live(backend: LocalBackend) -> Iterator[tuple[str, str]]:
    with live_app(backend) as (url, admin):
        yield url, admin


def _send(client: httpx.Client, method: str, path: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    body: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return client.request(method, path, headers=headers, **body)


def test_every_operation_declares_bearer_auth(backend: LocalBackend) -> None:
    routes = _requests(_app(backend))
    assert ("GET", "/api/v1/whoami", "read") in routes and ("POST", "/api/v1/tokens", "admin") in routes
    spec = _app(backend).openapi()
    operations = [op for methods in spec["paths"].values() for op in methods.values()]
    assert operations and all(op.get("security") == [{"HTTPBearer": []}] for op in operations)


@pytest.mark.parametrize(
    "token",
    [None, "Bearer", "Bearer ta_" + "x" * 43, "Bearer not-a-token", "Basic YWRtaW46YWRtaW4=", "ta_" + "x" * 43],
    ids=["missing", "empty", "unknown", "malformed", "basic", "no-scheme"],
)
def test_every_route_refuses_a_missing_or_wrong_token(
    backend: LocalBackend, live: tuple[str, str], token: str | None
) -> None:
    url, admin = live
    with httpx.Client(base_url=url, timeout=30) as client:
        for method, path, _role in _requests(_app(backend)):
            headers = {} if token is None else {"Authorization": token}
            answer = client.request(method, path, headers=headers)
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.json() == UNAUTHORIZED, (method, path)
            assert answer.headers["www-authenticate"] == "Bearer"
            # the admin token, sent in a way the server does not read, is no token
            wrong_scheme = client.request(method, path, headers={"Authorization": f"Token {admin}"})
            assert wrong_scheme.status_code == 401, (method, path)


def test_each_role_reaches_its_routes_and_no_higher(backend: LocalBackend, live: tuple[str, str]) -> None:
    url, admin = live
    tokens = TokenStore(backend.engine)
    secrets = {role: tokens.create(f"t-{role}", role)[1] for role in ROLES}
    with httpx.Client(base_url=url, timeout=30) as client:
        for method, path, needed in _requests(_app(backend)):
            for role, secret in secrets.items():
                answer = _send(client, method, path, secret)
                if ROLES.index(role) < ROLES.index(needed):
                    article = "an" if needed == "admin" else "a"
                    expected = {"detail": f"this needs {article} {needed} token; yours is {role}"}
                    assert (answer.status_code, answer.json()) == (403, expected), (method, path, role)
                else:
                    assert answer.status_code not in (401, 403), (method, path, role, answer.text)


def test_a_read_token_cannot_write_and_a_write_token_cannot_manage_tokens(
    backend: LocalBackend, live: tuple[str, str]
) -> None:
    url, admin = live
    tokens = TokenStore(backend.engine)
    writer = tokens.create("writer", "write")[1]
    with httpx.Client(base_url=url, timeout=30) as client:
        denied = client.post(
            "/api/v1/tokens", json={"name": "mine", "role": "admin"}, headers={"Authorization": f"Bearer {writer}"}
        )
        assert (denied.status_code, denied.json()) == (403, {"detail": "this needs an admin token; yours is write"})
        assert "mine" not in [r.name for r in tokens.list()]
        made = client.post(
            "/api/v1/tokens", json={"name": "mine", "role": "read"}, headers={"Authorization": f"Bearer {admin}"}
        )
        assert made.status_code == 201


def test_a_revoked_token_stops_working_at_once(backend: LocalBackend, live: tuple[str, str]) -> None:
    url, admin = live
    with httpx.Client(base_url=url, timeout=30) as client:
        secret = client.post(
            "/api/v1/tokens", json={"name": "ci", "role": "write"}, headers={"Authorization": f"Bearer {admin}"}
        ).json()["token"]
        me = {"Authorization": f"Bearer {secret}"}
        assert client.get("/api/v1/whoami", headers=me).status_code == 200
        assert client.delete("/api/v1/tokens/ci", headers={"Authorization": f"Bearer {admin}"}).status_code == 204
        gone = client.get("/api/v1/whoami", headers=me)
        assert (gone.status_code, gone.json()) == (401, UNAUTHORIZED)
