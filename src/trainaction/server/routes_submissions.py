"""Submitted jobs: submit (the plugin's zip sent first as an upload), read, claim, stop."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, Response

from .deps import CONFLICT, ERRORS, JobId, Reader, Settings, Storage, Writer
from .schemas import Key, Long, Short, Text, _Body
from .uploads import discard_upload, made_from, record_made, upload_folder

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["submissions"])

PLUGIN_UPLOAD = "plugin.zip"


class SubmissionIn(_Body):
    action: Short
    params: dict[str, Any]
    name: Long
    display_name: Long = ""
    executor: Literal["server", "ray"]
    ray_address: Text | None = None
    # An upload (POST /uploads) holding the plugin's zip as the file "plugin.zip".
    upload_id: Key


class SubmissionPatch(_Body):
    ray_job_id: Short | None = None
    worker: Short | None = None


class ClaimIn(_Body):
    worker: Short


@router.post("/submissions", status_code=201, responses=CONFLICT)
def submit_job(body: SubmissionIn, _: Writer, storage: Storage, settings: Settings, request: Request) -> dict[str, Any]:
    with request.app.state.creating:  # one job per upload, also when a retry arrives at once
        made = made_from(settings.artifacts, body.upload_id)
        if made is not None:
            return storage.get_job(made).to_dict()
        zipped = upload_folder(settings.artifacts, body.upload_id) / PLUGIN_UPLOAD
        if not zipped.is_file():
            raise HTTPException(422, f"upload '{body.upload_id}' has no file '{PLUGIN_UPLOAD}' (the plugin's zip)")
        job = storage.submit_job(
            body.action,
            body.params,
            body.name,
            body.display_name,
            plugin=zipped.read_bytes(),
            executor=body.executor,
            ray_address=body.ray_address,
        )
        record_made(settings.artifacts, body.upload_id, job.id)
    discard_upload(settings.artifacts, body.upload_id)
    return job.to_dict()


@router.post("/submissions/claim")
def claim_submission(body: ClaimIn, _: Writer, storage: Storage) -> dict[str, Any]:
    """The oldest QUEUED server-executor job, now PENDING and this worker's; ``null`` when none waits."""
    claimed = storage.claim_submission(body.worker)
    return {"submission": None if claimed is None else claimed.to_dict()}


@router.get("/submissions/{job_id}")
def get_submission(job_id: JobId, _: Reader, storage: Storage) -> dict[str, Any]:
    return storage.get_submission(job_id).to_dict()


@router.patch("/submissions/{job_id}", status_code=204)
def update_submission(job_id: JobId, body: SubmissionPatch, _: Writer, storage: Storage) -> Response:
    storage.update_submission(job_id, ray_job_id=body.ray_job_id, worker=body.worker)
    return Response(status_code=204)


@router.post("/submissions/{job_id}/stop")
def request_stop(job_id: JobId, _: Writer, storage: Storage) -> dict[str, Any]:
    return storage.request_stop(job_id).to_dict()
