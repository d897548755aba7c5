"""The driver of a job submitted to a Ray cluster: ``python -m trainaction.cluster.driver --job-id N``.

Ray runs it on the head node, in the job's ``working_dir`` (the plugin folder) with the team server in
its environment (see :mod:`.rayjobs`). It loads the job's record and the plugin, joins the cluster and
runs the recorded job with :meth:`TrainAction.execute` (``job_id=N``: no second record). Ray's stop sends
SIGTERM, which stops the job as Ctrl-C stops ``trainaction run``: STOPPED, its metrics and models kept.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {__name__}", description=__doc__)
    parser.add_argument("--job-id", type=int, required=True, help="the recorded (QUEUED) job to run")
    args = parser.parse_args(argv)
    # Set before anything else: a stop while the driver starts must still end STOPPED, not killed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    import ray

    from ..action import TrainAction
    from ..backend import open_backend
    from ..errors import JobStopped, TrainActionError
    from ..plugin import load_plugin
    from ..tuning.limits import caller_stop_signals, restore_handlers
    from ..validation import parse_job

    backend = open_backend()
    job_id: int = args.job_id
    try:
        record = backend.get_job(job_id)
        parsed = parse_job({"action": record.action, "params": record.params})
        action = TrainAction(backend, load_plugin(Path.cwd()), ray_address="auto")
        prepared = action.prepare(parsed.job)
    except TrainActionError as exc:
        # The job was checked when it was submitted; what fails here (a plugin that does not import on the
        # cluster, a dataset deleted since) fails the recorded job, so that it does not stay QUEUED.
        backend.update_job(job_id, status="FAILED", error=str(exc))
        sys.stderr.write(f"trainaction: job {job_id} failed before it started: {exc}\n")
        return 1
    stop_signals = caller_stop_signals()
    ray.init(address="auto", log_to_driver=False, configure_logging=False)
    restore_handlers(stop_signals)  # ray.init makes SIGTERM call sys.exit: the job would not end STOPPED
    try:
        outcome = action.execute(prepared, job_id=job_id)
    except JobStopped as exc:
        sys.stderr.write(f"trainaction: job {exc.job_id} STOPPED\n")
        return 130
    finally:
        ray.shutdown()
    sys.stderr.write(f"trainaction: job {job_id} {outcome.status}\n")
    return 0 if outcome.status == "SUCCEEDED" else 1


if __name__ == "__main__":
    sys.exit(main())
