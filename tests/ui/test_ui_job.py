"""The Job view in a real browser: a running tuning job followed live, then its models downloaded
with the stored bytes; a failed job's error and traceback."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # a real server, a real tuning job, headless Chromium

HEADER_BAR = ".job-head [role=progressbar]"


def _until(page: Any, check: Any, timeout: float, what: str) -> Any:
    """Polls ``check`` until true. Waits through the page: Playwright's sync API delivers the page's
    events (the request log) only while a call of it runs, never during a plain sleep."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        page.wait_for_timeout(250)
    raise AssertionError(f"{what}: not seen within {timeout:.0f} s")


def test_live_tuning_job_page_follows_the_job_and_stops_polling_at_the_end(
    page: Any, ui_server: Any, tuning_job: Any, shot: Any
):
    job_id = tuning_job.job_id
    page.goto(f"{ui_server.url}/#/jobs")
    page.wait_for_selector(f'tr[data-key="{job_id}"]')  # the running job appears in the Jobs view
    assert page.text_content(f'tr[data-key="{job_id}"] .job-link') == "ui tuning"
    shot(page, "jobs-live")
    page.click(f'tr[data-key="{job_id}"] .job-link')
    page.wait_for_selector(".view-job .overview")
    page.evaluate("window.__samePage = true")  # gone if the page reloads: updates must come without one
    api_calls: list[str] = []
    page.on("request", lambda request: api_calls.append(request.url) if "/api/" in request.url else None)

    def percent() -> float:
        return float(page.get_attribute(HEADER_BAR, "aria-valuenow") or 0)

    def log_length() -> int:
        return len(page.text_content("pre.log") or "")

    first, first_log = percent(), log_length()
    assert first < 100, "the job ended before the page could watch it"
    _until(page, lambda: percent() > first, 240, f"the overall progress moving past {first}")
    _until(page, lambda: log_length() > first_log, 240, "the log following the job")
    shot(page, "job-running")

    _until(page, lambda: page.get_attribute(".view-job", "data-live") == "false", 300, "the page seeing the job end")
    _until(page, lambda: page.text_content(".job-head .badge") == "SUCCEEDED", 30, "the header's final status")
    assert percent() == 100 and page.evaluate("window.__samePage") is True
    assert f"job {job_id} succeeded" in (page.text_content("pre.log") or "")
    page.wait_for_timeout(1000)  # an answer already on its way may still land
    seen = len(api_calls)
    page.wait_for_timeout(4000)
    assert api_calls[seen:] == [], "the page went on polling after the job ended"
    assert tuning_job.wait() == job_id


def test_finished_tuning_job_shows_its_result_and_models_download_with_the_stored_bytes(
    page: Any, ui_server: Any, tuning_job: Any, shot: Any
):
    job_id = tuning_job.wait()
    with ui_server.client(ui_server.read_token) as api:
        job = api.get(f"/api/v1/jobs/{job_id}").json()
        models = api.get("/api/v1/models", params={"job_id": job_id}).json()["models"]
    assert len(models) == 4
    page.goto(f"{ui_server.url}/#/jobs/{job_id}")
    page.wait_for_selector("#job-models a.download")
    assert page.text_content("#job-result .best-trial") == job["best_trial"]
    bars = page.query_selector_all("#job-progress .bar-row")
    assert {bar.get_attribute("data-category") for bar in bars} >= {"dataset", "trials"}
    assert len(page.query_selector_all("#job-models article.model")) == 4
    assert page.query_selector("#job-error") is not None and page.is_hidden("#job-error")
    shot(page, "job-overview")

    model = next(m for m in models if m["trial_id"] == job["best_trial"])
    link = page.locator(f'article[data-model-id="{model["id"]}"] a.download').first
    with page.expect_download() as started:
        link.click()
    downloaded = Path(started.value.path()).read_bytes()
    name = link.text_content()
    with ui_server.client() as api:
        stored = api.get(f"/api/v1/models/{model['id']}/files/{name}")
    assert stored.status_code == 200
    digest = hashlib.sha256(downloaded).hexdigest()
    assert digest == hashlib.sha256(stored.content).hexdigest() == stored.headers["x-content-sha256"]
    assert digest == next(f["sha256"] for f in model["files"] if f["path"] == name)


