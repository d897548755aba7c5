"""A server killed between a worker's claim and the job's start leaves the job PENDING; the next
server's executor on that host puts it back in the queue, and leaves a live server's claims alone."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from trainaction.backend import LocalBackend
from trainaction.executor import Executor


def test_claims_of_a_gone_server_are_queued_again_at_the_next_start(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "home")
    host = socket.gethostname()
    orphan = backend.submit_job("train", {}, "o", "o", plugin=b"z", executor="server").id
    alive = backend.submit_job("train", {}, "a", "a", plugin=b"z", executor="server").id
    gone_pid = 2**22 + 12345  # above Linux's largest pid (2**22): no such process
    assert backend.claim_submission(f"{host}:{gone_pid}:w0.1") is not None
    assert backend.claim_submission(f"{host}:{os.getpid()}:w0.1") is not None

    executor = Executor(0, backend, tmp_path / "home", None)
    executor.start()
    executor.stop()

    assert backend.get_job(orphan).status == "QUEUED"
    assert backend.get_job(alive).status == "PENDING"
    assert backend.claim_submission("next") is not None and backend.get_submission(orphan).worker == "next"
