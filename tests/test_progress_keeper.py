"""ProgressKeeper: the phases' and the plugin's progress records are folded once each, in the order sent,
and the keeper alone saves the job's progress and tells the observer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import trainaction
from trainaction.backend import LocalBackend
from trainaction.progress import TRAINING_WEIGHTS, ProgressKeeper
from trainaction.pump import EventPump, NullObserver
from trainaction.run import SpoolSink, TrainRun
from trainaction.spool import SpoolWriter
from trainaction.wire import Progress, ProgressDone


class _Recorder(NullObserver):
    def __init__(self) -> None:
        self.progress: list[tuple[dict[str, Any], float]] = []

    def on_progress(self, progress: dict[str, Any], percent: float) -> None:
        self.progress.append((progress, percent))


def _entry(current: float, total: float, percent: float) -> dict[str, Any]:
    return {"current": current, "total": total, "percent": percent}


def test_saved_shape_and_percent_are_the_weighted_phases(backend: LocalBackend) -> None:
    job_id = backend.create_job("train", {}, "j", "j").id
    view = _Recorder()
    keeper = ProgressKeeper(backend, job_id, TRAINING_WEIGHTS, view)
    keeper.send(ProgressDone("dataset"))
    keeper.send(Progress("train", 5, 10))
    keeper.send(Progress("preprocess", 20, 0))  # outside the weights: kept, not weighted, bad total clamped
    keeper.save(force=True)

    job = backend.get_job(job_id)
    assert job.progress == {
        "dataset": _entry(1, 1, 100.0),
        "train": _entry(5, 10, 50.0),
        "model_upload": _entry(0, 1, 0.0),
        "preprocess": _entry(20, 1, 100.0),
    }
    assert job.progress_percent == 57.5
    assert view.progress == [(job.progress, 57.5)]


def test_save_writes_only_what_changed_and_at_most_once_per_interval(backend: LocalBackend) -> None:
    job_id = backend.create_job("train", {}, "j", "j").id
    view = _Recorder()
    keeper = ProgressKeeper(backend, job_id, TRAINING_WEIGHTS, view, interval=3600.0)
    keeper.send(ProgressDone("dataset"))
    keeper.save(force=True)
    keeper.save(force=True)  # nothing new: neither written nor told
    keeper.send(Progress("train", 1, 4))
    keeper.save()  # within the interval: waits for a later save
    assert [percent for _, percent in view.progress] == [20.0]
    assert backend.get_job(job_id).progress_percent == 20.0
    keeper.save(force=True)
    assert [percent for _, percent in view.progress] == [20.0, 38.75]
    assert backend.get_job(job_id).progress["train"] == _entry(1, 4, 25.0)


def test_a_failing_view_is_switched_off_and_the_progress_still_saved(backend: LocalBackend) -> None:
    class Broken(NullObserver):
        def on_progress(self, progress: dict[str, Any], percent: float) -> None:
            raise RuntimeError("terminal gone")

    job_id = backend.create_job("train", {}, "j", "j").id
    keeper = ProgressKeeper(backend, job_id, TRAINING_WEIGHTS, Broken())
    for category in ("dataset", "train"):
        keeper.send(ProgressDone(category))
        keeper.save(force=True)
    assert backend.get_job(job_id).progress_percent == 95.0
    assert backend.read_log(job_id).count("the live view failed and was switched off: RuntimeError: terminal gone") == 1


def test_phases_and_plugin_records_through_the_pump_fold_once_in_order(backend: LocalBackend, tmp_path: Path) -> None:
    job_id = backend.create_job("train", {}, "j", "j").id
    view = _Recorder()
    keeper = ProgressKeeper(backend, job_id, TRAINING_WEIGHTS, view)
    root = tmp_path / "spool"
    keeper.send(ProgressDone("dataset"))  # the dataset phase, before the plugin starts
    keeper.save(force=True)
    plugin = TrainRun(SpoolSink(SpoolWriter(root / "train")), output_dir=tmp_path / "out")
    for step in (1, 2, 3):
        plugin.set_progress(step, 8)
    trial = TrainRun(SpoolSink(SpoolWriter(root / "t1")), output_dir=tmp_path / "t1", is_tune=True, trial_id="t1")
    trial.set_progress(7, 8)  # a trial's own progress: stored as an event, not the job's
    pump = EventPump(backend, job_id, root, keeper, NullObserver(), lambda record: None)
    pump.start()
    pump.stop()
    keeper.send(ProgressDone("train"))  # after the plugin's last record: the phase's total wins
    keeper.send(ProgressDone("model_upload"))
    keeper.save(force=True)

    job = backend.get_job(job_id)
    assert job.progress == {
        "dataset": _entry(1, 1, 100.0),
        "train": _entry(8, 8, 100.0),
        "model_upload": _entry(1, 1, 100.0),
    }
    assert job.progress_percent == 100.0
    assert type(job.progress["train"]["current"]) is float  # the plugin's numbers are saved as floats, as ever
    stored = [(e.data.get("trial_id"), e.data["current"]) for e in backend.list_events(job_id, "progress")]
    assert sorted(stored, key=str) == sorted([(None, 1), (None, 2), (None, 3), ("t1", 7)], key=str)
    percents = [percent for _, percent in view.progress]
    assert percents[0] == 20.0 and percents[-1] == 100.0 and percents == sorted(percents)
    assert view.progress[-1][0] == job.progress


PLUGIN = """
import time

