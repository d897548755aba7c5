"""Request bodies streamed into files: hashed and counted as they arrive, renamed into place when whole.

Memory holds one chunk at a time, whatever the file's size. A body past the limit, or whose sha256
is not the one announced, leaves nothing behind."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from .limits import too_large

__all__ = [
    "Received",
    "discard_upload",
    "new_upload",
    "receive_file",
    "record_sum",
    "scratch_folder",
    "upload_folder",
    "upload_sums",
]

_UPLOAD_ID = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class Received:
    size: int
    sha256: str


async def receive_file(
    request: Request, target: Path, scratch: Path, limit: int, expected_sha256: str | None = None
) -> Received:
    """Stream the request body into ``target`` (replaced when present); 413 past ``limit`` bytes,
    422 when ``expected_sha256`` is given and differs.

    ``scratch``: the folder a file is written in while it arrives; on the target's filesystem (a
    rename, not a copy) and outside the folder it goes to (a half file is never part of a dataset)."""
    scratch.mkdir(parents=True, exist_ok=True)
    partial = scratch / uuid.uuid4().hex
    digest = hashlib.sha256()
    size = 0
    handle = await run_in_threadpool(open, partial, "xb")
    try:
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large("the file", f"{limit / 2**30:.3g} GiB", "the server's --max-upload-gb sets it")
                digest.update(chunk)
                await run_in_threadpool(handle.write, chunk)
        finally:
            await run_in_threadpool(handle.close)
        found = digest.hexdigest()
        if expected_sha256 is not None and found != expected_sha256.lower():
            raise HTTPException(
                422,
                f"X-Content-SHA256: the file's sha256 is {found}, not {expected_sha256}; nothing was kept, send it again",
            )
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(partial, target)
        except OSError as exc:  # a file where a folder must go, or a folder where the file must
            raise HTTPException(409, f"'{target.name}' cannot be stored there: {exc.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
    return Received(size, found)


def uploads_root(artifacts: Path) -> Path:
    return artifacts / "uploads"


def scratch_folder(artifacts: Path) -> Path:
    return uploads_root(artifacts) / ".parts"


def new_upload(artifacts: Path) -> str:
    upload_id = uuid.uuid4().hex
    (uploads_root(artifacts) / upload_id).mkdir(parents=True)
    return upload_id


def upload_folder(artifacts: Path, upload_id: str) -> Path:
    """The folder of an upload made by POST /uploads; 404 for any other name."""
    folder = uploads_root(artifacts) / upload_id
    if len(upload_id) != 32 or not set(upload_id) <= _UPLOAD_ID or not folder.is_dir():
        raise HTTPException(404, f"upload '{upload_id}' does not exist; start one with POST /api/v1/uploads")
    return folder


def _sums(artifacts: Path, upload_id: str) -> Path:
    return uploads_root(artifacts) / ".sums" / f"{upload_id}.jsonl"


def record_sum(artifacts: Path, upload_id: str, path: str, received: Received) -> None:
    """Keep a received file's sha256, for the dataset record made from the upload (appended: one line
    is one write, so files uploaded side by side do not mix their lines)."""
    sums = _sums(artifacts, upload_id)
    sums.parent.mkdir(exist_ok=True)
    line = json.dumps({"path": path, "size": received.size, "sha256": received.sha256}) + "\n"
    with open(sums, "a") as handle:
        handle.write(line)


def upload_sums(artifacts: Path, upload_id: str) -> dict[str, str]:
    """path → sha256 of the files received for the upload (the last one sent for a path wins)."""
    sums = _sums(artifacts, upload_id)
    if not sums.exists():
        return {}
    found: dict[str, str] = {}
    for line in sums.read_text().splitlines():
        entry = json.loads(line)
        found[entry["path"]] = entry["sha256"]
    return found


def discard_upload(artifacts: Path, upload_id: str) -> None:
    shutil.rmtree(uploads_root(artifacts) / upload_id, ignore_errors=True)
    _sums(artifacts, upload_id).unlink(missing_ok=True)
