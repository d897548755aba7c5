"""Chart reads: metric series downsampled to their buckets' minimum and maximum, against a plain reference."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from trainaction.backend import LocalBackend
from trainaction.errors import NotFoundError, ValidationError
from trainaction.events import Event


def _metric(
    value: Any,
    *,
    key: str = "loss",
    category: str = "training",
    trial: str | None = None,
    step: Any = None,
    epoch: Any = None,
) -> Event:
    metrics = {name: v for name, v in (("step", step), ("epoch", epoch)) if v is not None}
    data: dict[str, Any] = {"category": category, "key": key, "value": value, "metrics": metrics}
    if trial is not None:
        data["trial_id"] = trial
    return Event("metric", data, 1.0)


def _reference(events: list[Event], points: int) -> list[dict[str, Any]]:
    """The same bucketing, written out plainly over the events as they were stored: buckets of whole
    blocks of 64 stored points when there are no more buckets than blocks, else of valued points."""
    grouped: dict[tuple[Any, str, str], list[Event]] = {}
    for event in events:
        if event.type == "metric":
            grouped.setdefault((event.trial_id, event.data["category"], event.data["key"]), []).append(event)
    answer = []
    for (trial, category, key), series in grouped.items():
        steps = [e.data["metrics"].get("step") for e in series]
        epochs = [e.data["metrics"].get("epoch") for e in series]
        if all(s is not None for s in steps):
            kind, xs = "step", steps
        elif all(e is not None for e in epochs):
            kind, xs = "epoch", epochs
        else:
            kind, xs = "index", list(range(1, len(series) + 1))
        # (x, value, index in the order stored)
        valued = [
            (x, float(e.data["value"]), i)
            for i, (x, e) in enumerate(zip(xs, series, strict=True))
            if isinstance(e.data["value"], (int, float)) and math.isfinite(e.data["value"])
        ]
        blocks = -(-len(series) // 64)
        if len(valued) > points == 1:
            valued = [min(valued, key=lambda p: (-p[1], p[2]))]
        elif len(valued) > points:
            buckets = points // 2
            members: dict[int, list[tuple[Any, float, int]]] = {}
            for r, point in enumerate(valued):
                by_block = buckets <= blocks
                bucket = (point[2] // 64) * buckets // blocks if by_block else r * buckets // len(valued)
                members.setdefault(bucket, []).append(point)
            kept = set()
            for bucket in members.values():
                kept.add(min(bucket, key=lambda p: (p[1], p[2])))
                kept.add(min(bucket, key=lambda p: (-p[1], p[2])))
            valued = list(kept)
        valued.sort(key=lambda p: (p[0], p[2]))
        answer.append(
            {
                "trial_id": trial,
                "category": category,
                "key": key,
                "x": kind,
                "count": len(series),
                "points": [[x, v] for x, v, _ in valued],
            }
        )
    return sorted(answer, key=lambda s: (s["trial_id"] is not None, s["trial_id"] or "", s["category"], s["key"]))


def _random_events(rng: random.Random) -> list[Event]:
    events = []
    trials = [None, "trial_a", "trial_b"]
    for trial in rng.sample(trials, rng.randint(1, 3)):
        for key in rng.sample(["loss", "accuracy", "lr"], rng.randint(1, 3)):
            shape = rng.choice(["step", "epoch", "none", "partial", "duplicates"])
            size = rng.choice([rng.randint(0, 300), rng.randint(0, 3000)])
            for i in range(size):
                value: Any = rng.choice([rng.gauss(0, 1), rng.randint(-5, 5), None, float("inf")])
                value = rng.gauss(0, 1) if rng.random() < 0.8 else value
                step = {"step": i, "epoch": None, "none": None, "partial": i if i % 7 else None}.get(shape, i // 3)
                epoch = i // 10 if shape in ("epoch", "partial") else None
                events.append(_metric(value, key=key, trial=trial, step=step, epoch=epoch))
    events.append(Event("progress", {"value": 1}, 1.0))
    rng.shuffle(events)  # series interleave as trials report
    return events


@pytest.mark.parametrize("seed", range(12))
def test_series_match_the_plain_reference_on_random_data(backend: LocalBackend, seed: int) -> None:
    rng = random.Random(seed)
    job = backend.create_job("train", {}, "job", "job")
    events = _random_events(rng)
    for start in range(0, len(events), 97):  # several batches, as the pump sends them
        backend.add_events(job.id, events[start : start + 97])
    for points in (1, 2, 3, 10, 51, 120, 500):
        got = backend.metric_series(job.id, points=points)
        assert got == _reference(events, points)
        assert all(len(s["points"]) <= points for s in got)


def test_a_spike_and_a_dip_survive_downsampling(backend: LocalBackend) -> None:
    job = backend.create_job("train", {}, "job", "job")
    values = [math.sin(i / 50) for i in range(10_000)]
    values[4321], values[8765] = 1000.0, -1000.0
    backend.add_events(job.id, [_metric(v, step=i) for i, v in enumerate(values)])
    (series,) = backend.metric_series(job.id, key="loss", points=100)
    assert series["count"] == 10_000 and series["x"] == "step"
    assert len(series["points"]) <= 100
    assert [4321, 1000.0] in series["points"] and [8765, -1000.0] in series["points"]
    xs = [x for x, _ in series["points"]]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)


@pytest.mark.parametrize("points", [40, 2000])
def test_a_spike_survives_whether_blocks_or_points_are_read(backend: LocalBackend, points: int) -> None:
    """20,000 points are 313 blocks: 20 buckets are made of whole blocks, 1,000 of points read back."""
    job = backend.create_job("train", {}, "job", "job")
    values = [math.cos(i / 300) for i in range(20_000)]
    values[12_345] = 50.0
    values[777] = -50.0
    values[5000] = None  # type: ignore[call-overload]
    events = [_metric(v, step=i) for i, v in enumerate(values)]
    for start in range(0, len(events), 1000):
        backend.add_events(job.id, events[start : start + 1000])
    (series,) = backend.metric_series(job.id, points=points)
    assert series["count"] == 20_000
    assert series == _reference(events, points)[0]
    assert 0.9 * points <= len(series["points"]) <= points
    assert [12_345, 50.0] in series["points"] and [777, -50.0] in series["points"]


def test_blocks_follow_points_stored_in_many_small_batches(backend: LocalBackend) -> None:
    """Blocks fill across batches that end mid-block, across trials interleaved; a deleted job takes them along."""
    job = backend.create_job("tune", {}, "job", "job")
    rng = random.Random(5)
    events = [_metric(rng.gauss(0, 1), trial=f"t{t}", step=s) for s in range(700) for t in range(3)]
    start = 0
    while start < len(events):
        size = rng.randint(1, 150)
        backend.add_events(job.id, events[start : start + size])
        start += size
    for points in (2, 6, 20, 22, 200):
        assert backend.metric_series(job.id, points=points) == _reference(events, points)
    backend.update_job(job.id, status="SUCCEEDED")
    backend.delete_job(job.id)
    other = backend.create_job("tune", {}, "job", "job")
    backend.add_events(other.id, events[:10])
    assert backend.metric_series(other.id, points=2) == _reference(events[:10], 2)


def test_filters_by_key_trial_and_category(backend: LocalBackend) -> None:
    job = backend.create_job("train", {}, "job", "job")
    events = [
        _metric(float(i), key=key, category=category, trial=trial, step=i)
        for i in range(5)
        for key in ("loss", "accuracy")
        for category in ("training", "validation")
        for trial in ("t1", "t2")
    ]
    backend.add_events(job.id, events)
    names = [(s["trial_id"], s["category"], s["key"]) for s in backend.metric_series(job.id, key="loss")]
    assert names == [
        ("t1", "training", "loss"),
        ("t1", "validation", "loss"),
        ("t2", "training", "loss"),
        ("t2", "validation", "loss"),
    ]
    (one,) = backend.metric_series(job.id, key="accuracy", trial="t2", category="validation")
    assert (one["trial_id"], one["category"], one["key"], one["count"]) == ("t2", "validation", "accuracy", 5)
    assert one["points"] == [[i, float(i)] for i in range(5)]
    assert backend.metric_series(job.id, trial="t3") == []
    assert len(backend.metric_series(job.id, category="training")) == 4


def test_x_is_step_else_epoch_else_the_order_stored(backend: LocalBackend) -> None:
    job = backend.create_job("train", {}, "job", "job")
    backend.add_events(
        job.id,
        [_metric(1.0, key="by_step", step=s, epoch=9) for s in (30, 10, 20)]
        + [_metric(2.0, key="by_epoch", epoch=e) for e in (1, 2)]
        + [_metric(3.0, key="by_epoch", epoch=3, step=7)]  # one step is not a step axis
        + [_metric(v, key="by_index") for v in (5.0, None, 6.0)],
    )
    series = {s["key"]: s for s in backend.metric_series(job.id)}
    assert (series["by_step"]["x"], series["by_step"]["points"]) == ("step", [[10, 1.0], [20, 1.0], [30, 1.0]])
    assert (series["by_epoch"]["x"], series["by_epoch"]["points"]) == ("epoch", [[1, 2.0], [2, 2.0], [3, 3.0]])
    # The None keeps its place in the order: the third point stored is x = 3.
    assert (series["by_index"]["x"], series["by_index"]["points"]) == ("index", [[1, 5.0], [3, 6.0]])


def test_x_asks_for_an_axis_each_series_has_in_full(backend: LocalBackend) -> None:
    """The chart's step/epoch switch: a series without that x for every point keeps its own."""
    job = backend.create_job("train", {}, "job", "job")
    backend.add_events(
        job.id,
        [_metric(float(s), key="both", step=s * 10, epoch=s) for s in (1, 2, 3)]
        + [_metric(1.0, key="steps_only", step=s) for s in (5, 6)],
    )
    for points in (500, 2):  # points read, and blocks read
        series = {s["key"]: s for s in backend.metric_series(job.id, x="epoch", points=points)}
        assert series["both"]["x"] == "epoch"
        assert series["steps_only"]["x"] == "step"
    both = backend.metric_series(job.id, key="both", x="epoch")[0]
    assert both["points"] == [[1, 1.0], [2, 2.0], [3, 3.0]]
    assert backend.metric_series(job.id, key="both", x="index")[0]["points"] == [[1, 1.0], [2, 2.0], [3, 3.0]]