def train(run, dataset, hyperparameter, checkpoint, **kwargs):
    for step in range(1, 5):
        run.set_progress(step, 4)
        time.sleep(0.3)  # long enough for the pump to save some of the steps on their own
        if step == hyperparameter["fail_at"]:
            raise RuntimeError("stopped at " + str(step))
    (run.output_dir / "model.txt").write_text("m")
"""


def _run(backend: LocalBackend, plugin: Path, dataset_dir: Path, fail_at: int) -> tuple[Any, _Recorder]:
    backend.add_dataset(dataset_dir, "numbers")
    view = _Recorder()
    document = {"action": "train", "params": {"name": "p", "dataset": 1, "hyperparameter": {"fail_at": fail_at}}}
    outcome = trainaction.run_job(document, plugin, backend=backend, observer=view)
    return outcome, view


@pytest.mark.slow
def test_a_job_folds_its_phases_and_the_plugins_progress_in_order(
    backend: LocalBackend, make_plugin: Callable[[str], Path], dataset_dir: Path
) -> None:
    outcome, view = _run(backend, make_plugin(PLUGIN), dataset_dir, fail_at=0)

    assert outcome.status == "SUCCEEDED", outcome.error
    job = backend.get_job(outcome.job_id)
    assert job.progress == {
        "dataset": _entry(1, 1, 100.0),
        "train": _entry(4, 4, 100.0),
        "model_upload": _entry(1, 1, 100.0),
    }
    assert job.progress_percent == 100.0
    # Each of the plugin's records is stored once, in the order sent.
    assert [e.data["current"] for e in backend.list_events(outcome.job_id, "progress")] == [1, 2, 3, 4]
    # The view saw the dataset phase first, then the plugin's steps, never going back, then the end.
    first, _ = view.progress[0]
    assert first["dataset"]["percent"] == 100.0 and first["train"]["percent"] == 0.0
    trains = [progress["train"]["current"] for progress, _ in view.progress]
    percents = [percent for _, percent in view.progress]
    assert trains == sorted(trains) and percents == sorted(percents)
    assert view.progress[-1] == (job.progress, 100.0)
    assert len(percents) == len(set(percents))  # only changes are told, each once


@pytest.mark.slow
def test_a_failed_job_keeps_the_progress_the_plugin_got_to(
    backend: LocalBackend, make_plugin: Callable[[str], Path], dataset_dir: Path
) -> None:
    outcome, view = _run(backend, make_plugin(PLUGIN), dataset_dir, fail_at=2)

    assert outcome.status == "FAILED" and "stopped at 2" in (outcome.error or "")
    job = backend.get_job(outcome.job_id)
    assert job.progress["train"] == _entry(2, 4, 50.0) and job.progress["model_upload"]["percent"] == 0.0
    assert job.progress_percent == 57.5
    assert view.progress[-1] == (job.progress, 57.5)
