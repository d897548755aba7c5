from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trainaction.run import SpoolSink, TrainRun
from trainaction.spool import SpoolReader, SpoolWriter
from trainaction.testing import FakeRun
from trainaction.wire import Metric, decode


def test_metric_event_shape(tmp_path: Path):
    run = FakeRun(tmp_path)
    run.log_metric("training", "loss", np.float32(0.5), epoch=np.int64(3), step=7)
    assert run.events == [
        ("metric", {"category": "training", "key": "loss", "value": 0.5, "metrics": {"epoch": 3, "step": 7}})
    ]


def test_a_metric_through_the_spool_reads_back_as_the_record_a_plain_sink_gets(tmp_path: Path):
    """The spool's sink writes a metric from its fields (log_metric's shortcut): the same record."""
    spooled = TrainRun(SpoolSink(SpoolWriter(tmp_path / "spool")), output_dir=tmp_path / "a", trial_id="t1")
    plain = FakeRun(tmp_path / "b", is_tune=True, trial_id="t1")
    for run in (spooled, plain):
        run.log_metric("training", "loss", np.float32(0.5), epoch=np.int64(3), step=7, phase="warm", best=True)
    [(record, _)] = [decode(data) for data in SpoolReader(tmp_path / "spool").read()]
    assert record == Metric("training", "loss", 0.5, {"epoch": 3, "step": 7, "phase": "warm", "best": True}, "t1")
    assert ("metric", record.to_payload()) == plain.events[0]


def test_trial_id_is_added_to_metrics_and_visualizations_when_tuning(tmp_path: Path):
    run = FakeRun(tmp_path, is_tune=True, trial_id="abc123")
    run.log_metric("training", "loss", 0.5, epoch=10)
    run.log_visualization("predictions", "train", 10, np.zeros((4, 4)))
    assert run.events[0][1] == {
        "category": "training",
        "key": "loss",
        "value": 0.5,
        "metrics": {"epoch": 10},
        "trial_id": "abc123",
    }
    assert run.events[1][1]["trial_id"] == "abc123"


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["path", "bytes", "pil", "numpy-uint8", "numpy-float"])
def test_visualization_accepts_every_image_kind(tmp_path: Path, kind: str):
    pixels = (np.arange(48, dtype=np.uint8).reshape(4, 4, 3) * 5).astype(np.uint8)
    image = {
        "path": lambda: (tmp_path / "img.png").write_bytes(_png(pixels)) and tmp_path / "img.png",
        "bytes": lambda: _png(pixels),
        "pil": lambda: Image.fromarray(pixels),
        "numpy-uint8": lambda: pixels,
        "numpy-float": lambda: pixels.astype(np.float64) / 255.0,
    }[kind]()
    run = FakeRun(tmp_path / "out")
    run.log_visualization("confusion", "validation", 2, image)
    ((type_, data),) = run.events
    assert type_ == "visualization" and (data["category"], data["group"], data["index"]) == (
        "confusion",
        "validation",
        2,
    )
    decoded = np.asarray(Image.open(io.BytesIO(data["content"])))
    assert decoded.shape == (4, 4, 3)
    if kind != "numpy-float":
        assert (decoded == pixels).all()


def test_message_progress_and_trials(tmp_path: Path):
    run = FakeRun(tmp_path)
    run.log_message("hello", level="warning")
    run.set_progress(3, 10)
    run.log_trials(
        trials={"t1": {"status": "RUNNING", "lr": 0.1}}, base=["status"], hyperparameters=["lr"], metrics=["acc"]
    )
    assert run.events == [
        ("message", {"text": "hello", "level": "warning"}),
        ("progress", {"category": "train", "current": 3, "total": 10}),
        (
            "trials",
            {
                "trials": {"t1": {"status": "RUNNING", "lr": 0.1}},
                "base": ["status"],
                "hyperparameters": ["lr"],
                "metrics": ["acc"],
                "best_trial": "",
            },
        ),
    ]


def test_output_dir_is_created_and_checkpoint_output_settable(tmp_path: Path):
    run = FakeRun(tmp_path / "scratch")
    assert run.output_dir.is_dir() and run.checkpoint_output is None and run.is_tune is False
    run.checkpoint_output = str(tmp_path / "weights")
    assert run.checkpoint_output.endswith("weights")
    assert run.metrics("training", "loss") == []
