"""Uploads, datasets, models and job files over real HTTP: streamed, checked, kept inside their roots."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
import pytest


@pytest.fixture
def api(live_server: Any) -> Any:
    with live_server.client() as client:
        yield client


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _upload(api: httpx.Client, files: dict[str, bytes]) -> str:
    upload_id = str(api.post("/api/v1/uploads").json()["upload_id"])
    for path, data in files.items():
        answer = api.put(
            f"/api/v1/uploads/{upload_id}/files/{path}", content=data, headers={"X-Content-SHA256": _sha(data)}
        )
        assert answer.status_code == 201, answer.text
        assert answer.json() == {"path": path, "size": len(data), "sha256": _sha(data)}
    return upload_id


def test_a_dataset_from_an_upload(api: httpx.Client, home: Path):
    upload_id = _upload(api, {"train/a.csv": b"1,2\n", "b.txt": b"bee"})
    answer = api.post("/api/v1/datasets", json={"name": "digits", "metadata": {"rows": 1}, "upload_id": upload_id})
    assert answer.status_code == 201, answer.text
    record = answer.json()
    assert record["location"] == str(home / "datasets" / upload_id)
    assert record["files"] == [
        {"path": "b.txt", "size": 3, "sha256": _sha(b"bee")},
        {"path": "train/a.csv", "size": 4, "sha256": _sha(b"1,2\n")},
    ]
    assert not (home / "uploads" / upload_id).exists()
    assert api.get("/api/v1/datasets").json()["datasets"] == [record]
    assert api.get(f"/api/v1/datasets/{record['id']}").json() == record
    download = api.get(f"/api/v1/datasets/{record['id']}/files/train/a.csv")
    assert download.content == b"1,2\n" and download.headers["X-Content-SHA256"] == _sha(b"1,2\n")
    assert api.get(f"/api/v1/datasets/{record['id']}/files/nope.txt").status_code == 404
    assert api.post("/api/v1/datasets", json={"name": "again", "upload_id": upload_id}).status_code == 404
    assert api.delete(f"/api/v1/datasets/{record['id']}", params={"dry_run": True}).json()["deleted"] is False
    assert api.delete(f"/api/v1/datasets/{record['id']}").json()["deleted"] is True
    assert api.get(f"/api/v1/datasets/{record['id']}").status_code == 404


def test_a_model_from_an_upload(api: httpx.Client, home: Path):
    job = api.post("/api/v1/jobs", json={"action": "train", "params": {}, "name": "j"}).json()["id"]
    upload_id = _upload(api, {"weights.bin": b"\0" * 100, "config/c.json": b"{}"})
    body = {"name": "m", "upload_id": upload_id, "job_id": job, "trial_id": "t1", "metrics": {"acc": 0.9}}
    answer = api.post("/api/v1/models", json=body)
    assert answer.status_code == 201, answer.text
    model = answer.json()
    assert model["job_id"] == job and model["trial_id"] == "t1" and model["metrics"] == {"acc": 0.9}
    assert {f["path"] for f in model["files"]} == {"weights.bin", "config/c.json"}
    assert (home / "models" / str(model["id"]) / "weights.bin").read_bytes() == b"\0" * 100
    assert not (home / "uploads" / upload_id).exists()
    assert api.get("/api/v1/models", params={"job_id": job}).json()["models"] == [model]
    assert api.get("/api/v1/models", params={"job_id": job + 1}).json()["models"] == []
    assert api.get(f"/api/v1/models/{model['id']}").json() == model
    download = api.get(f"/api/v1/models/{model['id']}/files/weights.bin")
    assert download.content == b"\0" * 100 and download.headers["X-Content-SHA256"] == _sha(b"\0" * 100)
    missing_job = api.post("/api/v1/models", json={**body, "upload_id": _upload(api, {"x": b"x"}), "job_id": 999})
    assert missing_job.status_code == 404
    assert api.delete(f"/api/v1/models/{model['id']}").json()["deleted"] is True
    assert api.get(f"/api/v1/models/{model['id']}").status_code == 404


def test_a_sha256_mismatch_keeps_nothing(api: httpx.Client, home: Path):
    upload_id = str(api.post("/api/v1/uploads").json()["upload_id"])
    answer = api.put(
        f"/api/v1/uploads/{upload_id}/files/a.bin", content=b"data", headers={"X-Content-SHA256": _sha(b"other")}
    )
    assert answer.status_code == 422
    assert f"sha256 is {_sha(b'data')}, not {_sha(b'other')}" in answer.json()["detail"]
    assert list((home / "uploads" / upload_id).iterdir()) == []
    assert list((home / "uploads" / ".parts").iterdir()) == []
    no_header = api.put(f"/api/v1/uploads/{upload_id}/files/a.bin", content=b"data")
    assert no_header.status_code == 422 and no_header.json()["detail"][0]["loc"] == ["header", "X-Content-SHA256"]


def test_an_upload_past_the_limit_is_refused_and_removed(live_server: Any, home: Path):
    from servers import live_app

    with live_app(live_server.storage, max_upload_gb=1 / 2**20) as (url, token):  # 1 KiB
        headers = {"Authorization": f"Bearer {token}"}
        upload_id = httpx.post(f"{url}/api/v1/uploads", headers=headers).json()["upload_id"]
        data = b"x" * 5000
        answer = httpx.put(
            f"{url}/api/v1/uploads/{upload_id}/files/big.bin",
            content=iter([data[:2000], data[2000:]]),
            headers={**headers, "X-Content-SHA256": _sha(data)},
        )
    assert answer.status_code == 413
    assert "is larger than the limit of" in answer.json()["detail"]
    assert list((home / "uploads" / upload_id).iterdir()) == []
    assert list((home / "uploads" / ".parts").iterdir()) == []


@pytest.mark.parametrize("path", ["../escape.txt", "a/../../escape.txt", "a//b", "a\\b", "%00a", "/etc/passwd"])
def test_upload_paths_outside_the_upload_are_refused(api: httpx.Client, home: Path, path: str):
    upload_id = str(api.post("/api/v1/uploads").json()["upload_id"])
    answer = api.put(
        f"/api/v1/uploads/{upload_id}/files/{path}", content=b"x", headers={"X-Content-SHA256": _sha(b"x")}
    )
    assert answer.status_code in (400, 404), answer.text
    if answer.status_code == 400:
        assert "is not a path inside" in answer.json()["detail"]
    assert not (home / "uploads" / "escape.txt").exists() and not (home / "escape.txt").exists()


def test_a_symlink_out_of_the_root_is_never_followed(api: httpx.Client, home: Path, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    upload_id = str(api.post("/api/v1/uploads").json()["upload_id"])
    os.symlink(outside, home / "uploads" / upload_id / "link")
    answer = api.put(
        f"/api/v1/uploads/{upload_id}/files/link/x.txt", content=b"x", headers={"X-Content-SHA256": _sha(b"x")}
    )
    assert answer.status_code == 400 and "is not a path inside" in answer.json()["detail"]
    assert list(outside.iterdir()) == []
    (outside / "secret.txt").write_text("secret")
    os.symlink(outside / "secret.txt", home / "files" / "jobs" / "leak.txt") if (
        home / "files" / "jobs"
    ).is_dir() else None
    (home / "files" / "jobs").mkdir(parents=True, exist_ok=True)
    os.symlink(outside / "secret.txt", home / "files" / "jobs" / "leak2.txt")
    leak = api.get("/api/v1/files/jobs/leak2.txt")
    assert leak.status_code == 400 and "secret" not in leak.text


def test_unknown_uploads(api: httpx.Client):
    for upload_id in ("0" * 32, "A" * 32, "uploads"):
        answer = api.put(f"/api/v1/uploads/{upload_id}/files/a", content=b"x", headers={"X-Content-SHA256": _sha(b"x")})
        assert answer.status_code in (400, 404), upload_id
    assert api.post("/api/v1/models", json={"name": "m", "upload_id": "f" * 32}).status_code == 404


def test_job_files_put_and_get(api: httpx.Client, live_server: Any):
    job = api.post("/api/v1/jobs", json={"action": "train", "params": {}, "name": "j"}).json()["id"]
    answer = api.put(f"/api/v1/jobs/{job}/files/plots/loss.png", content=b"\x89PNG")
    assert answer.status_code == 201 and answer.json() == {"key": f"jobs/{job}/plots/loss.png"}
    assert api.get(f"/api/v1/files/jobs/{job}/plots/loss.png").content == b"\x89PNG"
    assert live_server.storage.read_file(f"jobs/{job}/plots/loss.png") == b"\x89PNG"
    assert api.put("/api/v1/jobs/999/files/a.png", content=b"x").status_code == 404
    assert api.put(f"/api/v1/jobs/{job}/files/..%2F..%2Fx", content=b"x").status_code == 400
    assert api.get("/api/v1/files/jobs/nothing.png").status_code == 404
    assert api.get("/api/v1/files/..%2Ftrainaction.db").status_code == 400
    unauthorised = httpx.get(f"{live_server.url}/api/v1/files/jobs/{job}/plots/loss.png")
    assert unauthorised.status_code == 401 and b"PNG" not in unauthorised.content
