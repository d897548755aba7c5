"""Routes for tokens: list, create, revoke (admin). (``/whoami`` is served beside the job routes.)"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ..errors import InUseError, NotFoundError, ValidationError
from .auth import NAME_PATTERN, Admin, TokenStore

__all__ = ["router"]


class ApiError(BaseModel):
    detail: str


# Every route answers these; declared so the OpenAPI spec (and clients built from it) knows them.
_DENIED: dict[int | str, dict[str, object]] = {
    401: {"model": ApiError, "description": "missing or invalid token"},
    403: {"model": ApiError, "description": "the token's role is too low"},
}

router = APIRouter(prefix="/api/v1", tags=["tokens"], responses=_DENIED)


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=NAME_PATTERN, description="1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '-'")]
    role: Literal["read", "write", "admin"]


class CreatedToken(BaseModel):
    name: str
    role: str
    token: str = Field(description="The secret: shown this once, never stored.")
    created_at: str


class TokenOut(BaseModel):
    name: str
    role: str
    created_at: str
    last_used_at: str | None


class TokenList(BaseModel):
    tokens: list[TokenOut]


def _tokens(request: Request) -> TokenStore:
    tokens: TokenStore = request.app.state.tokens
    return tokens


@router.get("/tokens", response_model=TokenList)
def list_tokens(request: Request, _caller: Admin) -> TokenList:
    return TokenList(tokens=[TokenOut(**record.to_dict()) for record in _tokens(request).list()])


@router.post(
    "/tokens",
    status_code=201,
    response_model=CreatedToken,
    responses={409: {"model": ApiError, "description": "the name is taken"}},
)
def create_token(body: NewToken, request: Request, _caller: Admin) -> CreatedToken:
    try:
        record, secret = _tokens(request).create(body.name, body.role)
    except InUseError as exc:
        raise HTTPException(409, str(exc)) from None
    except ValidationError as exc:  # the model checked both fields already; kept for a direct caller's sake
        raise HTTPException(422, "; ".join(map(str, exc.errors))) from None
    data = record.to_dict()
    return CreatedToken(name=record.name, role=record.role, token=secret, created_at=data["created_at"])


@router.delete(
    "/tokens/{name}",
    status_code=204,
    response_class=Response,
    responses={404: {"model": ApiError, "description": "no token of that name"}},
)
def revoke_token(name: str, request: Request, _caller: Admin) -> Response:
    try:
        _tokens(request).revoke(name)
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    return Response(status_code=204)
