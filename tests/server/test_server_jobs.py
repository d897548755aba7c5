"""The job routes over real HTTP, with a real token, against the in-thread server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from trainaction.server.auth import TokenStore

METRIC = {"type": "metric", "data": {"category": "train", "key": "loss", "value": 0.5, "metrics": {"step": 1}}}


def _job(api: httpx.Client, **body: Any) -> dict[str, Any]:
    answer = api.post("/api/v1/jobs", json={"action": "train", "params": {"dataset": 1}, "name": "j", **body})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


@pytest.fixture
def api(live_server: Any) -> Any:
    with live_server.client() as client:
        yield client


def test_whoami_and_tokens_are_required(live_server: Any, api: httpx.Client):
    assert api.get("/api/v1/whoami").json() == {"name": "admin", "role": "admin"}
    for headers in ({}, {"Authorization": "Bearer ta_wrong"}):
        answer = httpx.get(f"{live_server.url}/api/v1/jobs", headers=headers)
        assert answer.status_code == 401
        assert answer.json() == {"detail": "missing or invalid token"}
        assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_a_read_token_cannot_write(live_server: Any):
    _, secret = TokenStore(live_server.storage.engine).create("dashboard", "read")
    with live_server.client(secret) as reader:
        assert reader.get("/api/v1/jobs").json() == {"jobs": [], "total": 0}
        answer = reader.post("/api/v1/jobs", json={"action": "train", "params": {}, "name": "x"})
    assert answer.status_code == 403
    assert answer.json() == {"detail": "this needs a write token; yours is read"}


def test_job_lifecycle(api: httpx.Client):
    job = _job(api, display_name="first")
    assert job["status"] == "PENDING" and job["display_name"] == "first"
    assert job["created_at"].endswith("Z")
    assert api.get(f"/api/v1/jobs/{job['id']}").json() == job
    changed = api.patch(f"/api/v1/jobs/{job['id']}", json={"status": "RUNNING", "progress_percent": 40.0}).json()
    assert changed["status"] == "RUNNING" and changed["started_at"]
    assert api.get(f"/api/v1/jobs/{job['id']}/progress").json() == {
        "status": "RUNNING",
        "progress": {},
        "progress_percent": 40.0,
    }
    assert api.post(f"/api/v1/jobs/{job['id']}/heartbeat", json={}).status_code == 204
    runner = {"runner": {"host": "h", "pid": 1, "start": None}}
    assert api.post(f"/api/v1/jobs/{job['id']}/heartbeat", json=runner).status_code == 204
    assert [j["id"] for j in api.get("/api/v1/jobs", params={"status": "RUNNING"}).json()["jobs"]] == [job["id"]]
    refused = api.delete(f"/api/v1/jobs/{job['id']}")
    assert refused.status_code == 409 and "RUNNING" in refused.json()["detail"]
    api.patch(f"/api/v1/jobs/{job['id']}", json={"status": "SUCCEEDED", "result": {"model_id": None}})
    plan = api.delete(f"/api/v1/jobs/{job['id']}", params={"dry_run": True}).json()
    assert plan["kind"] == "job" and plan["deleted"] is False
    assert api.delete(f"/api/v1/jobs/{job['id']}").json()["deleted"] is True
    assert api.get(f"/api/v1/jobs/{job['id']}").status_code == 404


def test_a_request_id_sent_again_gives_the_same_job(api: httpx.Client):
    first = _job(api, request_id="abc")
    again = _job(api, request_id="abc")
    other = _job(api, request_id="def")
    assert again["id"] == first["id"] != other["id"]
    assert len(api.get("/api/v1/jobs").json()["jobs"]) == 2


def test_unknown_jobs_and_bad_input(api: httpx.Client):
    assert api.get("/api/v1/jobs/99").json() == {"detail": "job 99 does not exist; see `trainaction jobs list`"}
    for method, path in (("GET", "progress"), ("GET", "log"), ("GET", "events"), ("GET", "metrics"), ("GET", "best")):
        assert api.request(method, f"/api/v1/jobs/99/{path}").status_code == 404, path
    assert api.post("/api/v1/jobs/99/events", json={"events": []}).status_code == 404
    assert api.post("/api/v1/jobs/99/log", json={"text": "x"}).status_code == 404
    assert api.post("/api/v1/jobs/99/heartbeat", json={}).status_code == 404
    assert api.patch("/api/v1/jobs/99", json={"status": "FAILED"}).status_code == 404
    assert api.get("/api/v1/jobs/99999999999").status_code == 422
    bad = api.patch(f"/api/v1/jobs/{_job(api)['id']}", json={"status": "DONE"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "status"]
    malformed = api.post("/api/v1/jobs", content=b'{"action": ', headers={"Content-Type": "application/json"})
    assert malformed.status_code == 422
    assert api.get("/api/v1/jobs", params={"limit": 0}).status_code == 422


def test_events_are_stored_once_per_batch_and_paged(api: httpx.Client):
    job = _job(api)["id"]
    events = [{**METRIC, "data": {**METRIC["data"], "metrics": {"step": n}}, "time": 1000.0 + n} for n in range(7)]
    assert api.post(f"/api/v1/jobs/{job}/events", json={"batch_id": "b-1", "events": events}).json() == {"stored": 7}
    assert api.post(f"/api/v1/jobs/{job}/events", json={"batch_id": "b-1", "events": events}).json() == {"stored": 0}
    page = api.get(f"/api/v1/jobs/{job}/events", params={"limit": 5}).json()
    assert [e["time"] for e in page["events"]] == [1000.0 + n for n in range(5)]
    assert page["next"] == page["events"][-1]["id"]
    rest = api.get(f"/api/v1/jobs/{job}/events", params={"after": page["next"]}).json()
    assert len(rest["events"]) == 2 and rest["next"] is None
    assert api.get(f"/api/v1/jobs/{job}/events", params={"type": "message"}).json()["events"] == []
    assert api.get(f"/api/v1/jobs/{job}/events", params={"limit": 10001}).status_code == 422


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"events": [METRIC | {"time": 1.0}] * 3 + [{"type": "metric", "data": {}, "time": "now"}]}, "events[3].time"),
        ({"events": [{"type": "", "data": {}, "time": 1.0}]}, "events[0].type"),
        ({"events": [{"type": "metric", "data": [], "time": 1.0}]}, "events[0].data"),
        ({"events": [{"type": "metric", "data": {"metrics": [1]}, "time": 1.0}]}, "events[0].data.metrics"),
        ({"events": [{"type": "metric", "data": {"trial_id": 3}, "time": 1.0}]}, "events[0].data.trial_id"),
        ({"events": "all"}, "events"),
        ({"batch_id": 5, "events": []}, "batch_id"),
        ([], "body"),
    ],
)
def test_a_bad_events_batch_is_refused_naming_the_place(api: httpx.Client, body: Any, where: str):
    job = _job(api)["id"]
    answer = api.post(f"/api/v1/jobs/{job}/events", json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith(f"{where}: ")
    assert api.get(f"/api/v1/jobs/{job}/events").json()["events"] == []


def test_events_nan_and_oversized_batches(api: httpx.Client):
    job = _job(api)["id"]
    nan = b'{"events": [{"type": "metric", "data": {}, "time": NaN}]}'
    answer = api.post(f"/api/v1/jobs/{job}/events", content=nan, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422 and "NaN is not JSON" in answer.json()["detail"]
    many = {"events": [{"type": "message", "data": {}, "time": 1.0}] * 50_001}
    too_many = api.post(f"/api/v1/jobs/{job}/events", json=many)
    assert too_many.status_code == 413
    assert "larger than the limit of 50000 events" in too_many.json()["detail"]


def test_log_streams_and_chunks(api: httpx.Client):
    job = _job(api)["id"]
    for n in range(3):
        assert api.post(f"/api/v1/jobs/{job}/log", json={"text": f"line {n}\n", "batch_id": f"l{n}"}).status_code == 204
    api.post(f"/api/v1/jobs/{job}/log", json={"text": "line 2\n", "batch_id": "l2"})
    answer = api.get(f"/api/v1/jobs/{job}/log")
    assert answer.text == "line 0\nline 1\nline 2\n"
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    chunks = api.get(f"/api/v1/jobs/{job}/log/chunks", params={"limit": 2}).json()["chunks"]
    assert [c["text"] for c in chunks] == ["line 0\n", "line 1\n"]
    later = api.get(f"/api/v1/jobs/{job}/log/chunks", params={"after": chunks[-1]["id"]}).json()["chunks"]
    assert [c["text"] for c in later] == ["line 2\n"]


def test_metrics_trials_and_best(api: httpx.Client):
    job = _job(api)["id"]
    events = [
        {
            "type": "metric",
            "data": {"category": "val", "key": "acc", "value": n / 10, "metrics": {"step": n}},
            "time": 1.0,
        }
        for n in range(20)
    ]
    # Each trials event holds the rows that changed; the route answers the whole table.
    shape = {"base": ["status"], "hyperparameters": ["lr"], "metrics": ["acc"]}
    first = {**shape, "trials": {"t1": {"status": "RUNNING", "lr": 0.1}, "t2": {"status": "RUNNING", "lr": 0.2}}}
    second = {**shape, "trials": {"t1": {"status": "TERMINATED", "lr": 0.1, "acc": 0.9}}, "best_trial": "t1"}
    events.append({"type": "trials", "data": first, "time": 2.0})
    events.append({"type": "trials", "data": second, "time": 3.0})
    table = {
        **shape,
        "trials": {"t1": {"status": "TERMINATED", "lr": 0.1, "acc": 0.9}, "t2": {"status": "RUNNING", "lr": 0.2}},
        "best_trial": "t1",
    }
    api.post(f"/api/v1/jobs/{job}/events", json={"events": events})
    answer = api.get(f"/api/v1/jobs/{job}/metrics", params={"key": "acc", "points": 5}).json()
    assert answer["job_id"] == job and answer["points"] == 5
    [series] = answer["series"]
    assert series["key"] == "acc" and series["count"] == 20 and len(series["points"]) <= 5
    assert api.get(f"/api/v1/jobs/{job}/metrics", params={"points": 10001}).status_code == 422
    assert api.get(f"/api/v1/jobs/{job}/trials").json() == table
    api.patch(f"/api/v1/jobs/{job}", json={"best_trial": "t1", "result": {"model_id": 7}})
    assert api.get(f"/api/v1/jobs/{job}/best").json() == {
        "job_id": job,
        "best_trial": "t1",
        "model_id": 7,
        "result": {"model_id": 7},
    }
    training = _job(api)["id"]
    missing = api.get(f"/api/v1/jobs/{training}/trials")
    assert missing.status_code == 404
    assert missing.json()["detail"] == (f"job {training} has no trials table; only tuning jobs (is_tune=true) log one")


def test_json_body_limit(live_server: Any):
    from servers import live_app

    with live_app(live_server.storage, max_body_mb=0.01) as (url, token):
        headers = {"Authorization": f"Bearer {token}"}
        big = {"action": "train", "params": {"x": "y" * 20_000}, "name": "big"}
        answer = httpx.post(f"{url}/api/v1/jobs", json=big, headers=headers)
        assert answer.status_code == 413
        assert "larger than the limit of 0.01 MiB" in answer.json()["detail"]

        def chunks() -> Any:  # no Content-Length: counted as it arrives
            yield b'{"action": "train", "name": "big", "params": {"x": "'
            for _ in range(30):
                yield b"y" * 1000
            yield b'"}}'

        streamed = httpx.post(
            f"{url}/api/v1/jobs", content=chunks(), headers={**headers, "Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        assert httpx.get(f"{url}/api/v1/jobs", headers=headers).json() == {"jobs": [], "total": 0}
