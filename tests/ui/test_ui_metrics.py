"""The Metrics view in a real browser: one chart per metric, one line per trial, the best trial on top."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow


def _api(ui_server: Any, path: str) -> Any:
    answer = httpx.get(f"{ui_server.url}/api/v1{path}", headers={"Authorization": f"Bearer {ui_server.read_token}"})
    answer.raise_for_status()
    return answer.json()


def test_one_chart_per_metric_and_one_line_per_trial(
    page: Any, login: Any, ui_server: Any, tuning_job: Any, shot: Any
) -> None:
    # Opened while the job may still run: the page refreshes itself until every trial has its line.
    page.goto(f"{ui_server.url}/#/jobs/{tuning_job.job_id}/metrics")
    page.wait_for_function(
        "() => document.querySelector('figure.chart[data-metric=\"train/loss\"]')?.dataset.series === '4'",
        timeout=300_000,
    )
    job_id = tuning_job.wait()
    trials = sorted(_api(ui_server, f"/jobs/{job_id}/trials")["trials"])
    best = _api(ui_server, f"/jobs/{job_id}/best")["best_trial"]
    assert len(trials) == 4 and best in trials

    page.reload()
    loss = page.locator('figure.chart[data-metric="train/loss"]')
    accuracy = page.locator('figure.chart[data-metric="validation/accuracy"]')
    loss.locator("canvas").first.wait_for()
    accuracy.locator("canvas").first.wait_for()
    assert loss.get_attribute("data-series") == "4"
    assert accuracy.get_attribute("data-series") == "4"
    # The legend names every trial once; the best one is marked and listed first (drawn on top).
    legend = loss.locator(".chart-legend li")
    assert sorted(legend.evaluate_all("items => items.map(li => li.dataset.line)")) == trials
    assert legend.first.get_attribute("data-line") == best
    assert loss.locator(".chart-legend li.best").get_attribute("data-line") == best
    assert loss.get_attribute("aria-label")

    # Only epochs were logged: the axis is epoch, and the switch offers nothing else.
    assert loss.locator("select.chart-x").input_value() == "epoch"
    # Log scale and the data as a table (the text alternative).
    loss.locator("input.chart-log").check()
    assert loss.get_attribute("data-log") == "true"
    loss.locator("button.chart-table-toggle").click()
    rows = loss.locator(".chart-table tbody tr")
    assert rows.count() == 4 * 3
    assert loss.locator(".chart-table thead").inner_text().split() == ["line", "epoch", "value"]
    shot(page, "metrics")

    # Readable in a narrow window: the charts stack and fit its width.
    narrow = login(viewport=(420, 800))
    narrow.goto(f"{ui_server.url}/#/jobs/{job_id}/metrics")
    narrow.locator('figure.chart[data-metric="train/loss"] canvas').wait_for()
    assert narrow.evaluate("() => document.querySelector('figure.chart canvas').getBoundingClientRect().right") <= 420
    shot(narrow, "metrics-narrow")
