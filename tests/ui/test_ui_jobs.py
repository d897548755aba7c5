"""The Jobs view, the login page and the page's basics (keyboard, narrow screens, no web assets,
no write actions) in a real browser."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.slow  # a real server and headless Chromium

BULK = 60
FAILED = (3, 17, 42)


@pytest.fixture(scope="module")
def bulk_jobs(ui_server: Any) -> list[int]:
    """60 job records made through the API (cheap: nothing runs), three of them FAILED; their ids, oldest first."""
    ids = []
    with ui_server.client(ui_server.write_token) as api:
        for n in range(BULK):
            name = f"bulk {n:02d}"
            body = {
                "action": "train",
                "params": {"name": name, "is_tune": n % 2 == 0},
                "name": name,
                "display_name": name,
            }
            ids.append(api.post("/api/v1/jobs", json=body).json()["id"])
        for n in FAILED:
            api.patch(f"/api/v1/jobs/{ids[n]}", json={"status": "FAILED", "error": "boom"})
    return ids


def _names(page: Any) -> list[str]:
    return [link.text_content() for link in page.query_selector_all("tr.job-row .job-link")]


def test_jobs_filter_by_name_and_status_newest_first_in_pages_of_50(
    page: Any, ui_server: Any, bulk_jobs: list[int], shot: Any
):
    page.goto(f"{ui_server.url}/#/jobs?q=BULK")
    page.wait_for_function("() => document.querySelectorAll('tr.job-row').length === 50")
    assert _names(page) == [f"bulk {n:02d}" for n in range(59, 9, -1)]
    assert page.text_content(".page-info") == "Page 1 of 2 · 60 jobs"
    assert page.is_disabled("button.prev") and page.is_enabled("button.next")
    mode = page.text_content(f'tr[data-key="{bulk_jobs[58]}"] td:nth-child(4)')
    assert mode == "tune"
    shot(page, "jobs")

    page.click("button.next")
    page.wait_for_function("() => document.querySelectorAll('tr.job-row').length === 10")
    assert _names(page) == [f"bulk {n:02d}" for n in range(9, -1, -1)]
    assert page.text_content(".page-info") == "Page 2 of 2 · 60 jobs" and page.is_disabled("button.next")
    assert "page=2" in page.url and "q=BULK" in page.url

    page.select_option("#job-status", "FAILED")
    page.wait_for_function("() => document.querySelectorAll('tr.job-row').length === 3")
    assert _names(page) == [f"bulk {n:02d}" for n in sorted(FAILED, reverse=True)]
    assert page.text_content(".page-info") == "Page 1 of 1 · 3 jobs"

    page.fill("#job-q", "bulk 4")
    page.wait_for_function("() => document.querySelectorAll('tr.job-row').length === 1")
    assert _names(page) == ["bulk 42"]
    page.fill("#job-q", "no such job")
    page.wait_for_selector("p.empty:not([hidden])")
    # The filters are in the address: opening it again shows the same list.
    page.goto(f"{ui_server.url}/#/jobs?status=FAILED&q=bulk%201")
    page.wait_for_function("() => document.querySelectorAll('tr.job-row').length === 1")
    assert _names(page) == ["bulk 17"] and page.input_value("#job-status") == "FAILED"


def test_jobs_table_keyboard_arrows_and_enter_open_a_job(page: Any, ui_server: Any, bulk_jobs: list[int]):
    page.goto(f"{ui_server.url}/#/jobs?q=bulk")
    page.wait_for_selector("tr.job-row")
    page.focus("tr.job-row >> nth=0")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    focused = page.evaluate("document.activeElement.dataset.key")
    assert focused == str(bulk_jobs[58])
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/#/jobs/{bulk_jobs[58]}")
    page.wait_for_selector(".view-job .overview")
    assert page.text_content(".job-head h1") == "bulk 58"
    # Sorting from the keyboard: Tab reaches the header buttons, Enter sorts.
    page.goto(f"{ui_server.url}/#/jobs?q=bulk")
    page.wait_for_selector("tr.job-row")
    page.focus("th[data-key=display_name] button")
    page.keyboard.press("Enter")
    page.wait_for_selector("th[data-key=display_name][aria-sort=ascending]")
    assert _names(page)[:2] == ["bulk 10", "bulk 11"]  # the page's 50 rows, by name


def test_login_page_signs_in_and_out(browser: Any, ui_server: Any, shot: Any):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"{ui_server.url}/#/jobs?q=bulk")
        page.wait_for_selector("#token")
        assert page.url.startswith(f"{ui_server.url}/login")
        shot(page, "login")
        page.fill("#token", "ta_wrong")
        page.click("button[type=submit]")
        assert page.text_content("#login .error") == "invalid token"
        cookies = context.cookies()
        assert not [c for c in cookies if c["name"] == "trainaction_token"]
        page.fill("#token", ui_server.read_token)
        page.click("button[type=submit]")
        page.wait_for_selector("#view .view-jobs")
        assert page.url == f"{ui_server.url}/#/jobs?q=bulk"  # back where the visit started
        cookie = next(c for c in context.cookies() if c["name"] == "trainaction_token")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert page.evaluate("document.cookie") == ""  # the page's scripts never see the token
        assert page.text_content("#who") == "reader (read)"
        page.click("#logout button")
        page.wait_for_selector("#token")
        page.goto(f"{ui_server.url}/")
        page.wait_for_selector("#token")
        # Signing in from a link to a job page lands on it.
        page.goto(f"{ui_server.url}/login?next=%23%2Fjobs%2F1")
        page.fill("#token", ui_server.read_token)
        page.click("button[type=submit]")
        page.wait_for_selector(".view-job")
        assert page.url.endswith("/#/jobs/1")
    finally:
        context.close()


def test_a_read_token_sees_no_write_actions_and_nothing_comes_from_the_web(
    login: Any, ui_server: Any, bulk_jobs: list[int]
):
    requested: list[str] = []
    page = login()
    page.on("request", lambda request: requested.append(request.url))
    for where in ("#/jobs", f"#/jobs/{bulk_jobs[3]}", "#/jobs/1"):
        page.goto(f"{ui_server.url}/{where}")
        page.wait_for_selector("#view .view")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.body.dataset.role") == "read"
        controls = " ".join(
            el.text_content() or "" for el in page.query_selector_all("#view button, #view a, #jobhead button")
        ).lower()
        for verb in ("delete", "stop", "cancel", "resume", "submit", "revoke"):
            assert verb not in controls, (where, verb)
        assert not page.query_selector_all("#view form")
    assert requested and all(url.startswith(ui_server.url) or url.startswith("data:") for url in requested)


def test_narrow_screen_scrolls_tables_sideways_not_the_page(
    login: Any, ui_server: Any, bulk_jobs: list[int], shot: Any
):
    page = login(viewport=(390, 800))
    page.goto(f"{ui_server.url}/#/jobs?q=bulk")
    page.wait_for_selector("tr.job-row")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    wrap = page.query_selector(".table-wrap")
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth && getComputedStyle(el).overflowX === 'auto'")
    shot(page, "jobs-narrow")
    page.goto(f"{ui_server.url}/#/jobs/1")
    page.wait_for_selector(".view-job .overview")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "job-narrow")
