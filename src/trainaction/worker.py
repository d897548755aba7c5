"""The plugin's own process: ``python -m trainaction.worker SPEC.json``.

The plugin runs apart from the process that owns the job record, so that nothing the plugin
does — raising, ``os._exit``, a signal, a segfault in native code — can leave the job RUNNING.
Everything it logs goes through the shared-memory spool; the last record is ``_result`` on
success or ``_error`` with the traceback on failure.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from .plugin import load_plugin
from .resources import Checkpoint, Dataset
from .run import SpoolSink, TrainRun
from .spool import SpoolWriter


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
        sink.emit("_error", {"message": f"{type(exc).__name__}: {exc}".rstrip(": "), "traceback": text})
        return 1
    model_path = str(returned) if isinstance(returned, (str, os.PathLike)) else None
    sink.emit("_result", {"returned_path": model_path, "checkpoint_output": _text(run.checkpoint_output)})
    return 0


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    code = run_training(spec)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: a plugin's stray non-daemon threads must not keep the job alive.
    os._exit(code)


if __name__ == "__main__":
    main()
