"""The plugin's own process: ``python -m trainaction.worker SPEC.json``.

The plugin runs apart from the process that owns the job record, so that nothing the plugin
does — raising, ``os._exit``, a signal, a segfault in native code — can leave the job RUNNING.
Everything it logs goes through the shared-memory spool; the last record is a
:class:`~trainaction.wire.Result` on success or an :class:`~trainaction.wire.Error` with the
traceback on failure.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from .plugin import load_plugin
from .resources import Checkpoint, Dataset
from .run import SpoolSink, TrainRun
from .spool import SpoolWriter
from .wire import Error, Result

_PR_SET_PDEATHSIG = 1


def run_training(spec: dict[str, Any]) -> int:
    sink = SpoolSink(SpoolWriter(spec["spool_dir"]))
    try:
        plugin = load_plugin(spec["plugin"])
        run = TrainRun(sink, output_dir=spec["output_dir"])
        dataset = Dataset.from_dict(spec["dataset"])
        checkpoint = Checkpoint.from_dict(spec["checkpoint"]) if spec["checkpoint"] else None
        returned = plugin.call_train(run, dataset, spec["hyperparameter"], checkpoint)
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt fail the job too
        text = traceback.format_exc()
        sys.stderr.write(text)
        sink.send(Error(f"{type(exc).__name__}: {exc}".rstrip(": "), text))
        return 1
    model_path = str(returned) if isinstance(returned, (str, os.PathLike)) else None
    sink.send(Result(model_path, _text(run.checkpoint_output)))
    return 0


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _die_with_parent(parent: int) -> None:
    """End this process and everything it started when the process that owns the job dies.

    Linux: the kernel sends SIGTERM at the parent's death (PR_SET_PDEATHSIG), and SIGTERM kills the
    whole process group, so the plugin's own children go too. (The handler cannot ask whether the
    parent is gone: the signal comes when the parent's *thread* that started us exits, possibly
    while its other threads still run.) A thread watching the parent pid does the same where
    PR_SET_PDEATHSIG is missing, or when the plugin replaced the SIGTERM handler.
    """
    signal.signal(signal.SIGTERM, lambda signum, frame: _kill_group())
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # it died before the line above took effect
        _kill_group()
    threading.Thread(target=_watch_parent, args=(parent,), name="trainaction-parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    _kill_group()


def _kill_group() -> None:
    if os.getpgrp() == os.getpid():  # we lead our own group (the supervisor starts a new session)
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    if "parent_pid" in spec:
        _die_with_parent(spec["parent_pid"])
    code = run_training(spec)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: a plugin's stray non-daemon threads must not keep the job alive.
    os._exit(code)


if __name__ == "__main__":
    main()
