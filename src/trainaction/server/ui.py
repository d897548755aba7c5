"""The dashboard's pages: the shell at ``/``, its static files, and the login that sets the token cookie.

The dashboard itself reads only the public API (``/api/v1``). Its token lives in an HttpOnly,
SameSite=Strict cookie that authenticates GET/HEAD requests only (see :mod:`.auth`).
"""

from __future__ import annotations

import html
from importlib.resources import files
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from .auth import COOKIE, TokenStore

__all__ = ["STATIC", "mount", "safe_next"]

STATIC = Path(str(files("trainaction.server") / "static"))
# Scripts only from this server (no inline script, no CDN): a page of job names and logs that
# someone else wrote must not become a way to run code. Styles may be set inline by the charts.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str:
    """Where the login may send the browser: a path on this server (or a dashboard hash), else ``/``.

    ``//host``, ``/\\host``, ``https://host`` and anything with control characters would leave the site."""
    if not value or any(ord(c) < 0x20 or c == "\\" for c in value):
        return "/"
    if value.startswith("#"):
        return "/" + value
    if value.startswith("/") and not value.startswith("//"):
        return value
    return "/"


def _open_read(request: Request) -> bool:
    return bool(getattr(request.app.state, "open_read", False))


@router.api_route("/", methods=["GET", "HEAD"])
def index(request: Request) -> Response:
    token = request.cookies.get(COOKIE)
    tokens: TokenStore = request.app.state.tokens
    if not _open_read(request) and (not token or tokens.check(token) is None):
        return RedirectResponse("/login", status_code=303, headers=_HEADERS)
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8", headers=_HEADERS)


@router.api_route("/login", methods=["GET", "HEAD"])
def login_page(request: Request, next: str = "/") -> Response:
    if _open_read(request):
        return RedirectResponse(safe_next(next), status_code=303, headers=_HEADERS)
    return _login_html(safe_next(next), error=None, status=200)


@router.post("/login")
async def login(request: Request) -> Response:
    # A plain form post, parsed here: one field does not need a multipart parser.
    form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=10)
    token = (form.get("token") or [""])[0].strip()
    target = safe_next((form.get("next") or ["/"])[0])
    tokens: TokenStore = request.app.state.tokens
    if not token or tokens.check(token) is None:
        return _login_html(target, error="invalid token", status=401)
    response = RedirectResponse(target, status_code=303, headers=_HEADERS)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/", secure=request.url.scheme == "https")
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303, headers=_HEADERS)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


def _login_html(target: str, *, error: str | None, status: int) -> HTMLResponse:
    message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · trainaction</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/style.css">
</head>
<body class="login">
<main id="login">
<h1>trainaction</h1>
<form method="post" action="/login">
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required
 aria-describedby="token-help" autofocus>
<p id="token-help" class="help">A token from <code>trainaction token create --name NAME --role read</code>.
It is kept in a cookie this browser sends to this server only.</p>
<input type="hidden" name="next" value="{html.escape(target)}">
{message}
<button type="submit">Sign in</button>
</form>
</main>
<script src="/static/login.js" defer></script>
</body>
</html>
"""
    return HTMLResponse(page, status_code=status, headers=_HEADERS)


def mount(app: FastAPI) -> None:
    """Add the dashboard to ``app``: ``/``, ``/login``, ``/logout`` and ``/static``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
