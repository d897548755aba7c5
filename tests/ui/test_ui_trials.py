"""The Trials view in a real browser: the table marks and pins the best trial, one plot line per trial, a trial's details."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow


def _api(ui_server: Any, path: str) -> Any:
    answer = httpx.get(f"{ui_server.url}/api/v1{path}", headers={"Authorization": f"Bearer {ui_server.read_token}"})
    answer.raise_for_status()
    return answer.json()


def test_best_trial_marked_and_one_plot_line_per_trial(page: Any, ui_server: Any, tuning_job: Any, shot: Any) -> None:
    job_id = tuning_job.wait()
    trials = sorted(_api(ui_server, f"/jobs/{job_id}/trials")["trials"])
    best = _api(ui_server, f"/jobs/{job_id}/best")["best_trial"]

    page.goto(f"{ui_server.url}/#/jobs/{job_id}/trials")
    pinned = page.locator("[data-best-trial]")
    pinned.wait_for()
    assert pinned.get_attribute("data-best-trial") == best
    table = page.locator(".trials-table")
    first_row = table.locator("tbody tr[data-key]").first
    assert first_row.get_attribute("data-key") == best  # pinned at the top of the table too
    assert table.locator("tr.best").count() == 1
    assert table.locator("tr.best").get_attribute("data-key") == best
    assert "lr" in table.locator("thead").inner_text() and "accuracy" in table.locator("thead").inner_text()

    plot = page.locator("svg.parcoords")
    assert plot.locator("polyline").count() == len(trials) == 4
    assert sorted(plot.locator("polyline").evaluate_all("ls => ls.map(l => l.dataset.trial)")) == trials
    assert plot.locator("polyline.best").get_attribute("data-trial") == best
    assert plot.locator("g.axis").evaluate_all("gs => gs.map(g => g.dataset.axis)") == ["lr", "accuracy"]

    # The filter keeps the rows that match.
    other = next(t for t in trials if t != best)
    page.fill("input[aria-label='filter trials']", other)
    page.wait_for_function("() => document.querySelector('.trials-table [data-rows]').dataset.rows === '1'")
    page.fill("input[aria-label='filter trials']", "")

    # Clicking a trial's line opens its curves, config, log lines and model.
    plot.locator(f"polyline[data-trial='{other}']").dispatch_event("click")
    panel = page.locator(f".trial-panel[data-trial='{other}']")
    panel.locator("figure.chart canvas").first.wait_for()
    assert panel.locator("figure.chart").first.get_attribute("data-series") == "1"
    assert panel.locator("figure.chart .chart-legend li").first.get_attribute("data-line") == other
    link = panel.locator("a.download").first
    link.wait_for()
    assert link.get_attribute("href").startswith("/api/v1/models/")
    assert f"trial={other}" in page.url
    shot(page, "trials")
