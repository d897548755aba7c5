"""The events route reads bodies with a fast parser (orjson): what it would change (an integer past
64 bits it reads as a float) still reads back exactly as the standard library reads it, escapes and
long fractions included; metric points are made in the same pass as the checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from trainaction.backend import LocalBackend
from trainaction.backend.storage import open_storage


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """The API over SQLite or PostgreSQL: each stores a batch its own way (PostgreSQL: binary COPY)."""
    from servers import live_app

    if request.param == "sqlite":
        storage = LocalBackend(tmp_path / "home")
    else:
        storage = open_storage(request.getfixturevalue("postgres_db"), tmp_path / "artifacts")
    with (
        live_app(storage) as (url, token),
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client,
    ):
        yield client
    storage.engine.dispose()


def _stored(api: httpx.Client, raw: str) -> list[dict[str, Any]]:
    job = api.post("/api/v1/jobs", json={"action": "train", "params": {}, "name": "exact"}).json()["id"]
    answer = api.post(f"/api/v1/jobs/{job}/events", content=raw, headers={"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    return [e["data"] for e in api.get(f"/api/v1/jobs/{job}/events").json()["events"]]


@pytest.mark.parametrize(
    "data",
    [
        '{"big": 1180591620717411303424, "small": -9223372036854775809, "n": 3}',
        '{"text": "h\\u00e9llo \\u2713", "quote": "a\\"b\\\\c\\n"}',
        '{"tiny": 0.00012345678901234567, "neg": -0.0, "exp": 1.5e300}',
        '{"plain": 0.5, "list": [1, 2.5e-7, null, true], "deep": {"a": {"b": "c"}}}',
    ],
)
def test_event_data_reads_back_as_json_reads_the_body(api: httpx.Client, data: str):
    raw = '{"batch_id": "b1", "events": [{"type": "message", "data": ' + data + ', "time": 1.5}]}'
    (stored,) = _stored(api, raw)
    expected = json.loads(data)
    assert stored == expected
    assert [type(v) for v in stored.values()] == [type(v) for v in expected.values()]


def test_metric_points_come_from_the_same_pass(api: httpx.Client):
    events = [
        {
            "type": "metric",
            "data": {"category": "train", "key": "loss", "value": v, "metrics": {"step": s}},
            "time": 2.0,
        }
        for s, v in ((1, 0.5), (2, None), (3, 0.25))
    ]
    job = api.post("/api/v1/jobs", json={"action": "train", "params": {}, "name": "points"}).json()["id"]
    assert api.post(f"/api/v1/jobs/{job}/events", json={"events": events}).json() == {"stored": 3}
    (series,) = api.get(f"/api/v1/jobs/{job}/metrics").json()["series"]
    assert (series["key"], series["x"], series["count"]) == ("loss", "step", 3)
    assert series["points"] == [[1, 0.5], [3, 0.25]]


def test_the_http_backend_sends_nan_as_null_and_big_integers_exactly(live_server: Any, tmp_path: Any):
    """NaN is not JSON: sent as the standard library writes it, the server refused the whole batch."""
    from trainaction.backend.http import HttpBackend
    from trainaction.events import Event

    client = HttpBackend(live_server.url, live_server.admin_token, cache_dir=tmp_path / "cache", retry_s=1)
    try:
        job = client.create_job("train", {}, "nan", "nan").id
        client.add_events(job, [Event("message", {"loss": float("nan"), "n": 1}, 1.0)], batch_id="nan")
        client.add_events(job, [Event("message", {"big": 2**70}, 2.0)], batch_id="big")
        assert [e.data for e in client.list_events(job)] == [{"loss": None, "n": 1}, {"big": 2**70}]
    finally:
        client.close()


def test_a_lone_surrogate_in_stored_data_reads_back_escaped_not_as_a_500(api: httpx.Client):
    """A lone surrogate is valid JSON as an escape, is stored as sent, and cannot be written as UTF-8."""
    raw = '{"events": [{"type": "message", "data": {"text": "a\\ud800b"}, "time": 1.5}]}'

    (stored,) = _stored(api, raw)

    assert stored == {"text": "a\ud800b"}
