"""Bad TrainRun arguments are the plugin's error, at the call; nothing a plugin passes stops the pump."""

from __future__ import annotations

import marshal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import add_dataset
from trainaction.backend import LocalBackend
from trainaction.progress import TRAINING_WEIGHTS, ProgressKeeper
from trainaction.pump import EventPump, NullObserver
from trainaction.run import SpoolSink, TrainRun
from trainaction.spool import SpoolWriter
from trainaction.testing import FakeRun
from trainaction.wire import Metric

BAD_CALLS: list[tuple[str, Any, type[Exception], str]] = [
    ("list category", lambda r: r.log_metric(["train"], "loss", 0.5), TypeError, r"category must be a str .*got list"),
    ("dict key", lambda r: r.log_metric("train", {"a": 1}, 0.5), TypeError, r"key must be a str .*got dict"),
    ("bool key", lambda r: r.log_metric("train", True, 0.5), TypeError, r"key must be a str"),
    ("empty key", lambda r: r.log_metric("train", "", 0.5), ValueError, r"key must not be empty"),
    (
        "long category",
        lambda r: r.log_metric("é" * 128, "loss", 0.5),
        ValueError,
        r"category is 256 bytes of UTF-8, more than the 255",
    ),
    ("NUL in key", lambda r: r.log_metric("train", "lo\0ss", 0.5), ValueError, r"key must not contain a NUL"),
    ("str value", lambda r: r.log_metric("train", "loss", "0.5"), TypeError, r"value must be a number .*got str"),
    ("None value", lambda r: r.log_metric("train", "loss", None), TypeError, r"value must be a number"),
    ("list value", lambda r: r.log_metric("train", "loss", [0.5]), TypeError, r"value must be a number .*got list"),
    ("array value", lambda r: r.log_metric("train", "loss", np.zeros(3)), TypeError, r"value must be a single number"),
    (
        "list keyword",
        lambda r: r.log_metric("train", "loss", 0.5, epoch=[1]),
        TypeError,
        r"epoch= must be a number, a str",
    ),
    (
        "text as image",
        lambda r: r.log_visualization("cm", "val", 0, b"hello, not an image"),
        ValueError,
        r"image: the 19 bytes given are not an image",
    ),
    (
        "missing image file",
        lambda r: r.log_visualization("cm", "val", 0, "/nonexistent.png"),
        ValueError,
        r"image: the file '/nonexistent.png' does not exist",
    ),
    ("dict as image", lambda r: r.log_visualization("cm", "val", 0, {"pixels": 1}), TypeError, r"image must be a path"),
    (
        "1-D array image",
        lambda r: r.log_visualization("cm", "val", 0, np.zeros(5)),
        ValueError,
        r"image must be an array of shape HxW",
    ),
    (
        "str index",
        lambda r: r.log_visualization("cm", "val", "0", np.zeros((2, 2))),
        TypeError,
        r"index must be an int",
    ),
    (
        "list group",
        lambda r: r.log_visualization("cm", ["val"], 0, np.zeros((2, 2))),
        TypeError,
        r"group must be a str",
    ),
    ("negative progress", lambda r: r.set_progress(-1, 10), ValueError, r"current must be between 0 and total"),
    ("zero total", lambda r: r.set_progress(0, 0), ValueError, r"total must be above 0"),
    ("NaN progress", lambda r: r.set_progress(float("nan"), 10), ValueError, r"current must be a finite number"),
    ("str progress", lambda r: r.set_progress("half", 10), TypeError, r"current must be a number"),
    ("bad level", lambda r: r.log_message("hi", level="loud"), ValueError, r"level must be one of debug, info"),
    ("trials not a dict", lambda r: r.log_trials(trials=[1, 2]), TypeError, r"log_trials: data must be a dict"),
]


