"""API tokens: the store (hashed, constant-time checked), the token routes, and `trainaction token …`."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from servers import live_app
from trainaction.backend import LocalBackend
from trainaction.errors import InUseError, NotFoundError, ValidationError
from trainaction.server.auth import ROLES, Caller, TokenStore


@pytest.fixture
def tokens(backend: LocalBackend) -> TokenStore:
    return TokenStore(backend.engine)


@pytest.fixture
def live(backend: LocalBackend) -> Iterator[tuple[str, str]]:
    with live_app(backend) as (url, admin):
        yield url, admin


def _client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_a_secret_is_prefixed_random_and_only_its_hash_is_stored(tokens: TokenStore, home: Path) -> None:
    record, secret = tokens.create("ci", "write")
    other = tokens.create("ci2", "write")[1]
    assert secret.startswith("ta_") and len(secret) == 3 + 43 and secret != other
    assert (record.name, record.role, record.last_used_at) == ("ci", "write", None)
    connection = sqlite3.connect(home / "trainaction.db")
    try:
        stored = dict(connection.execute("SELECT name, hash FROM tokens").fetchall())
        dump = "\n".join(connection.iterdump())
    finally:
        connection.close()
    assert stored["ci"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in dump and secret[3:] not in dump
    assert secret.encode() not in b"".join(p.read_bytes() for p in home.glob("trainaction.db*"))


def test_check_compares_hashes_in_constant_time(tokens: TokenStore, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tokens.create("ci", "read")[1]
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def recording(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    assert tokens.check(secret) == Caller("ci", "read")
    digest = hashlib.sha256(secret.encode()).hexdigest()
    assert calls == [(digest, digest)]
    assert tokens.check(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert tokens.check("") is None
    assert len(calls) == 3  # a miss is compared too, so it costs what a hit does


def test_last_used_is_written_at_most_once_a_minute(backend: LocalBackend) -> None:
    now = [1_700_000_000.0]
    tokens = TokenStore(backend.engine, clock=lambda: now[0])
    secret = tokens.create("ci", "read")[1]

    def last_used() -> float | None:
        return tokens.list()[0].last_used_at

    assert last_used() is None
    tokens.check(secret)
    assert last_used() == now[0]
    first = now[0]
    now[0] += 30
    tokens.check(secret)
    assert last_used() == first
    now[0] += 31
    tokens.check(secret)
    assert last_used() == now[0]
    assert tokens.list()[0].to_dict()["last_used_at"].endswith("Z")


def test_names_roles_and_taken_names_are_checked(tokens: TokenStore) -> None:
    tokens.create("ci", "read")
    with pytest.raises(InUseError, match="a token named 'ci' exists already"):
        tokens.create("ci", "admin")
    with pytest.raises(ValidationError, match="the roles are read, write, admin"):
        tokens.create("x", "owner")
    for bad in ("", "a b", "a/b", "x" * 65, "é"):
        with pytest.raises(ValidationError, match="1 to 64 characters"):
            tokens.create(bad, "read")
    assert [r.name for r in tokens.list()] == ["ci"]


def test_revoke_stops_a_token_and_an_unknown_name_lists_the_tokens(tokens: TokenStore) -> None:
    secret = tokens.create("ci", "write")[1]
    tokens.create("dash", "read")
    tokens.revoke("ci")
    assert tokens.check(secret) is None
    with pytest.raises(NotFoundError, match="no token named 'ci'; the tokens are: dash"):
        tokens.revoke("ci")


def test_the_admin_token_is_made_only_on_a_database_without_tokens(tokens: TokenStore) -> None:
    secret = tokens.ensure_admin()
    assert secret is not None and tokens.check(secret) == Caller("admin", "admin")
    assert tokens.ensure_admin() is None
    tokens.revoke("admin")
    tokens.create("ci", "read")
    assert tokens.ensure_admin() is None  # tokens exist: the server never makes another admin by itself


def test_admin_manages_tokens_over_http(live: tuple[str, str]) -> None:
    url, admin = live
    with _client(url, admin) as client:
        assert client.get("/api/v1/whoami").json() == {"name": "admin", "role": "admin"}
        created = client.post("/api/v1/tokens", json={"name": "dash.board_1", "role": "read"})
        assert created.status_code == 201
        body = created.json()
        assert set(body) == {"name", "role", "token", "created_at"}
        assert body["token"].startswith("ta_") and body["created_at"].endswith("Z")
        with _client(url, body["token"]) as reader:
            assert reader.get("/api/v1/whoami").json() == {"name": "dash.board_1", "role": "read"}
        listed = client.get("/api/v1/tokens").json()["tokens"]
        assert [t["name"] for t in listed] == ["admin", "dash.board_1"]
        assert all(set(t) == {"name", "role", "created_at", "last_used_at"} for t in listed)
        assert body["token"] not in client.get("/api/v1/tokens").text
        taken = client.post("/api/v1/tokens", json={"name": "dash.board_1", "role": "write"})
        assert taken.status_code == 409 and "exists already" in taken.json()["detail"]
        assert client.delete("/api/v1/tokens/dash.board_1").status_code == 204
        with _client(url, body["token"]) as reader:
            assert reader.get("/api/v1/whoami").status_code == 401
        missing = client.delete("/api/v1/tokens/dash.board_1")
        assert missing.status_code == 404 and "the tokens are: admin" in missing.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"name": "ci", "role": "owner"}, "role", "'read', 'write' or 'admin'"),
        ({"name": "a b", "role": "read"}, "name", "A-Za-z0-9"),
        ({"name": "x" * 65, "role": "read"}, "name", "A-Za-z0-9"),
        ({"role": "read"}, "name", "required"),
        ({"name": 5, "role": "read"}, "name", "string"),
    ],
)
def test_a_bad_token_request_is_422_naming_the_field(
    live: tuple[str, str], body: dict[str, Any], field: str, words: str
) -> None:
    url, admin = live
    with _client(url, admin) as client:
        answer = client.post("/api/v1/tokens", json=body)
    assert answer.status_code == 422
    errors = answer.json()["detail"]
    assert [e["loc"] for e in errors] == [["body", field]]
    assert words in errors[0]["msg"]


# --- the command ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_token_commands_on_the_database(cli_in_process: Callable[..., Any], home: Path) -> None:
    cli = cli_in_process
    made = cli("token", "create", "--name", "ci", "--role", "write", "--json")
    assert made.returncode == 0, made.stderr
    created = made.json()
    assert set(created) == {"name", "role", "token", "created_at"} and created["role"] == "write"
    plain = cli("token", "create", "--name", "dash", "--role", "read")
    assert plain.returncode == 0 and "shown once" in plain.stdout
    secret = plain.stdout.split()[-1]
    assert secret.startswith("ta_")
    tokens = TokenStore(LocalBackend(home).engine)
    assert tokens.check(created["token"]) == Caller("ci", "write") and tokens.check(secret) == Caller("dash", "read")

    listed = cli("token", "list", "--json")
    assert [t["name"] for t in listed.json()] == ["ci", "dash"]
    assert created["token"] not in listed.stdout and secret not in cli("token", "list").stdout

    bad_role = cli("token", "create", "--name", "x", "--role", "owner")
    assert bad_role.returncode == 2 and "the roles are read, write, admin" in bad_role.stderr
    assert "Traceback" not in bad_role.stderr
    taken = cli("token", "create", "--name", "ci", "--role", "read")
    assert taken.returncode == 2 and "exists already" in taken.stderr

    assert cli("token", "revoke", "ci").returncode == 0
    assert tokens.check(created["token"]) is None
    unknown = cli("token", "revoke", "ci")
    assert unknown.returncode == 2 and "no token named 'ci'; the tokens are: dash" in unknown.stderr
    # The name as `token create` takes it works too; none at all is a clear error.
    assert cli("token", "revoke", "--name", "dash").returncode == 0
    assert cli("token", "list", "--json").json() == []
    nameless = cli("token", "revoke")
    assert nameless.returncode == 2 and "give the token's name" in nameless.stderr


@pytest.mark.slow
def test_token_commands_with_a_database_url(cli: Callable[..., Any], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    made = cli("token", "create", "--name", "ci", "--role", "admin", "--json", "--db", url)
    assert made.returncode == 0, made.stderr
    assert [t["name"] for t in cli("token", "list", "--json", "--db", url).json()] == ["ci"]
    assert cli("token", "list", "--json").json() == []  # the home's own database is another one


@pytest.mark.slow
def test_token_commands_through_the_server(cli: Callable[..., Any], live: tuple[str, str]) -> None:
    url, admin = live
    made = cli("token", "create", "--name", "ci", "--role", "write", "--json", "--backend", url, "--token", admin)
    assert made.returncode == 0, made.stderr
    writer = made.json()["token"]
    with _client(url, writer) as client:
        assert client.get("/api/v1/whoami").json() == {"name": "ci", "role": "write"}
    listed = cli("token", "list", "--json", "--backend", url, "--token", admin)
    assert [t["name"] for t in listed.json()] == ["admin", "ci"]

    refused = cli("token", "list", "--backend", url, "--token", writer)
    assert refused.returncode == 2 and "this needs an admin token; yours is write" in refused.stderr
    no_token = cli("token", "list", "--backend", url)
    assert no_token.returncode == 2 and "needs an admin token" in no_token.stderr
    wrong = cli("token", "list", "--backend", url, "--token", "ta_wrong")
    assert wrong.returncode == 2 and "missing or invalid token" in wrong.stderr

    unknown = cli("token", "revoke", "nope", "--backend", url, "--token", admin)
    assert unknown.returncode == 2 and "the tokens are: admin, ci" in unknown.stderr
    elsewhere = cli("token", "revoke", "../tokens/ci", "--backend", url, "--token", admin)  # one name, not a path
    assert elsewhere.returncode == 2
    with _client(url, writer) as client:
        assert client.get("/api/v1/whoami").status_code == 200
    assert cli("token", "revoke", "ci", "--backend", url, "--token", admin).returncode == 0
    with _client(url, writer) as client:
        assert client.get("/api/v1/whoami").status_code == 401


def test_roles_are_ordered() -> None:
    assert ROLES == ("read", "write", "admin")
