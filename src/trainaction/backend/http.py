"""The HTTP backend: the Backend protocol over the team server's REST API (``/api/v1``).

Selected by ``TRAINACTION_BACKEND=http://host:port`` with ``TRAINACTION_TOKEN`` (see
:func:`trainaction.backend.open_backend`). Records come back as the same frozen records the embedded
backend returns (:mod:`.records_json`). Lists stream in pages; files stream both ways with their
sha256; datasets and models are downloaded into a local cache (:mod:`.http_files`). Every call
survives a server restart within the retry window (:mod:`.http_transport`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..errors import NotFoundError
from ..events import Event
from ..liveness import Runner
from .base import DatasetRecord, Deletion, JobRecord, ModelRecord, SubmissionRecord, log_text
from .http_files import cached_download, quoted, safe_relative, upload_folder
from .http_transport import JSON_TYPE, Transport, json_content, retry_seconds
from .records_json import event_from_json, record_from_json

__all__ = ["HttpBackend", "cache_root"]

_EVENT_PAGE = 5000
_LOG_PAGE = 1000
# Events per request: well under the server's 50,000 per batch and its 16 MiB body limit.
_EVENTS_PER_REQUEST = 10_000


def cache_root(url: str) -> Path:
    """The local cache of the server at ``url``: ``$TRAINACTION_CACHE`` (else ``~/.cache/trainaction``)
    ``/<host>_<port>``, holding downloaded datasets and models and the work folders of its jobs."""
    base = Path(os.environ.get("TRAINACTION_CACHE") or Path.home() / ".cache" / "trainaction").expanduser()
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return base / f"{parts.hostname or 'localhost'}_{port}"


class HttpBackend:
    """A client of the team server at ``url`` (``http://host:port``) with the bearer ``token``.

    ``cache_dir``: where downloads and job work folders go (default :func:`cache_root`); ``retry_s``:
    how long a call is retried while the server does not answer (``TRAINACTION_STORE_RETRY_S``);
    ``transport``: httpx's transport, for a proxy or a network fault in tests."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        cache_dir: Path | None = None,
        retry_s: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.cache_dir = Path(cache_dir) if cache_dir is not None else cache_root(self.url)
        self._http = Transport(self.url, token, retry_seconds() if retry_s is None else retry_s, transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # datasets ---------------------------------------------------------------------------------

    def add_dataset(self, source: Path, name: str, metadata: dict[str, Any] | None = None) -> DatasetRecord:
        """Upload the folder ``source``; an empty ``name`` means the folder's name."""
        source = Path(source).expanduser()
        if not source.is_dir():
            raise NotFoundError(f"dataset folder '{source}' does not exist or is not a folder")
        upload_id, _ = upload_folder(self._http, source, f"dataset folder '{source}'")
        body = {"name": name or source.resolve().name, "metadata": metadata or {}, "upload_id": upload_id}
        return record_from_json(DatasetRecord, self._http.json("POST", "/datasets", json=body))

    def get_dataset(self, dataset_id: int) -> DatasetRecord:
        return record_from_json(DatasetRecord, self._http.json("GET", f"/datasets/{dataset_id}"))

    def list_datasets(self) -> list[DatasetRecord]:
        return [record_from_json(DatasetRecord, d) for d in self._http.json("GET", "/datasets")["datasets"]]

    def remove_dataset(self, dataset_id: int, *, dry_run: bool = False) -> Deletion:
        answer = self._http.json("DELETE", f"/datasets/{dataset_id}", params={"dry_run": _flag(dry_run)})
        return record_from_json(Deletion, answer)

    def dataset_path(self, dataset_id: int) -> Path:
        record = self.get_dataset(dataset_id)
        target = self.cache_dir / "datasets" / str(record.id)
        return cached_download(self._http, target, record.files, f"/datasets/{record.id}/files", f"dataset {record.id}")

    # jobs -------------------------------------------------------------------------------------

    def create_job(self, action: str, params: dict[str, Any], name: str, display_name: str) -> JobRecord:
        # One request id for every retry: a create whose answer was lost does not make a second job.
        body = {
            "action": action,
            "params": params,
            "name": name,
            "display_name": display_name,
            "request_id": uuid.uuid4().hex,
        }
        return record_from_json(JobRecord, self._http.json("POST", "/jobs", json=body))

    def get_job(self, job_id: int) -> JobRecord:
        return record_from_json(JobRecord, self._http.json("GET", f"/jobs/{job_id}"))

    def list_jobs(self, status: str | None = None, limit: int | None = None) -> list[JobRecord]:
        query = {key: value for key, value in {"status": status, "limit": limit}.items() if value is not None}
        return [record_from_json(JobRecord, j) for j in self._http.json("GET", "/jobs", params=query)["jobs"]]

    def delete_job(self, job_id: int, *, force: bool = False, dry_run: bool = False) -> Deletion:
        query = {"force": _flag(force), "dry_run": _flag(dry_run)}
        return record_from_json(Deletion, self._http.json("DELETE", f"/jobs/{job_id}", params=query))

    def update_job(
        self,
        job_id: int,
        *,
        status: str | None = None,
        progress: dict[str, Any] | None = None,
        progress_percent: float | None = None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        best_trial: str | None = None,
    ) -> JobRecord:
        changes = {
            "status": status,
            "progress": progress,
            "progress_percent": progress_percent,
            "result": result,
            "error": error,
            "best_trial": best_trial,
        }
        body = {key: value for key, value in changes.items() if value is not None}
        return record_from_json(JobRecord, self._http.json("PATCH", f"/jobs/{job_id}", json=body))

    def heartbeat(self, job_id: int, runner: Runner | None = None) -> None:
        if runner is None:
            # A plain beat is tried once: the next comes in seconds, and a beat that waited out a
            # server restart would only hold up the job's end.
            self._http.request("POST", f"/jobs/{job_id}/heartbeat", json={}, retry_s=0)
            return
        body = {"runner": {"host": runner.host, "pid": runner.pid, "start": runner.start}}
        self._http.request("POST", f"/jobs/{job_id}/heartbeat", json=body)

    def append_log(self, job_id: int, text: str, *, batch_id: str | None = None) -> None:
        if not text:
            return
        # Without an id from the caller one is made here, so that a retry is still stored once.
        body = {"batch_id": batch_id or f"log-{uuid.uuid4().hex}", "text": log_text(text)}
        self._http.request("POST", f"/jobs/{job_id}/log", json=body)

    def read_log(self, job_id: int) -> str:
        return "".join(self.iter_log(job_id))

    def iter_log(self, job_id: int) -> Iterator[str]:
        return (text for _, text in self.log_since(job_id))

    def log_since(self, job_id: int, after: int = 0) -> Iterator[tuple[int, str]]:
        first = self._log_page(job_id, after)  # at the call: an unknown job raises here

        def pages() -> Iterator[tuple[int, str]]:
            page = first
            while page:
                yield from page
                if len(page) < _LOG_PAGE:
                    return
                page = self._log_page(job_id, page[-1][0])

        return pages()

    def _log_page(self, job_id: int, after: int) -> list[tuple[int, str]]:
        answer = self._http.json("GET", f"/jobs/{job_id}/log/chunks", params={"after": after, "limit": _LOG_PAGE})
        return [(int(chunk["id"]), str(chunk["text"])) for chunk in answer["chunks"]]

    def add_events(self, job_id: int, events: Sequence[Event], *, batch_id: str | None = None) -> None:
        if not events:
            return
        batch_id = batch_id or f"events-{uuid.uuid4().hex}"
        for start in range(0, len(events), _EVENTS_PER_REQUEST):
            part = events[start : start + _EVENTS_PER_REQUEST]
            # A batch larger than one request goes in parts, each with its own id derived from the batch's.
            part_id = batch_id if len(events) <= _EVENTS_PER_REQUEST else f"{batch_id}-{start}"
            # Each event as the server takes it, without its id (the server gives one); built in place:
            # this loop runs for every event a job logs.
            rows = [{"type": event.type, "data": event.data, "time": event.time} for event in part]
            body = {"batch_id": part_id, "events": rows}
            self._http.request("POST", f"/jobs/{job_id}/events", content=json_content(body), headers=JSON_TYPE)

    def list_events(self, job_id: int, type: str | None = None) -> list[Event]:
        return [dataclasses.replace(event, id=None) for event in self.iter_events(job_id, type)]

    def iter_events(
        self, job_id: int, type: str | None = None, after: int | None = None, limit: int | None = None
    ) -> Iterator[Event]:
        first = self._event_page(job_id, type, after, limit)  # at the call: an unknown job raises here

        def pages() -> Iterator[Event]:
            (events, following), left = first, limit
            while True:
                yield from events
                if left is not None:
                    left -= len(events)
                if following is None or not events or (left is not None and left <= 0):
                    return
                events, following = self._event_page(job_id, type, following, left)

        return pages()

    def _event_page(
        self, job_id: int, type: str | None, after: int | None, left: int | None
    ) -> tuple[list[Event], int | None]:
        size = _EVENT_PAGE if left is None else max(1, min(_EVENT_PAGE, left))
        query: dict[str, Any] = {"limit": size}
        if type is not None:
            query["type"] = type
        if after is not None:
            query["after"] = after
        answer = self._http.json("GET", f"/jobs/{job_id}/events", params=query)
        return [event_from_json(e) for e in answer["events"]], answer.get("next")

    def put_file(self, job_id: int, name: str, content: bytes) -> str:
        answer = self._http.json("PUT", f"/jobs/{job_id}/files/{quoted(name)}", content=content)
        return str(answer["key"])

    def read_file(self, key: str) -> bytes:
        if not safe_relative(key):
            raise NotFoundError(f"file '{key}' does not exist")
        return self._http.request("GET", f"/files/{quoted(key)}").content

    # submissions ------------------------------------------------------------------------------

    def submit_job(
        self,
        action: str,
        params: dict[str, Any],
        name: str,
        display_name: str,
        *,
        plugin: bytes,
        executor: str,
        ray_address: str | None = None,
    ) -> JobRecord:
        # The zip travels as an upload (streamed, sha256-checked, past the JSON body limit); a retried
        # submit names the same upload and gets the job the first one made.
        upload_id = self._http.json("POST", "/uploads")["upload_id"]
        headers = {"X-Content-SHA256": hashlib.sha256(plugin).hexdigest()}
        self._http.request("PUT", f"/uploads/{upload_id}/files/plugin.zip", headers=headers, content=plugin)
        body = {
            "action": action,
            "params": params,
            "name": name,
            "display_name": display_name,
            "executor": executor,
            "ray_address": ray_address,
            "upload_id": upload_id,
        }
        return record_from_json(JobRecord, self._http.json("POST", "/submissions", json=body))

    def get_submission(self, job_id: int) -> SubmissionRecord:
        return record_from_json(SubmissionRecord, self._http.json("GET", f"/submissions/{job_id}"))

    def update_submission(self, job_id: int, *, ray_job_id: str | None = None, worker: str | None = None) -> None:
        body = {k: v for k, v in {"ray_job_id": ray_job_id, "worker": worker}.items() if v is not None}
        self._http.request("PATCH", f"/submissions/{job_id}", json=body)

    def request_stop(self, job_id: int) -> JobRecord:
        return record_from_json(JobRecord, self._http.json("POST", f"/submissions/{job_id}/stop"))

    def claim_submission(self, worker: str) -> SubmissionRecord | None:
        claimed = self._http.json("POST", "/submissions/claim", json={"worker": worker})["submission"]
        return None if claimed is None else record_from_json(SubmissionRecord, claimed)

    # models -----------------------------------------------------------------------------------

    def add_model(
        self,
        name: str,
        source: Path,
        *,
        job_id: int | None = None,
        trial_id: str | None = None,
        config: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> ModelRecord:
        source = Path(source)
        if not source.exists() and not source.is_symlink():
            raise NotFoundError(f"model files '{source}' do not exist")
        upload_id, _ = upload_folder(self._http, source, f"model files '{source}'")
        body = {
            "name": name,
            "upload_id": upload_id,
            "job_id": job_id,
            "trial_id": trial_id,
            "config": config or {},
            "metrics": metrics or {},
        }
        return record_from_json(ModelRecord, self._http.json("POST", "/models", json=body))

    def get_model(self, model_id: int) -> ModelRecord:
        return record_from_json(ModelRecord, self._http.json("GET", f"/models/{model_id}"))

    def list_models(self, job_id: int | None = None) -> list[ModelRecord]:
        query = {} if job_id is None else {"job_id": job_id}
        return [record_from_json(ModelRecord, m) for m in self._http.json("GET", "/models", params=query)["models"]]

    def delete_model(self, model_id: int, *, force: bool = False, dry_run: bool = False) -> Deletion:
        query = {"force": _flag(force), "dry_run": _flag(dry_run)}
        return record_from_json(Deletion, self._http.json("DELETE", f"/models/{model_id}", params=query))

    def model_path(self, model_id: int) -> Path:
        """The model's files in the local cache, each checked against its stored sha256."""
        record = self.get_model(model_id)
        target = self.cache_dir / "models" / str(record.id)
        return cached_download(self._http, target, record.files, f"/models/{record.id}/files", f"model {record.id}")


def _flag(value: bool) -> str:
    return "true" if value else "false"
