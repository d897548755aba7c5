from __future__ import annotations

from pathlib import Path

from trainaction.backend import LocalBackend
from trainaction.progress import TRAINING_WEIGHTS, ProgressKeeper
from trainaction.pump import EventPump, NullObserver
from trainaction.run import SpoolSink, TrainRun
from trainaction.spool import SpoolWriter
from trainaction.wire import Control, TrialEnd


def test_pump_stores_events_logs_files_and_closes_finished_trial_spools(backend: LocalBackend, tmp_path: Path):
    job_id = backend.create_job("train", {}, "j", "j").id
    root = tmp_path / "spool"
    controls: list[Control] = []
    progress = ProgressKeeper(backend, job_id, TRAINING_WEIGHTS)
    pump = EventPump(backend, job_id, root, progress, NullObserver(), controls.append)
    finished = SpoolSink(SpoolWriter(root / "t1-a"))
    running = SpoolSink(SpoolWriter(root / "t2-b"))
    run = TrainRun(finished, output_dir=tmp_path / "out", is_tune=True, trial_id="t1")
    run.log_metric("training", "loss", 0.5, epoch=1)
    run.log_message("hello")
    run.log_visualization("cm", "val", 0, b"\x89PNG fake")
    finished.send(TrialEnd("t1", None))
    TrainRun(running, output_dir=tmp_path / "out2", is_tune=True, trial_id="t2").set_progress(1, 2)
    pump.log("from the job's own process\n")

    pump.start()
    pump.stop()

    types = [e.type for e in backend.list_events(job_id)]
    assert sorted(types) == ["message", "metric", "progress", "visualization"]
    (picture,) = backend.list_events(job_id, "visualization")
    assert backend.read_file(picture.data["file"]) == b"\x89PNG fake" and "content" not in picture.data
    assert controls == [TrialEnd("t1", None)]
    log = backend.read_log(job_id)
    assert "from the job's own process" in log and "[trial t1] [INFO] hello" in log
    assert pump.last_metrics == {"training": {"loss": 0.5}}
    assert not (root / "t1-a").exists() and (root / "t2-b").exists()  # a finished trial's spool is freed


def test_a_backlog_is_stored_in_bounded_batches_in_order(backend: LocalBackend, tmp_path: Path, monkeypatch):
    import trainaction.pump as pump_module

    monkeypatch.setattr(pump_module, "_MAX_RECORDS_PER_DRAIN", 100)
    job_id = backend.create_job("train", {}, "j", "j").id
    root = tmp_path / "spool"
    run = TrainRun(SpoolSink(SpoolWriter(root / "train")), output_dir=tmp_path / "out")
    for step in range(1050):
        run.log_metric("training", "loss", float(step), step=step)
    batches: list[int] = []
    add_events = backend.add_events
    monkeypatch.setattr(
        backend,
        "add_events",
        lambda job, events, batch_id=None: (batches.append(len(events)), add_events(job, events, batch_id=batch_id)),
    )
    progress = ProgressKeeper(backend, job_id, TRAINING_WEIGHTS)
    pump = EventPump(backend, job_id, root, progress, NullObserver(), lambda record: None)

    pump.start()
    pump.stop()

    assert max(batches) <= 100
    assert [e.data["metrics"]["step"] for e in backend.list_events(job_id, "metric")] == list(range(1050))


def test_sync_returns_once_what_was_written_before_it_has_been_read(backend: LocalBackend, tmp_path: Path):
    """The tuning engine reads a trial's last record (its model's files) after Ray returns: the pump,
    however long its pause between drains, must have read it by then."""
    job_id = backend.create_job("train", {}, "j", "j").id
    root = tmp_path / "spool"
    controls: list[Control] = []
    progress = ProgressKeeper(backend, job_id, TRAINING_WEIGHTS)
    pump = EventPump(backend, job_id, root, progress, NullObserver(), controls.append, interval=600.0).start()
    try:
        pump.sync()  # the first drain has run: the trial's spool below is written afterwards
        sink = SpoolSink(SpoolWriter(root / "t1-a"))
        TrainRun(sink, output_dir=tmp_path / "out", is_tune=True, trial_id="t1").log_metric("training", "loss", 0.5)
        sink.send(TrialEnd("t1", str(tmp_path / "model.bin")))

        pump.sync(timeout=60.0)

        assert controls == [TrialEnd("t1", str(tmp_path / "model.bin"))]
        assert [e.data["value"] for e in backend.list_events(job_id, "metric")] == [0.5]
    finally:
        pump.stop()