def test_a_failed_job_shows_its_error_and_traceback(page: Any, ui_server: Any, shot: Any):
    traceback = 'Traceback (most recent call last):\n  File "plugin.py", line 3, in train\n    1 / 0\nZeroDivisionError: division by zero\n'
    with ui_server.client(ui_server.write_token) as api:
        job = api.post(
            "/api/v1/jobs",
            json={"action": "train", "params": {"name": "broken"}, "name": "broken", "display_name": "broken"},
        ).json()
        api.post(f"/api/v1/jobs/{job['id']}/log", json={"text": f"[trainaction] job started\n{traceback}"})
        api.patch(
            f"/api/v1/jobs/{job['id']}", json={"status": "FAILED", "error": "ZeroDivisionError: division by zero"}
        )
    page.goto(f"{ui_server.url}/#/jobs/{job['id']}")
    page.wait_for_selector("#job-error pre.traceback")
    assert page.text_content("#job-error .error-message") == "ZeroDivisionError: division by zero"
    assert page.text_content("#job-error pre.traceback") == traceback.rstrip("\n")
    assert page.text_content(".job-head .badge") == "FAILED" and page.get_attribute(".view-job", "data-live") == "false"
    shot(page, "job-failed")


def test_a_training_job_has_no_trials_tab_and_shows_its_model(page: Any, ui_server: Any, training_job: Any):
    job_id = training_job.job_id
    page.goto(f"{ui_server.url}/#/jobs/{job_id}")
    page.wait_for_selector("#job-models a.download")
    assert page.text_content(".job-head .mode") == "train"
    assert [tab.text_content() for tab in page.query_selector_all(".tabs a")] == ["Overview", "Metrics", "Images"]
    assert page.get_attribute(".tabs a >> nth=0", "aria-current") == "page"
    assert [a.text_content() for a in page.query_selector_all("#job-models a.download")] == ["model.bin"]
    assert "training done" in (page.text_content("pre.log") or "")


def test_polling_stops_on_navigation_and_when_the_job_ends(page: Any, ui_server: Any, shot: Any):
    with ui_server.client(ui_server.write_token) as api:
        body = {"action": "train", "params": {"name": "held"}, "name": "held", "display_name": "held"}
        job_id = api.post("/api/v1/jobs", json=body).json()["id"]
        api.patch(f"/api/v1/jobs/{job_id}", json={"status": "RUNNING", "progress_percent": 10})
        asked: list[str] = []
        page.on("request", lambda request: asked.append(request.url))
        mine = f"/api/v1/jobs/{job_id}"

        page.goto(f"{ui_server.url}/#/jobs/{job_id}")
        page.wait_for_selector(".view-job[data-live=true]")
        _until(page, lambda: sum(mine in url for url in asked) >= 6, 30, "the page polling the running job")
        page.evaluate("location.hash = '#/jobs?q=nothing-matches'")  # away: the job's polls stop
        page.wait_for_selector(".view-jobs p.empty:not([hidden])")
        page.wait_for_timeout(600)
        seen = sum(mine in url for url in asked)
        page.wait_for_timeout(2500)
        assert sum(mine in url for url in asked) == seen, "the job page went on polling after navigation"

        page.go_back()
        page.wait_for_selector(".view-job[data-live=true]")
        api.post(f"{mine}/log", json={"text": "last words\n"})
        api.patch(mine, json={"status": "STOPPED", "progress_percent": 40})
        page.wait_for_selector(".view-job[data-live=false]")
        _until(page, lambda: page.text_content(".job-head .badge") == "STOPPED", 30, "the header's final status")
        assert "last words" in (page.text_content("pre.log") or "")
        assert page.get_attribute(HEADER_BAR, "aria-valuenow") == "40"
        page.wait_for_timeout(600)
        seen = len([url for url in asked if "/api/" in url])
        page.wait_for_timeout(2500)
        assert [url for url in asked if "/api/" in url][seen:] == []
