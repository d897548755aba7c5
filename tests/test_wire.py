"""The wire records: every record survives encode → decode, and decode names what is wrong with a bad one."""

from __future__ import annotations

import marshal
import time
from typing import Any

import pytest

from trainaction import wire
from trainaction.wire import (
    Error,
    LogText,
    Message,
    Metric,
    Progress,
    ProgressDone,
    Record,
    Result,
    TrialEnd,
    Trials,
    Visualization,
    decode,
    encode,
    encode_metric,
)

RECORDS: list[Record] = [
    Metric("training", "loss", 0.5, {"epoch": 1, "phase": "a", "last": True, "note": None}),
    Metric("validation", "accuracy", None, {}, trial_id="t1"),
    Metric("classes", "7", 3, {"step": 2.5}),
    Visualization("cm", "val", 0, b"\x89PNG data", "png"),
    Visualization("cm", "val", 3, b"GIF89a", "gif", trial_id="t2"),
    Message("hello", "info"),
    Message("careful", "warning", trial_id="t1"),
    Progress("train", 3, 10),
    Progress("train", 0.5, 1.0, trial_id="t1"),
    Trials({"trials": {"t1": {"status": "RUNNING"}}, "base": ["status"], "best_trial": ""}),
    LogText("[trial t1] printed\n"),
    Result("/models/m", None),
    Result(None, "/out/ckpt"),
    Error("ValueError: bad", "Traceback (most recent call last): ..."),
    TrialEnd("t1", None),
    TrialEnd("t2", "/trials/t2/output"),
    ProgressDone("dataset"),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_every_record_survives_encode_and_decode(record: Record) -> None:
    decoded, at = decode(encode(record, at=12.5))
    assert decoded == record and type(decoded) is type(record)
    assert at == 12.5


def test_encode_stamps_the_time_of_sending() -> None:
    before = time.time()
    _, at = decode(encode(Message("x", "info")))
    assert before <= at <= time.time()


def test_the_bytes_are_marshal_name_payload_time_with_the_stored_event_shape() -> None:
    # The spool format and the stored event data are what they were before the records were typed.
    name, payload, at = marshal.loads(encode(Metric("training", "loss", 0.5, {"epoch": 1}, "t1"), at=1.0))
    assert (name, at) == ("metric", 1.0)
    assert list(payload.items()) == [
        ("category", "training"),
        ("key", "loss"),
        ("value", 0.5),
        ("metrics", {"epoch": 1}),
        ("trial_id", "t1"),
    ]
    assert "trial_id" not in Progress("train", 1, 2).to_payload()


@pytest.mark.parametrize("record", [r for r in RECORDS if isinstance(r, Metric)], ids=lambda r: r.key)
def test_a_metric_encoded_from_its_fields_is_the_bytes_of_its_record(record: Metric) -> None:
    """log_metric's shortcut writes what encoding the record writes (the time aside, stamped when sent)."""
    before = time.time()
    fields = encode_metric(record.category, record.key, record.value, dict(record.metrics), record.trial_id)
    name, payload, at = marshal.loads(fields)
    assert before <= at <= time.time()
    assert marshal.dumps((name, payload, 1.0), 2) == encode(record, at=1.0)


def test_names_are_module_constants_and_control_names_start_with_an_underscore() -> None:
    assert [kind.NAME for kind in wire.EVENT_RECORDS] == [
        wire.METRIC,
        wire.VISUALIZATION,
        wire.MESSAGE,
        wire.TRIALS,
        wire.PROGRESS,
    ]
    assert not any(kind.NAME.startswith("_") for kind in wire.EVENT_RECORDS)
    assert all(kind.NAME.startswith("_") for kind in wire.CONTROL_RECORDS)


def test_records_are_frozen() -> None:
    record = Metric("training", "loss", 0.5, {})
    with pytest.raises(AttributeError):
        record.value = 1.0  # type: ignore[misc]


def _raw(name: Any, payload: Any, at: Any = 1.0) -> bytes:
    return marshal.dumps((name, payload, at), 2)


METRIC = {"category": "training", "key": "loss", "value": 0.5, "metrics": {}}

BAD: list[tuple[str, bytes, type[Exception], str]] = [
    ("not marshal", b"\x00 not marshal data", ValueError, r"not a marshalled record"),
    ("truncated", _raw("metric", METRIC)[:-3], ValueError, r"not a marshalled record"),
    ("not a tuple", marshal.dumps(["metric", METRIC, 1.0]), ValueError, r"not a \(name, payload, time\) record"),
    ("two items", marshal.dumps(("metric", METRIC)), ValueError, r"not a \(name, payload, time\) record"),
    ("name not str", _raw(7, METRIC), ValueError, r"not a \(name, payload, time\) record"),
    ("payload not dict", _raw("metric", "not a dict"), ValueError, r"metric record: its payload is str, not a dict"),
    ("time not number", _raw("metric", METRIC, "noon"), ValueError, r"its time is 'noon', not a number"),
    ("time bool", _raw("metric", METRIC, True), ValueError, r"its time is True, not a number"),
    ("unknown name", _raw("weights", {}), ValueError, r"unknown record 'weights'; known: metric, visualization"),
    ("unknown control", _raw("_stop", {}), ValueError, r"unknown record '_stop'"),
    ("missing field", _raw("metric", {"category": "a", "key": "b"}), ValueError, r"metric record: missing 'value'"),
    ("unknown field", _raw("message", {"text": "a", "level": "info", "colour": "red"}), ValueError, r"'colour'"),
    ("list category", _raw("metric", {**METRIC, "category": ["a"]}), TypeError, r"'category' must be a str, got list"),
    ("str value", _raw("metric", {**METRIC, "value": "high"}), TypeError, r"'value' must be a number or None"),
    ("bool value", _raw("metric", {**METRIC, "value": True}), TypeError, r"'value' must be a number or None"),
    ("metrics list", _raw("metric", {**METRIC, "metrics": [1]}), TypeError, r"'metrics' must be a dict"),
    ("metrics bytes", _raw("metric", {**METRIC, "metrics": {"x": b"1"}}), TypeError, r"'metrics' maps names to"),
    ("trial id int", _raw("metric", {**METRIC, "trial_id": 3}), TypeError, r"'trial_id' must be a str"),
    (
        "image as str",
        _raw("visualization", {"category": "c", "group": "g", "index": 0, "content": "png", "extension": "png"}),
        TypeError,
        r"visualization record: 'content' must be bytes, got str",
    ),
    (
        "index float",
        _raw("visualization", {"category": "c", "group": "g", "index": 0.5, "content": b"", "extension": "png"}),
        TypeError,
        r"'index' must be an int",
    ),
    ("progress str", _raw("progress", {"category": "t", "current": "1", "total": 2}), TypeError, r"'current' must be"),
    ("trials rows", _raw("trials", {"trials": {"t1": "DONE"}}), TypeError, r"'trials' must map trial ids to dicts"),
    ("log bytes", _raw("_log", {"text": b"x"}), TypeError, r"_log record: 'text' must be a str"),
    ("result path", _raw("_result", {"returned_path": 1, "checkpoint_output": None}), TypeError, r"a str or None"),
    ("error fields", _raw("_error", {"message": "boom"}), ValueError, r"_error record: missing 'traceback'"),
    ("trial end id", _raw("_trial_end", {"trial_id": None, "checkpoint_output": None}), TypeError, r"'trial_id'"),
]


@pytest.mark.parametrize(("data", "error", "match"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_decode_rejects_a_malformed_record_saying_what_is_wrong(
    data: bytes, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        decode(data)
