"""GET /api/v1/jobs/{id}/metrics/keys: a job's metric keys, their line counts and the x axes they can take."""

from __future__ import annotations

from typing import Any

from trainaction.backend import LocalBackend
from trainaction.events import Event


def _metric(key: str, trial: str | None, value: float, **x: int) -> Event:
    data: dict[str, Any] = {"category": "train", "key": key, "value": value, "metrics": x}
    if trial is not None:
        data["trial_id"] = trial
    return Event("metric", data, 1.0)


def test_keys_with_their_series_points_and_axes(live_server: Any, backend: LocalBackend) -> None:
    job = backend.create_job("train", {}, "job", "job")
    backend.add_events(
        job.id,
        [_metric("loss", trial, 1.0 / e, step=e * 10, epoch=e) for trial in ("a", "b") for e in (1, 2, 3)]
        + [_metric("lr", "a", 0.1, step=1), _metric("lr", "b", 0.1, epoch=1)]  # no axis both series have in full
        + [_metric("acc", "a", 0.5, epoch=1)],
    )
    with live_server.client() as client:
        answer = client.get(f"/api/v1/jobs/{job.id}/metrics/keys").json()
        one = client.get(f"/api/v1/jobs/{job.id}/metrics/keys", params={"trial": "b"}).json()
        missing = client.get("/api/v1/jobs/999/metrics/keys")
        # An axis the keys route offers is one the metrics route takes for every series of the key.
        epochs = client.get(f"/api/v1/jobs/{job.id}/metrics", params={"key": "loss", "x": "epoch"}).json()
    assert answer == {
        "job_id": job.id,
        "keys": [
            {"category": "train", "key": "acc", "series": 1, "count": 1, "x": ["epoch", "index"]},
            {"category": "train", "key": "loss", "series": 2, "count": 6, "x": ["step", "epoch", "index"]},
            {"category": "train", "key": "lr", "series": 2, "count": 2, "x": ["index"]},
        ],
    }
    assert [(k["key"], k["series"]) for k in one["keys"]] == [("loss", 1), ("lr", 1)]
    assert missing.status_code == 404 and "999" in missing.json()["detail"]
    assert {s["x"] for s in epochs["series"]} == {"epoch"}
    assert epochs["series"][0]["points"] == [[1, 1.0], [2, 0.5], [3, 1.0 / 3]]


def test_a_job_without_metrics_has_no_keys(live_server: Any, backend: LocalBackend) -> None:
    job = backend.create_job("train", {}, "job", "job")
    with live_server.client() as client:
        assert client.get(f"/api/v1/jobs/{job.id}/metrics/keys").json() == {"job_id": job.id, "keys": []}
