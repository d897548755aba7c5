"""trainaction token … — the team server's API tokens.

Through the server's API when a server is named (``--backend`` / TRAINACTION_BACKEND, with an admin
token), else straight on the server's database (``--db``, default the home folder's SQLite database):
the way to make the first tokens, or a new admin token after the last one was revoked.
"""

from __future__ import annotations

import urllib.parse
from typing import Any, NoReturn, Protocol

import typer

from ..backend import server_url
from ..errors import TrainActionError, ValidationError
from ..server.auth import ROLES, check_name, check_role
from ..terminal import printable
from .common import JsonOption, err, fail, out, print_json, table

token_app = typer.Typer(no_args_is_help=True, help="Create, list and revoke the team server's API tokens.")

BackendOption = typer.Option(
    None,
    "--backend",
    envvar="TRAINACTION_BACKEND",
    help="The server's URL (http://host:port): manage its tokens through its API, with an admin --token.",
)
TokenOption = typer.Option(None, "--token", envvar="TRAINACTION_TOKEN", help="An admin token, with --backend.")
DbOption = typer.Option(
    None,
    "--db",
    help="The server's database URL (sqlite:///… or postgresql://…), without --backend; "
    "default: the SQLite database of $TRAINACTION_HOME.",
)


class _Tokens(Protocol):
    def create(self, name: str, role: str) -> dict[str, Any]: ...
    def list(self) -> list[dict[str, Any]]: ...
    def revoke(self, name: str) -> None: ...


class _Database:
    """Tokens straight in the database."""

    def __init__(self, db: str | None) -> None:
        from ..backend import default_home
        from ..backend.storage import open_storage
        from ..server.auth import TokenStore

        self._store = TokenStore(open_storage(db, default_home()).engine)

    def create(self, name: str, role: str) -> dict[str, Any]:
        record, secret = self._store.create(name, role)
        data = record.to_dict()
        return {"name": record.name, "role": record.role, "token": secret, "created_at": data["created_at"]}

    def list(self) -> list[dict[str, Any]]:
        return [record.to_dict() for record in self._store.list()]

    def revoke(self, name: str) -> None:
        self._store.revoke(name)


class _Api:
    """Tokens through a running server's API, over the HTTP backend's connection (its retries, and
    its errors: a refused token, a role too low, an unknown name)."""

    def __init__(self, url: str, token: str | None) -> None:
        from ..backend.http_transport import Transport, retry_seconds

        if not token:
            _exit(f"--backend {url} needs an admin token: give --token or set TRAINACTION_TOKEN")
        self._http = Transport(url, token, retry_seconds())

    def create(self, name: str, role: str) -> dict[str, Any]:
        data: dict[str, Any] = self._http.json("POST", "/tokens", json={"name": name, "role": role})
        return data

    def list(self) -> list[dict[str, Any]]:
        tokens: list[dict[str, Any]] = self._http.json("GET", "/tokens")["tokens"]
        return tokens

    def revoke(self, name: str) -> None:
        self._http.request("DELETE", f"/tokens/{urllib.parse.quote(name, safe='')}")


def _exit(message: str) -> NoReturn:
    err.print(f"error: {printable(message)}", markup=False, highlight=False)
    raise typer.Exit(2)


def _tokens(backend: str | None, token: str | None, db: str | None) -> _Tokens:
    url = server_url(backend) if backend else None
    if url:
        if db:
            _exit("give either --backend (manage tokens through the server) or --db (straight in its database)")
        return _Api(url, token)
    return _Database(db)


@token_app.command("create")
def token_create(
    name: str = typer.Option(..., "--name", help="1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '-'."),
    role: str = typer.Option(..., "--role", help=f"One of {', '.join(ROLES)}: read < write < admin."),
    as_json: bool = JsonOption,
    backend: str | None = BackendOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
) -> None:
    """Create a token and print its secret, this once: only its hash is stored."""
    try:
        check_name(name)
        check_role(role)
    except ValidationError as exc:  # checked here too, so a typo never reaches the server or the database
        _exit("; ".join(f"--{error.path}: {error.message}" for error in exc.errors))
    try:
        created = _tokens(backend, token, db).create(name, role)
    except TrainActionError as exc:
        fail(exc)
    if as_json:
        print_json(created)
        return
    out.print(
        f"token '{printable(created['name'])}' (role {created['role']}) created; shown once, store it now:",
        markup=False,
        highlight=False,
    )
    out.print(created["token"], markup=False, highlight=False)


@token_app.command("list")
def token_list(
    as_json: bool = JsonOption,
    backend: str | None = BackendOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
) -> None:
    """List the tokens: names, roles and times; never their secrets."""
    try:
        records = _tokens(backend, token, db).list()
    except TrainActionError as exc:
        fail(exc)
    if as_json:
        print_json(records)
        return
    table(
        ["name", "role", "created", "last used"],
        [[r["name"], r["role"], r["created_at"], r["last_used_at"] or "never"] for r in records],
        ids=("name",),
    )


@token_app.command("revoke")
def token_revoke(
    name: str | None = typer.Argument(None, metavar="NAME"),
    name_option: str | None = typer.Option(None, "--name", help="The token's name (as with `token create`)."),
    backend: str | None = BackendOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
) -> None:
    """Revoke a token: the server refuses it from its next request on."""
    if name and name_option and name != name_option:
        _exit(f"two names given: '{name}' and --name '{name_option}'; give one")
    name = name or name_option
    if not name:
        _exit("give the token's name: trainaction token revoke NAME (see `trainaction token list`)")
    try:
        _tokens(backend, token, db).revoke(name)
    except TrainActionError as exc:
        fail(exc)
    out.print(f"token '{printable(name)}' revoked", markup=False, highlight=False)
