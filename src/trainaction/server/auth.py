"""The team server's API tokens and roles.

A token is ``ta_`` + 32 random url-safe bytes. Only its sha256 is stored (table ``tokens``): a copy
of the database gives nobody a way in. A request's token is looked up by its hash, and the hashes
are compared with :func:`hmac.compare_digest` as well, so the comparison takes the same time
whatever the first differing character.

Roles are ordered ``read`` < ``write`` < ``admin``: a token can do what its role and every lower
role can. :func:`require` is the FastAPI dependency each route declares.

The dashboard's login stores a token in an HttpOnly cookie; it authenticates GET and HEAD only,
so the dashboard reads and nothing a browser is tricked into sending can write.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from ..backend import store
from ..errors import FieldError, InUseError, NotFoundError, ValidationError
from ..times import iso_utc

__all__ = [
    "COOKIE",
    "LOCAL_READER",
    "NAME_PATTERN",
    "ROLES",
    "Admin",
    "Caller",
    "TokenRecord",
    "Reader",
    "TokenStore",
    "Writer",
    "caller_of",
    "check_name",
    "check_role",
    "hash_secret",
    "require",
]

ROLES = ("read", "write", "admin")
NAME_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
PREFIX = "ta_"
UNAUTHORIZED = "missing or invalid token"
# The dashboard's login keeps the token here (HttpOnly: the page's scripts never see it).
COOKIE = "trainaction_token"
# The cookie authenticates reads only: a write another site's page makes the browser send
# carries the cookie too (SameSite aside), so a write must always show its Bearer header.
COOKIE_METHODS = frozenset({"GET", "HEAD"})
# last_used_at is for people ("is this token still used?"): writing it on every request would
# turn each read into a write, and with SQLite make reads wait on each other's locks.
_TOUCH_EVERY_S = 60.0
# Compared against when no row matched, so a miss costs what a hit does.
_NO_HASH = "0" * 64


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the token's name and role."""

    name: str
    role: str


LOCAL_READER = Caller("local", "read")


@dataclass(frozen=True)
class TokenRecord:
    """A stored token, without its secret (which is never stored) or its hash."""

    name: str
    role: str
    created_at: float
    last_used_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "created_at": iso_utc(self.created_at),
            "last_used_at": iso_utc(self.last_used_at),
        }


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def check_name(name: str) -> None:
    if not re.fullmatch(NAME_PATTERN, name):
        raise ValidationError(
            [
                FieldError(
                    "name", f"{name!r} is not a token name; use 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '-'"
                )
            ]
        )


def check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationError([FieldError("role", f"{role!r} is not a role; the roles are {', '.join(ROLES)}")])


class TokenStore:
    """The tokens in ``engine``'s database (the server's, SQLite or PostgreSQL).

    ``clock`` gives the time in epoch seconds; tests pass their own to move it on."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._clock = clock

    def create(self, name: str, role: str) -> tuple[TokenRecord, str]:
        """A new token; returns its record and its secret, which only the caller ever sees."""
        check_name(name)
        check_role(role)
        secret = PREFIX + secrets.token_urlsafe(32)
        record = TokenRecord(name, role, self._clock(), None)
        try:
            with self.engine.begin() as conn:
                taken = (
                    conn.execute(sa.select(store.tokens.c.name).where(store.tokens.c.name == name)).first() is not None
                )
                if not taken:
                    conn.execute(
                        store.tokens.insert().values(
                            name=name, role=role, hash=hash_secret(secret), created_at=record.created_at
                        )
                    )
        except sa.exc.IntegrityError:
            taken = True  # created by another process between our check and our insert
        if taken:
            raise InUseError(f"a token named {name!r} exists already; revoke it first or choose another name")
        return record, secret

    def list(self) -> list[TokenRecord]:
        table = store.tokens
        query = sa.select(table.c.name, table.c.role, table.c.created_at, table.c.last_used_at)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(table.c.created_at, table.c.name)).all()
        return [TokenRecord(row.name, row.role, row.created_at, row.last_used_at) for row in rows]

    def revoke(self, name: str) -> None:
        """Delete the token: the next request that carries it is refused."""
        with self.engine.begin() as conn:
            deleted = conn.execute(store.tokens.delete().where(store.tokens.c.name == name)).rowcount
        if not deleted:
            names = ", ".join(record.name for record in self.list()) or "none"
            raise NotFoundError(f"no token named {name!r}; the tokens are: {names}")

    def check(self, secret: str) -> Caller | None:
        """The caller a secret belongs to; None for anything that is not a current token."""
        digest = hash_secret(secret)
        table = store.tokens
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(table.c.name, table.c.role, table.c.hash, table.c.last_used_at).where(table.c.hash == digest)
            ).first()
        expected = row.hash if row is not None else _NO_HASH
        if not hmac.compare_digest(digest, expected) or row is None:
            return None
        now = self._clock()
        if row.last_used_at is None or now - row.last_used_at >= _TOUCH_EVERY_S:
            self._touch(row.name, now)
        return Caller(row.name, row.role)

    def _touch(self, name: str, now: float) -> None:
        table = store.tokens
        stale = sa.or_(table.c.last_used_at.is_(None), table.c.last_used_at <= now - _TOUCH_EVERY_S)
        try:
            with self.engine.begin() as conn:
                conn.execute(table.update().where(table.c.name == name, stale).values(last_used_at=now))
        except sa.exc.OperationalError:
            pass  # a busy database: the time is written on a later request; the request itself goes on

    def ensure_admin(self) -> str | None:
        """On a database without any token, create the admin token ``admin``; returns its secret, once."""
        with self.engine.connect() as conn:
            if conn.execute(sa.select(store.tokens.c.name).limit(1)).first() is not None:
                return None
        try:
            return self.create("admin", "admin")[1]
        except InUseError:
            return None  # another server process on the same database made it first


_bearer = HTTPBearer(auto_error=False, description="A token from `trainaction token create`.")


class _Require:
    """The dependency :func:`require` makes; ``role`` says what it asks for."""

    def __init__(self, role: str) -> None:
        check_role(role)
        self.role = role
        self._needed = ROLES.index(role)
        self._article = "an" if role[0] in "aeiou" else "a"

    def __call__(
        self, request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Caller:
        found = caller_of(request, credentials.credentials if credentials is not None else None)
        if found is None:
            raise HTTPException(401, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
        if ROLES.index(found.role) < self._needed:
            raise HTTPException(403, f"this needs {self._article} {self.role} token; yours is {found.role}")
        return found


def caller_of(request: Request, bearer: str | None) -> Caller | None:
    """Who sent the request: the Bearer token's owner, else (GET/HEAD only) the login cookie's; None if neither."""
    if getattr(request.app.state, "open_read", False):
        return LOCAL_READER  # `trainaction ui` on loopback: a reader, whatever the request carries
    tokens: TokenStore = request.app.state.tokens
    if bearer is not None:
        return tokens.check(bearer)
    cookie = request.cookies.get(COOKIE)
    if cookie and request.method in COOKIE_METHODS:
        return tokens.check(cookie)
    return None


def require(role: str) -> Callable[..., Caller]:
    """A FastAPI dependency: the request's caller, whose role must be ``role`` or above; else 401 / 403."""
    return _Require(role)


# For a route's signature: ``caller: Writer`` is ``caller: Annotated[Caller, Depends(require("write"))]``.
Reader = Annotated[Caller, Depends(require("read"))]
Writer = Annotated[Caller, Depends(require("write"))]
Admin = Annotated[Caller, Depends(require("admin"))]