def test_a_series_of_only_missing_values_is_listed_with_its_count(backend: LocalBackend) -> None:
    job = backend.create_job("train", {}, "job", "job")
    backend.add_events(job.id, [_metric(None, key="nothing", step=i) for i in range(4)] + [_metric(1.0, step=0)])
    series = {s["key"]: s for s in backend.metric_series(job.id, points=2)}
    assert series["nothing"] == {
        "trial_id": None,
        "category": "training",
        "key": "nothing",
        "x": "step",
        "count": 4,
        "points": [],
    }
    assert series["loss"]["points"] == [[0, 1.0]]


def test_a_training_series_comes_before_trial_series(backend: LocalBackend) -> None:
    job = backend.create_job("train", {}, "job", "job")
    backend.add_events(job.id, [_metric(1.0, trial="b", step=1), _metric(2.0, step=1), _metric(3.0, trial="a", step=1)])
    assert [s["trial_id"] for s in backend.metric_series(job.id)] == [None, "a", "b"]
    assert backend.metric_series(job.id, trial="a")[0]["points"] == [[1, 3.0]]


@pytest.mark.parametrize("points", [0, -4, True, 2.5])
def test_points_below_one_are_refused_naming_the_argument(backend: LocalBackend, points: Any) -> None:
    job = backend.create_job("train", {}, "job", "job")
    with pytest.raises(ValidationError, match="points: must be a whole number of at least 1"):
        backend.metric_series(job.id, points=points)


def test_an_unknown_job_is_not_found(backend: LocalBackend) -> None:
    with pytest.raises(NotFoundError, match="job 7 does not exist"):
        backend.metric_series(7)


def test_event_data_reads_back_as_it_was_stored(backend: LocalBackend) -> None:
    """Data is encoded in bulk by a fast encoder: NaN, infinities, big and non-ASCII values, and what
    that encoder cannot take (a lone surrogate) read back unchanged."""
    job = backend.create_job("train", {}, "job", "job")
    data = {"value": float("nan"), "inf": float("-inf"), "big": 2**70, "text": "héllo ✓", "odd": "\ud800", "n": [1e-7]}
    backend.add_events(job.id, [Event("message", data, 1.0)])
    (stored,) = backend.list_events(job.id)
    assert math.isnan(stored.data["value"])
    assert {k: v for k, v in stored.data.items() if k != "value"} == {k: v for k, v in data.items() if k != "value"}
