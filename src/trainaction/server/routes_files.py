"""Files: uploads, datasets, models, and downloads of stored files, all streamed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from ..backend import LocalBackend, store
from ..backend.base import DatasetRecord
from ..backend.files import sha256_of
from ..errors import NotFoundError
from .deps import BAD_PATH, CONFLICT, ERRORS, TOO_LARGE, Reader, RecordId, Settings, Storage, Writer
from .paths import safe_join
from .schemas import MAX_ID, DatasetIn, ModelIn
from .uploads import discard_upload, new_upload, receive_file, record_sum, scratch_folder, upload_folder, upload_sums

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["files"])

_FILE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
}
Sha256 = Annotated[str, Header(alias="X-Content-SHA256", pattern="^[0-9a-fA-F]{64}$")]


# uploads ----------------------------------------------------------------------------------------


@router.post("/uploads", status_code=201)
def start_upload(_: Writer, settings: Settings) -> dict[str, str]:
    return {"upload_id": new_upload(settings.artifacts)}


@router.put("/uploads/{upload_id}/files/{path:path}", status_code=201, responses={**TOO_LARGE, **BAD_PATH, **CONFLICT})
async def upload_file(
    upload_id: str, path: str, request: Request, sha256: Sha256, _: Writer, settings: Settings
) -> dict[str, Any]:
    folder = upload_folder(settings.artifacts, upload_id)
    target = safe_join(folder, path)
    received = await receive_file(
        request, target, scratch_folder(settings.artifacts), settings.max_upload_bytes, sha256
    )
    await run_in_threadpool(record_sum, settings.artifacts, upload_id, path, received)
    return {"path": path, "size": received.size, "sha256": received.sha256}


# datasets ---------------------------------------------------------------------------------------


@router.post("/datasets", status_code=201, responses=CONFLICT)
def add_dataset(body: DatasetIn, _: Writer, storage: Storage, settings: Settings) -> dict[str, Any]:
    source = upload_folder(settings.artifacts, body.upload_id)
    sums = upload_sums(settings.artifacts, body.upload_id)
    folder = settings.artifacts / "datasets" / body.upload_id
    folder.parent.mkdir(exist_ok=True)
    os.rename(source, folder)
    try:
        record = storage.add_dataset(folder, body.name, body.metadata)
    except BaseException:
        os.rename(folder, source)
        raise
    discard_upload(settings.artifacts, body.upload_id)
    return _with_sums(storage, record, folder, sums).to_dict()


def _with_sums(storage: LocalBackend, record: DatasetRecord, folder: Path, sums: dict[str, str]) -> DatasetRecord:
    """The record with each file's sha256 (from the upload; computed for any it lacks), stored in it."""
    if all("sha256" in entry for entry in record.files):
        return record
    files = [
        {**entry, "sha256": sums.get(entry["path"]) or sha256_of(folder / entry["path"])} for entry in record.files
    ]
    with storage.engine.begin() as conn:
        conn.execute(store.datasets.update().where(store.datasets.c.id == record.id).values(files=files))
    return storage.get_dataset(record.id)


@router.get("/datasets")
def list_datasets(_: Reader, storage: Storage) -> dict[str, list[dict[str, Any]]]:
    return {"datasets": [record.to_dict() for record in storage.list_datasets()]}


@router.get("/datasets/{dataset_id}")
def get_dataset(dataset_id: RecordId, _: Reader, storage: Storage) -> dict[str, Any]:
    return storage.get_dataset(dataset_id).to_dict()


@router.delete("/datasets/{dataset_id}", responses=CONFLICT)
def remove_dataset(dataset_id: RecordId, _: Writer, storage: Storage, dry_run: bool = False) -> dict[str, Any]:
    return storage.remove_dataset(dataset_id, dry_run=dry_run).to_dict()


@router.get("/datasets/{dataset_id}/files/{path:path}", response_class=FileResponse, responses={**_FILE, **BAD_PATH})
def dataset_file(dataset_id: RecordId, path: str, _: Reader, storage: Storage) -> FileResponse:
    record = storage.get_dataset(dataset_id)
    entry = _listed(record.files, path, f"dataset {dataset_id}")
    target = safe_join(Path(record.location), path)
    return _file(target, entry.get("sha256") or sha256_of(target))


# models -----------------------------------------------------------------------------------------


@router.post("/models", status_code=201, responses=CONFLICT)
def add_model(body: ModelIn, _: Writer, storage: Storage, settings: Settings) -> dict[str, Any]:
    folder = upload_folder(settings.artifacts, body.upload_id)
    if body.job_id is not None:
        storage.get_job(body.job_id)
    record = storage.add_model(
        body.name, folder, job_id=body.job_id, trial_id=body.trial_id, config=body.config, metrics=body.metrics
    )
    discard_upload(settings.artifacts, body.upload_id)  # copied into models/<id>
    return record.to_dict()


@router.get("/models")
def list_models(
    _: Reader, storage: Storage, job_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None
) -> dict[str, list[dict[str, Any]]]:
    return {"models": [record.to_dict() for record in storage.list_models(job_id)]}


@router.get("/models/{model_id}")
def get_model(model_id: RecordId, _: Reader, storage: Storage) -> dict[str, Any]:
    return storage.get_model(model_id).to_dict()


@router.delete("/models/{model_id}", responses=CONFLICT)
def delete_model(
    model_id: RecordId, _: Writer, storage: Storage, force: bool = False, dry_run: bool = False
) -> dict[str, Any]:
    return storage.delete_model(model_id, force=force, dry_run=dry_run).to_dict()


@router.get("/models/{model_id}/files/{path:path}", response_class=FileResponse, responses={**_FILE, **BAD_PATH})
def model_file(model_id: RecordId, path: str, _: Reader, storage: Storage, settings: Settings) -> FileResponse:
    record = storage.get_model(model_id)
    entry = _listed(record.files, path, f"model {model_id}")
    return _file(safe_join(settings.artifacts / "models" / str(model_id), path), entry["sha256"])


# job files --------------------------------------------------------------------------------------


@router.get("/files/{key:path}", response_class=FileResponse, responses={**_FILE, **BAD_PATH})
def job_file(key: str, _: Reader, settings: Settings) -> FileResponse:
    target = safe_join(settings.artifacts / "files", key)
    if not target.is_file() or not key.startswith("jobs/"):
        raise NotFoundError(f"file '{key}' does not exist")
    return FileResponse(target)


def _listed(files: list[dict[str, Any]], path: str, what: str) -> dict[str, Any]:
    """Only a file recorded with the dataset or model is served, never anything else in its folder."""
    for entry in files:
        if entry["path"] == path:
            return entry
    raise NotFoundError(f"{what} has no file '{path}'; its record lists the files it has")


def _file(target: Path, sha256: str) -> FileResponse:
    if not target.is_file():
        raise HTTPException(404, f"'{target.name}' is missing from the store")
    return FileResponse(target, headers={"X-Content-SHA256": sha256})
