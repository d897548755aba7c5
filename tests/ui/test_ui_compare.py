"""The Compare view in a real browser: two jobs overlaid on one chart, their hyperparameter differences."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.slow


def test_two_jobs_overlaid_with_their_differences(
    page: Any, ui_server: Any, tuning_job: Any, training_job: Any, shot: Any
) -> None:
    tuning_id, training_id = tuning_job.wait(), training_job.job_id
    with ui_server.client() as client:
        best = client.get(f"/api/v1/jobs/{tuning_id}/best").json()["best_trial"]
    page.goto(f"{ui_server.url}/#/compare?jobs={tuning_id},{training_id}&key=train/loss")
    chart = page.locator("figure.chart.compare-chart")
    chart.locator("canvas").wait_for()
    assert chart.get_attribute("data-series") == "2"
    labels = chart.locator(".chart-legend li").evaluate_all("items => items.map(li => li.dataset.line)")
    assert sorted(labels) == sorted([f"ui tuning #{tuning_id} · {best} (best)", f"ui training #{training_id}"])
    # lr differs (the best trial's against the training job's): its row is marked.
    lr = page.locator(".compare-params tr[data-param='lr']")
    assert lr.get_attribute("data-differs") == "true"
    assert "diff" in (lr.get_attribute("class") or "")
    shot(page, "compare")

    # Two trials of the tuning job, picked as job:trial.
    with ui_server.client() as client:
        trials = sorted(client.get(f"/api/v1/jobs/{tuning_id}/trials").json()["trials"])
    page.goto(f"{ui_server.url}/#/compare?jobs={tuning_id}:{trials[0]},{tuning_id}:{trials[1]}&key=validation/accuracy")
    page.wait_for_function(
        "() => document.querySelector('figure.compare-chart[data-metric=\"validation/accuracy\"]')?.dataset.series === '2'"
    )
