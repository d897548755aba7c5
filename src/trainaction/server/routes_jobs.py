"""Jobs: records, status, heartbeats, logs, events, charts, trials, the best trial, job files."""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ..backend.batches import delivered_for, first_delivery
from ..liveness import Runner
from ..tables import latest_table
from .deps import BAD_PATH, CONFLICT, ERRORS, TOO_LARGE, JobId, Reader, Settings, Storage, Writer
from .events_body import EVENTS_SCHEMA, Batch, events_batch
from .job_list import jobs_page
from .paths import safe_join
from .schemas import MAX_ID, HeartbeatIn, JobIn, JobPatch, LogIn, Short, Status
from .uploads import receive_file, scratch_folder

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["jobs"])


@router.get("/whoami")
def whoami(caller: Reader) -> dict[str, str]:
    return {"name": caller.name, "role": caller.role}


@router.get("/jobs")
def list_jobs(
    _: Reader,
    storage: Storage,
    status: Status | None = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    q: Annotated[Short | None, Query(description="part of the display name, any case")] = None,
    order: Annotated[Literal["oldest", "newest"], Query()] = "oldest",
    offset: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
) -> dict[str, Any]:
    """``{"jobs": [...], "total": n}``; see :func:`.job_list.jobs_page` for how order, offset and limit combine."""
    jobs, total = jobs_page(storage, status=status, q=q, order=order, offset=offset, limit=limit)
    return {"jobs": [job.to_dict() for job in jobs], "total": total}


@router.post("/jobs", status_code=201)
def create_job(body: JobIn, _: Writer, storage: Storage, request: Request) -> dict[str, Any]:
    if body.request_id is None:
        return storage.create_job(body.action, body.params, body.name, body.display_name).to_dict()
    batch_id = f"job-{body.request_id}"
    # A retried create (its answer was lost) finds the job the first one made. The lock keeps two
    # copies arriving at once from both creating one.
    with request.app.state.creating:
        with storage.engine.connect() as conn:
            made = delivered_for(conn, batch_id)
        if made is not None:
            return storage.get_job(made).to_dict()
        job = storage.create_job(body.action, body.params, body.name, body.display_name)
        with storage.engine.begin() as conn:
            first_delivery(conn, batch_id, job.id)
    return job.to_dict()


@router.get("/jobs/{job_id}")
def get_job(job_id: JobId, _: Reader, storage: Storage) -> dict[str, Any]:
    return storage.get_job(job_id).to_dict()


@router.patch("/jobs/{job_id}")
def update_job(job_id: JobId, body: JobPatch, _: Writer, storage: Storage) -> dict[str, Any]:
    return storage.update_job(job_id, **body.model_dump(exclude_none=True)).to_dict()


@router.delete("/jobs/{job_id}", responses=CONFLICT)
def delete_job(
    job_id: JobId, _: Writer, storage: Storage, force: bool = False, dry_run: bool = False
) -> dict[str, Any]:
    return storage.delete_job(job_id, force=force, dry_run=dry_run).to_dict()


@router.post("/jobs/{job_id}/heartbeat", status_code=204)
def heartbeat(job_id: JobId, body: HeartbeatIn, _: Writer, storage: Storage) -> Response:
    storage.get_job(job_id)
    runner = None if body.runner is None else Runner(body.runner.host, body.runner.pid, body.runner.start)
    storage.heartbeat(job_id, runner)
    return Response(status_code=204)


@router.post("/jobs/{job_id}/log", status_code=204)
def append_log(job_id: JobId, body: LogIn, _: Writer, storage: Storage) -> Response:
    storage.get_job(job_id)
    storage.append_log(job_id, body.text, batch_id=body.batch_id)
    return Response(status_code=204)


