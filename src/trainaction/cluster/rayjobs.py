"""Submitting a job to an existing Ray cluster through the Ray Jobs API, and stopping it.

The address is what Ray's own ``JobSubmissionClient`` takes: the dashboard's ``http(s)://HOST:8265``,
a Ray Client address ``ray://HOST:10001``, or the cluster's ``HOST:PORT`` (Ray asks it where its
dashboard is). The plugin folder is the job's ``runtime_env`` ``working_dir`` (Ray uploads it and
unpacks it on every node), its ``requirements.txt`` the ``pip`` list, and the team server the job
reports to goes in ``env_vars``: the token only there, never in the entrypoint, the metadata or a log.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from ..errors import TrainActionError

__all__ = ["DRIVER_MODULE", "driver_entrypoint", "runtime_env", "stop_ray_job", "submit_ray_job"]

DRIVER_MODULE = "trainaction.cluster.driver"


def driver_entrypoint(job_id: int) -> str:
    return f"python -m {DRIVER_MODULE} --job-id {job_id}"


# Ray's stop sends SIGTERM, then SIGKILL after RAY_JOB_STOP_WAIT_TIME_S (3 s by default): too short for
# the driver to end its trials, drain their events and record the job STOPPED on a busy cluster.
STOP_WAIT_S = 120


def runtime_env(plugin_dir: Path, backend_url: str, token: str) -> dict[str, Any]:
    """The Ray job's runtime_env: the plugin folder to every node, its requirements, the team server."""
    env: dict[str, Any] = {
        "working_dir": str(plugin_dir),
        "env_vars": {
            "TRAINACTION_BACKEND": backend_url,
            "TRAINACTION_TOKEN": token,
            "RAY_JOB_STOP_WAIT_TIME_S": str(STOP_WAIT_S),  # read by Ray's job supervisor, which gets these too
        },
    }
    requirements = plugin_dir / "requirements.txt"
    if requirements.is_file():
        env["pip"] = str(requirements)
    return env


def _client(ray_address: str) -> Any:
    from ray.job_submission import JobSubmissionClient

    try:
        return JobSubmissionClient(ray_address)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError or ValueError for a wrong address
        raise TrainActionError(
            f"--ray-address: cannot reach the Ray cluster's job server at '{ray_address}' ({type(exc).__name__}: "
            f"{_first_line(exc)}); give the dashboard's address (http://HOST:8265), a Ray Client address "
            "(ray://HOST:10001) or the cluster's HOST:PORT, and check that the cluster runs with its dashboard"
        ) from exc


def submit_ray_job(ray_address: str, job_id: int, plugin_dir: Path, backend_url: str, token: str) -> str:
    """Submit job ``job_id`` (already recorded) to the cluster; returns Ray's submission id."""
    plugin_dir = Path(plugin_dir).resolve()
    if not plugin_dir.is_dir():
        raise TrainActionError(
            f"--plugin: '{plugin_dir}' is not a folder; a job for a Ray cluster needs the plugin's folder, "
            "which Ray sends to every node"
        )
    client = _client(ray_address)
    try:
        return str(
            client.submit_job(
                entrypoint=driver_entrypoint(job_id),
                runtime_env=runtime_env(plugin_dir, backend_url, token),
                submission_id=f"trainaction-{job_id}-{uuid.uuid4().hex[:8]}",
                metadata={"trainaction_job_id": str(job_id), "trainaction_backend": backend_url},
            )
        )
    except Exception as exc:
        raise TrainActionError(
            f"the Ray cluster at '{ray_address}' refused job {job_id}: {type(exc).__name__}: {_first_line(exc)}"
        ) from exc


def stop_ray_job(ray_address: str, submission_id: str) -> None:
    """Ask Ray to stop the job: its driver gets SIGTERM, which ends the job STOPPED."""
    client = _client(ray_address)
    try:
        client.stop_job(submission_id)
    except Exception as exc:
        raise TrainActionError(
            f"the Ray cluster at '{ray_address}' could not stop its job '{submission_id}': "
            f"{type(exc).__name__}: {_first_line(exc)}"
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""
