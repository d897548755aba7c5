"""Request bodies of the API (the events batch excepted: see :mod:`.events_body`) and answer shapes for the spec."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "MAX_ID",
    "DatasetIn",
    "HeartbeatIn",
    "JobIn",
    "JobPatch",
    "LogIn",
    "ModelIn",
    "RunnerIn",
]

# Ids fit PostgreSQL's INTEGER as well as SQLite's: a larger one is refused (422), never passed to the database.
MAX_ID = 2**31 - 1


# PostgreSQL stores no NUL character in a string column and enforces its length: both are checked here.
_NO_NUL = r"^[^\x00]*$"
Short = Annotated[str, StringConstraints(max_length=255, pattern=_NO_NUL)]
Long = Annotated[str, StringConstraints(max_length=512, pattern=_NO_NUL)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_NO_NUL)]
Text = Annotated[str, StringConstraints(pattern=_NO_NUL)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Status = Literal["QUEUED", "PENDING", "RUNNING", "SUCCEEDED", "FAILED", "STOPPED"]


class _Body(BaseModel):
    # A misspelt field is an error, not a silently dropped value.
    model_config = ConfigDict(extra="forbid")


class JobIn(_Body):
    action: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=_NO_NUL)]
    params: dict[str, Any]
    name: Long
    display_name: Long = ""
    # A retried create sends the same id and gets the job the first one made ("job-" + id is a batch id).
    request_id: Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=_NO_NUL)] | None = None


class JobPatch(_Body):
    status: Status | None = None
    progress: dict[str, Any] | None = None
    progress_percent: Annotated[float, Field(allow_inf_nan=False)] | None = None
    result: dict[str, Any] | None = None
    error: Text | None = None
    best_trial: Short | None = None


class RunnerIn(_Body):
    host: Short
    pid: Annotated[int, Field(ge=0, le=MAX_ID)]
    start: Annotated[str, StringConstraints(max_length=64, pattern=_NO_NUL)] | None = None


class HeartbeatIn(_Body):
    runner: RunnerIn | None = None


class LogIn(_Body):
    batch_id: Key | None = None
    text: Text


class DatasetIn(_Body):
    name: Short
    metadata: dict[str, Any] | None = None
    upload_id: Key


class ModelIn(_Body):
    name: Long
    upload_id: Key
    job_id: Id | None = None
    trial_id: Short | None = None
    config: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
