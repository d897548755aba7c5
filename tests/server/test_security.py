"""The server's security, over real HTTP: every route needs a token of the right role.

The routes are read from the app itself, so a route added later is covered without editing this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
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


# --- file paths from requests ------------------------------------------------------------------------

SECRET = b"TOPSECRET-outside-the-artifacts"
# Sent as they are (http.client, which never normalises a path): each must be refused, never served.
HOSTILE = [
    "../../../secret.txt",
    "%2e%2e/%2e%2e/%2e%2e/secret.txt",
    "..%2f..%2f..%2fsecret.txt",
    "%2E%2E%2F%2E%2E%2F%2E%2E%2Fsecret.txt",
    "/{secret}",
    "%2F{secret_quoted}",
    "ok.txt%00.png",
    "sub%00/ok.txt",
    "..%5c..%5c..%5csecret.txt",
    "sub%5cok.txt",
    "sub//ok.txt",
    "./ok.txt",
    "link.txt",
]


def _get_raw(url: str, path: str, token: str) -> tuple[int, bytes]:
    import http.client
    import urllib.parse

    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        connection.putheader("Authorization", f"Bearer {token}")
        connection.endheaders()
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def _upload(client: httpx.Client, files: dict[str, bytes]) -> str:
    import hashlib

    upload = client.post("/api/v1/uploads").json()["upload_id"]
    for name, content in files.items():
        sha = hashlib.sha256(content).hexdigest()
        answer = client.put(
            f"/api/v1/uploads/{upload}/files/{name}", content=content, headers={"X-Content-SHA256": sha}
        )
        assert answer.status_code == 201, answer.text
    return str(upload)


def test_no_file_route_serves_a_path_outside_its_folder(
    backend: LocalBackend, live: tuple[str, str], tmp_path: Path
) -> None:
    import os
    import urllib.parse

    url, admin = live
    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET)
    job = backend.create_job("train", {}, "j", "j")
    backend.put_file(job.id, "ok.txt", b"fine")
    backend.put_file(job.id, "sub/ok.txt", b"fine")
    files = {"ok.txt": b"fine", "sub/ok.txt": b"fine"}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as client:
        dataset = client.post("/api/v1/datasets", json={"name": "d", "upload_id": _upload(client, files)}).json()
        model = client.post("/api/v1/models", json={"name": "m", "upload_id": _upload(client, files)}).json()
    folders = {
        f"/api/v1/files/jobs/{job.id}/": backend.home / "files" / "jobs" / str(job.id),
        f"/api/v1/datasets/{dataset['id']}/files/": Path(dataset["location"]),
        f"/api/v1/models/{model['id']}/files/": backend.model_path(model["id"]),
    }
    for prefix, folder in folders.items():
        os.symlink(secret, folder / "link.txt")
        assert _get_raw(url, prefix + "ok.txt", admin) == (200, b"fine"), prefix  # the route does serve files
        for hostile in HOSTILE:
            path = hostile.format(secret=secret, secret_quoted=urllib.parse.quote(str(secret), safe=""))
            status, body = _get_raw(url, prefix + path, admin)
            assert status in (400, 404), (prefix, path, status, body)
            assert SECRET not in body, (prefix, path)


def test_an_upload_cannot_write_outside_its_folder(
    backend: LocalBackend, live: tuple[str, str], tmp_path: Path
) -> None:
    url, admin = live
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as client:
        upload = client.post("/api/v1/uploads").json()["upload_id"]
        sha = "0" * 64
        for hostile in ["..%2f..%2f..%2f..%2fescaped.txt", "%2e%2e/%2e%2e/escaped.txt", "a%00b", "a%5cb", "a//b"]:
            answer = client.put(
                f"/api/v1/uploads/{upload}/files/{hostile}", content=b"x", headers={"X-Content-SHA256": sha}
            )
            assert answer.status_code in (400, 404), (hostile, answer.text)
    assert not list(tmp_path.rglob("escaped.txt"))


# --- sizes and malformed bodies ----------------------------------------------------------------------


def test_an_oversized_json_body_and_upload_are_413_naming_the_limit(backend: LocalBackend) -> None:
    with live_app(backend, max_body_mb=0.01, max_upload_gb=1e-6) as (url, admin):
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as client:
            big = {"action": "train", "params": {"blob": "x" * 20_000}, "name": "n", "display_name": "n"}
            answer = client.post("/api/v1/jobs", json=big)
            assert answer.status_code == 413
            assert "larger than the limit of" in answer.json()["detail"]
            assert backend.list_jobs() == []

            upload = client.post("/api/v1/uploads").json()["upload_id"]
            content = b"y" * 5000
            import hashlib

            sha = hashlib.sha256(content).hexdigest()
            answer = client.put(
                f"/api/v1/uploads/{upload}/files/big.bin", content=content, headers={"X-Content-SHA256": sha}
            )
            assert answer.status_code == 413
            assert "larger than the limit of" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/jobs", {"action": 5, "params": {}, "name": "n", "display_name": "n"}, "action"),
        ("POST", "/api/v1/jobs", {"action": "train", "params": [], "name": "n", "display_name": "n"}, "params"),
        ("POST", "/api/v1/jobs", {"action": "train", "params": {}, "display_name": "n"}, "name"),
        ("PATCH", "/api/v1/jobs/{job}", {"progress_percent": "half"}, "progress_percent"),
        ("POST", "/api/v1/jobs/{job}/log", {"text": 5}, "text"),
        ("POST", "/api/v1/tokens", {"name": "ci", "role": 1}, "role"),
    ],
)
def test_wrong_types_are_422_naming_the_field(
    backend: LocalBackend, live: tuple[str, str], method: str, path: str, body: dict[str, Any], field: str
) -> None:
    url, admin = live
    job = backend.create_job("train", {}, "j", "j")
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as client:
        answer = client.request(method, path.format(job=job.id), json=body)
    assert answer.status_code == 422, answer.text
    assert [e["loc"][-1] for e in answer.json()["detail"]] == [field]


@pytest.mark.parametrize("path", ["/api/v1/jobs", "/api/v1/tokens", "/api/v1/datasets", "/api/v1/models"])
def test_malformed_json_is_422_not_500(live: tuple[str, str], path: str) -> None:
    url, admin = live
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as client:
        for raw in (b'{"name": ', b"not json", b"\xff\xfe", b"[1, 2]", b"null"):
            answer = client.post(path, content=raw, headers={"Content-Type": "application/json"})
            assert answer.status_code == 422, (path, raw, answer.text)
            assert answer.json()["detail"][0]["loc"][0] == "body"
