"""`trainaction submit`: check a job, record it QUEUED with its plugin, and return at once."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from ..action import TrainAction
from ..backend import Backend, server_url
from ..errors import PluginError, StoreError, TrainActionError
from ..plugin import load_plugin
from ..submission import pack_plugin
from ..terminal import printable
from ..validation import load_job_file
from .common import BackendOption, JsonOption, TokenOption, backend, err, fail, lines, out, print_json

__all__ = ["submit"]


def submit(
    job_file: Path = typer.Argument(..., metavar="JOB.json"),
    plugin: Path = typer.Option(..., "--plugin", help="The plugin folder (with plugin.py); it travels with the job."),
    ray_address: str | None = typer.Option(
        None,
        "--ray-address",
        metavar="ADDR",
        help="Run on this Ray cluster through its Jobs API (http://head:8265); needs --backend. "
        "Without it, a `trainaction server --workers N` on the backend runs the job.",
    ),
    as_json: bool = JsonOption,
    server: str | None = BackendOption,
    token: str | None = TokenOption,
) -> None:
    """Queue a job and print its id at once; follow it with `trainaction jobs logs ID --follow`.

    The job is checked as `run` checks it (exit 2 with the same messages). Without --ray-address it
    waits QUEUED for a `trainaction server --workers N` using the same backend (or home)."""
    try:
        url = server_url(server)
        if ray_address and url is None:
            raise StoreError(
                "--ray-address needs the team server as backend (--backend URL --token T): trials on the "
                "cluster's machines report to it, and cannot reach this machine's embedded home"
            )
        parsed = load_job_file(job_file)
        for notice in parsed.notices:
            err.print(f"notice: {lines(notice)}", markup=False, highlight=False)
        store = backend(create=True, url=server, token=token)
        if not Path(plugin).expanduser().is_dir():
            raise PluginError(
                f"--plugin '{plugin}' is not a folder; a submitted job takes its plugin folder (with plugin.py) along"
            )
        action = TrainAction(store, load_plugin(plugin), ray_address=ray_address)
        prepared = action.prepare(parsed.job)
        for notice in prepared.notices:
            err.print(f"notice: {lines(notice)}", markup=False, highlight=False)
        params = prepared.job.params
        executor = "ray" if ray_address else "server"
        record = store.submit_job(
            prepared.job.action,
            prepared.job.to_document()["params"],
            params.encoded_name,
            params.name,
            plugin=pack_plugin(plugin),
            executor=executor,
            ray_address=ray_address,
        )
        if ray_address:
            _to_ray(
                store, record.id, ray_address, Path(plugin), url or "", token or os.environ.get("TRAINACTION_TOKEN")
            )
    except TrainActionError as exc:
        fail(exc)
    if as_json:
        print_json({"job_id": record.id, "status": "QUEUED", "executor": executor})
        return
    where = f"the Ray cluster at {ray_address}" if ray_address else "a `trainaction server --workers N` on this backend"
    out.print(
        f"job {record.id} QUEUED for {printable(where)}; follow it: trainaction jobs logs {record.id} --follow",
        markup=False,
        highlight=False,
    )


def _to_ray(store: Backend, job_id: int, ray_address: str, plugin: Path, url: str, token: str | None) -> None:
    """Hand the job to the cluster; a refusal there fails the job (it would wait QUEUED forever) and says why."""
    from ..cluster.rayjobs import submit_ray_job

    try:
        submission_id = submit_ray_job(ray_address, job_id, plugin.expanduser().resolve(), url, token or "")
    except Exception as exc:  # the Jobs API's errors are plain exceptions (connection, HTTP)
        reason = f"the Ray cluster at {ray_address} did not take the job: {type(exc).__name__}: {exc}"
        store.update_job(job_id, status="FAILED", error=reason)
        raise TrainActionError(f"job {job_id} FAILED: {reason}") from None
    store.update_submission(job_id, ray_job_id=submission_id)
