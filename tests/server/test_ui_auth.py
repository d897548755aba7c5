"""The dashboard's pages and its cookie: login, logout, where the login may send the browser, and
that the cookie reads but can never write."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import LiveServer
from servers import live_app
from trainaction.backend import LocalBackend
from trainaction.server.ui import safe_next


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One server for the module: these tests read, and the one job they make changes nothing they check."""
    storage = LocalBackend(tmp_path_factory.mktemp("ui-auth"))
    with live_app(storage) as (url, token):
        yield LiveServer(url, token, storage)


@pytest.fixture(scope="module")
def tokens(live_server: Any) -> dict[str, str]:
    made = {}
    with live_server.client() as admin:
        for role in ("read", "write"):
            answer = admin.post("/api/v1/tokens", json={"name": f"{role}er", "role": role})
            made[role] = answer.json()["token"]
    made["admin"] = live_server.admin_token
    return made


def _anonymous(live_server: Any, token: str | None = None) -> httpx.Client:
    cookies = {"trainaction_token": token} if token else None
    return httpx.Client(base_url=live_server.url, cookies=cookies, follow_redirects=False)


def test_a_cookieless_visit_to_the_dashboard_goes_to_the_login_page(live_server: Any, tokens: dict[str, str]):
    with _anonymous(live_server) as client:
        answer = client.get("/")
        assert answer.status_code == 303 and answer.headers["location"] == "/login"
        assert client.get("/", headers={"Cookie": "trainaction_token=ta_wrong"}).status_code == 303
        login = client.get("/login")
        assert login.status_code == 200 and 'name="token"' in login.text
        assert "script-src 'self'" in login.headers["content-security-policy"]
    with _anonymous(live_server, tokens["read"]) as client:
        shell = client.get("/")
        assert shell.status_code == 200 and '<main id="view"' in shell.text and "/static/app.js" in shell.text


def test_login_sets_an_httponly_strict_cookie_and_follows_next(live_server: Any, tokens: dict[str, str]):
    with _anonymous(live_server) as client:
        answer = client.post("/login", data={"token": tokens["read"], "next": "#/jobs/3/metrics"})
        assert answer.status_code == 303 and answer.headers["location"] == "/#/jobs/3/metrics"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"trainaction_token={tokens['read']};")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Path=/" in cookie
        assert "Secure" not in cookie  # plain http here; https requests get Secure
        assert client.get("/api/v1/whoami").json() == {"name": "reader", "role": "read"}


def test_a_bad_token_gets_the_login_page_again_with_401(live_server: Any):
    with _anonymous(live_server) as client:
        answer = client.post("/login", data={"token": "ta_not-a-token", "next": "/"})
        assert answer.status_code == 401 and "invalid token" in answer.text and "set-cookie" not in answer.headers
        assert client.post("/login", data={}).status_code == 401


OFF_SITE = [
    "//evil.example/x",
    "https://evil.example/",
    "/\\evil.example",
    "javascript:alert(1)",
    "\t//evil.example",
    "",
]


def test_next_never_leaves_the_site(live_server: Any, tokens: dict[str, str]):
    for target in OFF_SITE:
        assert safe_next(target) == "/", target
        with _anonymous(live_server) as client:
            answer = client.post("/login", data={"token": tokens["read"], "next": target})
            assert answer.status_code == 303 and answer.headers["location"] == "/", target
            page = client.get("/login", params={"next": target})
            assert 'name="next" value="/"' in page.text, target
    assert safe_next("/#/jobs?page=2") == "/#/jobs?page=2"


def test_the_cookie_reads_but_never_writes(live_server: Any, tokens: dict[str, str]):
    job = {"action": "train", "params": {"name": "n"}, "name": "n", "display_name": "n"}
    with _anonymous(live_server, tokens["admin"]) as client:
        assert client.get("/api/v1/jobs").status_code == 200
        assert client.head("/").status_code == 200
        created = client.post("/api/v1/jobs", json=job)
        assert created.status_code == 401 and created.json() == {"detail": "missing or invalid token"}
        assert client.delete("/api/v1/tokens/reader").status_code == 401
        assert client.patch("/api/v1/jobs/1", json={"status": "FAILED"}).status_code == 401
        assert all(job["display_name"] != "n" for job in client.get("/api/v1/jobs").json()["jobs"])
    # The Bearer header works as before, beside a cookie too.
    with live_server.client(tokens["write"]) as client:
        cookie = {"Cookie": f"trainaction_token={tokens['read']}"}
        assert client.post("/api/v1/jobs", json=job, headers=cookie).status_code == 201


def test_logout_clears_the_cookie(live_server: Any, tokens: dict[str, str]):
    with _anonymous(live_server, tokens["read"]) as client:
        answer = client.post("/logout")
        assert answer.status_code == 303 and answer.headers["location"] == "/login"
        assert 'trainaction_token=""' in answer.headers["set-cookie"] and "Max-Age=0" in answer.headers["set-cookie"]


def test_static_files_are_served_and_stay_in_their_folder(live_server: Any):
    with _anonymous(live_server) as client:
        script = client.get("/static/app.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        for name in ("api.js", "dom.js", "style.css", "index.html", "views/jobs.js", "views/job.js"):
            assert client.get(f"/static/{name}").status_code == 200, name
        assert client.get("/static/../auth.py").status_code == 404
        assert client.get("/static/%2e%2e/auth.py").status_code == 404
