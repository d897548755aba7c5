"""API tokens and roles (stand-in with the agreed interface; the full module replaces it)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi import HTTPException, Request
from sqlalchemy.engine import Engine

from ..backend import store
from ..errors import InUseError, NotFoundError
from ..times import iso_utc

__all__ = ["ROLES", "Caller", "TokenRecord", "TokenStore", "require"]

ROLES = ("read", "write", "admin")


@dataclass(frozen=True)
class Caller:
    name: str
    role: str


@dataclass(frozen=True)
class TokenRecord:
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


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, name: str, role: str) -> tuple[TokenRecord, str]:
        secret = "ta_" + secrets.token_urlsafe(32)
        record = TokenRecord(name, role, time.time(), None)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    store.tokens.insert().values(name=name, role=role, hash=_hash(secret), created_at=record.created_at)
                )
        except sa.exc.IntegrityError:
            raise InUseError(f"a token named '{name}' exists already; choose another name") from None
        return record, secret

    def list(self) -> list[TokenRecord]:
        query = sa.select(
            store.tokens.c.name, store.tokens.c.role, store.tokens.c.created_at, store.tokens.c.last_used_at
        )
        with self.engine.connect() as conn:
            return [TokenRecord(*row) for row in conn.execute(query.order_by(store.tokens.c.name))]

    def revoke(self, name: str) -> None:
        with self.engine.begin() as conn:
            if not conn.execute(store.tokens.delete().where(store.tokens.c.name == name)).rowcount:
                raise NotFoundError(f"token '{name}' does not exist")

    def check(self, secret: str) -> Caller | None:
        digest = _hash(secret)
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(store.tokens).where(store.tokens.c.hash == digest)).mappings().first()
            if row is None or not hmac.compare_digest(row["hash"], digest):
                return None
            conn.execute(
                store.tokens.update().where(store.tokens.c.name == row["name"]).values(last_used_at=time.time())
            )
        return Caller(row["name"], row["role"])

    def ensure_admin(self) -> str | None:
        with self.engine.connect() as conn:
            if conn.execute(sa.select(sa.func.count()).select_from(store.tokens)).scalar():
                return None
        return self.create("admin", "admin")[1]


def require(role: str) -> Callable[..., Caller]:
    def dependency(request: Request) -> Caller:
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        tokens: TokenStore = request.app.state.tokens
        caller = tokens.check(secret.strip()) if scheme.lower() == "bearer" and secret.strip() else None
        if caller is None:
            raise HTTPException(401, "missing or invalid token", headers={"WWW-Authenticate": "Bearer"})
        if ROLES.index(caller.role) < ROLES.index(role):
            raise HTTPException(403, f"this needs a {role} token; yours is {caller.role}")
        return caller

    return dependency