@router.get(
    "/jobs/{job_id}/log",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def read_log(job_id: JobId, _: Reader, storage: Storage) -> StreamingResponse:
    return StreamingResponse(storage.iter_log(job_id), media_type="text/plain; charset=utf-8")


@router.get("/jobs/{job_id}/log/chunks")
def log_chunks(
    job_id: JobId,
    _: Reader,
    storage: Storage,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, list[dict[str, Any]]]:
    chunks = itertools.islice(storage.log_since(job_id, after), limit)
    return {"chunks": [{"id": n, "text": text} for n, text in chunks]}


@router.post("/jobs/{job_id}/events", openapi_extra={"requestBody": EVENTS_SCHEMA}, responses=TOO_LARGE)
def add_events(
    job_id: JobId, _: Writer, storage: Storage, batch: Annotated[Batch, Depends(events_batch)]
) -> dict[str, int]:
    storage.get_job(job_id)
    if batch.batch_id is not None:
        with storage.engine.connect() as conn:
            if delivered_for(conn, batch.batch_id) is not None:
                return {"stored": 0}
    storage.add_events(job_id, batch.events, batch_id=batch.batch_id)
    # Another copy of the batch may have been stored between the check and the write; then the
    # write stored nothing, which the answer of this copy cannot tell. Senders only use `stored` as a hint.
    return {"stored": len(batch.events)}


@router.get("/jobs/{job_id}/events")
def list_events(
    job_id: JobId,
    _: Reader,
    storage: Storage,
    type: Annotated[Short | None, Query()] = None,
    after: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 5000,
) -> dict[str, Any]:
    events = list(storage.iter_events(job_id, type=type, after=after, limit=limit))
    return {
        "events": [{"id": e.id, "type": e.type, "data": e.data, "time": e.time} for e in events],
        "next": events[-1].id if len(events) == limit else None,
    }


@router.get("/jobs/{job_id}/metrics")
def metrics(
    job_id: JobId,
    _: Reader,
    storage: Storage,
    key: Annotated[Short | None, Query()] = None,
    trial: Annotated[Short | None, Query()] = None,
    category: Annotated[Short | None, Query()] = None,
    points: Annotated[int, Query(ge=1, le=10_000)] = 500,
    x: Annotated[Literal["step", "epoch", "index"] | None, Query()] = None,
) -> dict[str, Any]:
    """``x`` asks for that x for each series where every point has it (else the series keeps its own)."""
    series = storage.metric_series(job_id, key=key, trial=trial, category=category, points=points, x=x)
    return {"job_id": job_id, "points": points, "series": series}


@router.get("/jobs/{job_id}/progress")
def progress(job_id: JobId, _: Reader, storage: Storage) -> dict[str, Any]:
    job = storage.get_job(job_id)
    return {"status": job.status, "progress": job.progress, "progress_percent": job.progress_percent}


@router.get("/jobs/{job_id}/trials")
def trials(job_id: JobId, _: Reader, storage: Storage) -> Any:
    """The whole table as `trainaction trials` shows it: each `trials` event holds only the rows that changed."""
    return latest_table(storage, job_id)


@router.get("/jobs/{job_id}/best")
def best(job_id: JobId, _: Reader, storage: Storage) -> dict[str, Any]:
    job = storage.get_job(job_id)
    model_id = job.result.get("model_id") if isinstance(job.result, dict) else None
    return {"job_id": job_id, "best_trial": job.best_trial, "model_id": model_id, "result": job.result}


@router.put("/jobs/{job_id}/files/{name:path}", status_code=201, responses={**TOO_LARGE, **BAD_PATH, **CONFLICT})
async def put_file(job_id: JobId, name: str, request: Request, _: Writer, settings: Settings) -> dict[str, str]:
    # async: the body is read as it streams in; the storage call is a short read, run in the thread pool.
    await run_in_threadpool(request.app.state.storage.get_job, job_id)
    target = safe_join(settings.artifacts / "files" / "jobs" / str(job_id), name)
    await receive_file(request, target, scratch_folder(settings.artifacts), settings.max_upload_bytes)
    return {"key": f"jobs/{job_id}/{name}"}
