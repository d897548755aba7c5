"""The Images view in a real browser: the logged visualizations per trial, a slider over index."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.slow


def test_an_image_shows_and_the_slider_moves_over_index(page: Any, ui_server: Any, tuning_job: Any, shot: Any) -> None:
    job_id = tuning_job.wait()
    page.goto(f"{ui_server.url}/#/jobs/{job_id}/images")
    group = page.locator("section.image-group[data-group='samples/validation']")
    image = group.locator("img")
    image.wait_for()
    # One gallery per trial: the trial picker lists the four.
    assert page.locator("select[aria-label='trial'] option").count() == 4
    page.wait_for_function(
        "() => { const i = document.querySelector('section.image-group img'); return i.complete && i.naturalWidth > 0; }"
    )
    assert image.evaluate("img => img.naturalWidth") == 16
    assert image.get_attribute("data-index") == "2"  # the newest index first
    group.locator("input[type=range]").fill("0")
    page.wait_for_function("() => document.querySelector('section.image-group img').dataset.index === '0'")
    page.wait_for_function(
        "() => { const i = document.querySelector('section.image-group img'); return i.complete && i.naturalWidth === 16; }"
    )
    shot(page, "images")