@pytest.mark.parametrize(("call", "error", "message"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
def test_fake_run_refuses_a_bad_argument_at_the_call(tmp_path: Path, call, error, message):
    run = FakeRun(tmp_path)
    with pytest.raises(error, match=message):
        call(run)
    assert run.events == []


def test_what_has_an_obvious_meaning_is_accepted(tmp_path: Path):
    run = FakeRun(tmp_path)
    run.log_metric("confusion", 3, np.float32(0.25), epoch=np.int64(2), phase="val", final=True)
    run.log_metric("train/extra", "loss", float("nan"))
    run.log_metric("train", "correct", np.bool_(True))
    run.set_progress(np.int64(3), 4.0)
    assert [d for _, d in run.events] == [
        {"category": "confusion", "key": "3", "value": 0.25, "metrics": {"epoch": 2, "phase": "val", "final": True}},
        {"category": "train/extra", "key": "loss", "value": None, "metrics": {}},
        {"category": "train", "key": "correct", "value": 1, "metrics": {}},
        {"category": "train", "current": 3, "total": 4.0},
    ]


def test_an_int_key_is_stored_as_its_string_every_time(tmp_path: Path):
    run = FakeRun(tmp_path)
    for _ in range(2):  # the second call takes the checked-names path
        run.log_metric("classes", 7, 0.5)
        run.log_metric("classes", "7", 0.5)
    assert {d["key"] for _, d in run.events} == {"7"}


def _pump(backend: LocalBackend, root: Path) -> EventPump:
    job_id = backend.create_job("train", {}, "j", "j").id
    progress = ProgressKeeper(backend, job_id, TRAINING_WEIGHTS)
    return EventPump(backend, job_id, root, progress, NullObserver(), lambda record: None)


def test_records_the_pump_cannot_decode_are_dropped_counted_and_logged_not_fatal(backend: LocalBackend, tmp_path: Path):
    root = tmp_path / "spool"
    pump = _pump(backend, root)
    writer = SpoolWriter(root / "train")
    sink = SpoolSink(writer)
    sink.send(Metric("train", "loss", 1.0, {}))
    writer.write(b"\x00 not marshal data")
    # What a plugin going around TrainRun's checks could write: the pump must survive it.
    sink.send(Metric(["train"], "loss", 2.0, {}))  # type: ignore[arg-type]
    writer.write(marshal.dumps(("metric", "not a dict", time.time())))
    sink.send(Metric("train", "loss", 3.0, {}))

    pump.start()
    pump.stop()

    job_id = backend.list_jobs()[-1].id
    assert [e.data["value"] for e in backend.list_events(job_id, "metric")] == [1.0, 3.0]
    assert pump.unreadable == 3 and pump.failure is None
    log = backend.read_log(job_id)
    assert log.count("dropped a record of spool 'train'") == 3
    assert "3 record(s) could not be decoded and were dropped" in log


@pytest.mark.slow
def test_a_real_job_fails_at_the_plugins_line_with_the_argument_named(
    cli, backend, make_plugin, dataset_dir, write_job
):
    add_dataset(dataset_dir)
    plugin = make_plugin(
        """
        def train(run, dataset, hyperparameter, checkpoint, **kwargs):
            run.log_metric("training", "loss", 0.5)
            run.log_metric({"nested": 1}, "loss", 0.5)  # the bad line
        """
    )
    done = cli("run", write_job(), "--plugin", plugin, "--json")
    assert done.returncode == 1
    error = done.json()["error"]
    assert error.startswith("TypeError: category must be a str (or an int such as a class index), got dict")
    job = backend.list_jobs()[-1]
    assert 'run.log_metric({"nested": 1}, "loss", 0.5)  # the bad line' in backend.read_log(job.id)
    assert len(backend.list_events(job.id, "metric")) == 1


@pytest.mark.slow
def test_a_caught_bad_call_loses_no_later_event_and_the_job_succeeds(cli, backend, make_plugin, dataset_dir, write_job):
    add_dataset(dataset_dir)
    plugin = make_plugin(
        """
        def train(run, dataset, hyperparameter, checkpoint, **kwargs):
            for bad in (lambda: run.log_metric(["a", "list"], "loss", 1.0), lambda: run.set_progress(5, 2),
                        lambda: run.log_visualization("cm", "val", 0, b"text")):
                try:
                    bad()
                except (TypeError, ValueError) as exc:
                    print("refused:", exc)
            # Going around the checks: the pump drops this record, not the job.
            from trainaction.wire import Metric
            run._send(Metric(["raw"], "k", 1, {}))
            for epoch in range(3):
                run.log_metric("training", "loss", 1.0 / (epoch + 1), epoch=epoch)
        """
    )
    done = cli("run", write_job(), "--plugin", plugin, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    job = backend.get_job(done.json()["job_id"])
    assert job.status == "SUCCEEDED"  # not FAILED "ended abruptly (exit status 0)"
    assert [e.data["value"] for e in backend.list_events(job.id, "metric")] == [1.0, 0.5, 1.0 / 3]
    log = backend.read_log(job.id)
    assert log.count("refused:") == 3 and "1 record(s) could not be decoded and were dropped" in log
    assert done.json()["result"]["metrics"] == {"training": {"loss": 1.0 / 3}}


def test_the_train_run_used_in_jobs_checks_like_fake_run(tmp_path: Path):
    run = TrainRun(SpoolSink(SpoolWriter(tmp_path / "spool")), output_dir=tmp_path / "out")
    with pytest.raises(TypeError, match="category must be a str"):
        run.log_metric(["x"], "loss", 1.0)
