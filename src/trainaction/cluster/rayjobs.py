"""Submitting a job to a Ray cluster's Jobs API, and stopping it (a minimal version of the contract)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["stop_ray_job", "submit_ray_job"]


def submit_ray_job(ray_address: str, job_id: int, plugin_dir: Path, backend_url: str, token: str) -> str:
    """The Ray submission id of the job's driver (``python -m trainaction.cluster.driver --job-id N``)."""
    from ray.job_submission import JobSubmissionClient

    runtime_env: dict[str, object] = {
        "working_dir": str(plugin_dir),
        "env_vars": {"TRAINACTION_BACKEND": backend_url, "TRAINACTION_TOKEN": token},
    }
    if (Path(plugin_dir) / "requirements.txt").is_file():
        runtime_env["pip"] = str(Path(plugin_dir) / "requirements.txt")
    client = JobSubmissionClient(ray_address)
    return str(
        client.submit_job(entrypoint=f"python -m trainaction.cluster.driver --job-id {job_id}", runtime_env=runtime_env)
    )


def stop_ray_job(ray_address: str, submission_id: str) -> None:
    from ray.job_submission import JobSubmissionClient

    JobSubmissionClient(ray_address).stop_job(submission_id)
