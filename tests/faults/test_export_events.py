"""Exporting a big job: ``jobs events`` and ``jobs logs`` stream in constant memory, complete and in order."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainaction.backend import LocalBackend
from trainaction.events import Event

EVENTS = 200_000
# The CLI alone (Python, typer, rich, SQLAlchemy) peaks near 70 MiB; holding 200,000 events as a
# list took well over 400 MiB before streaming.
RSS_BOUND_MIB = 200


def _fill(backend: LocalBackend, count: int) -> int:
    job_id = backend.create_job("train", {}, "big", "big").id
    other = backend.create_job("train", {}, "other", "other").id
    now = time.time()
    for start in range(0, count, 50_000):
        batch = [
            Event(
                "metric",
                {"category": "training", "key": "loss", "value": 1.0 / (i + 1), "metrics": {"step": i}},
                now + i,
            )
            for i in range(start, min(start + 50_000, count))
        ]
        backend.add_events(job_id, batch)
        backend.add_events(other, batch[:10])  # another job's events interleaved must not leak in
    backend.add_events(job_id, [Event("progress", {"category": "train", "current": 1, "total": 1}, now + count)])
    return job_id


# Measured from a small parent: a child's peak RSS counts the memory of the process that forked it
# (Linux records the old address space's high-water mark at exec), and pytest's own is large.
_MEASURE = (
    "import os, subprocess, sys\n"
    "with open(sys.argv[1], 'wb') as sink:\n"
    "    child = subprocess.Popen(sys.argv[2:], stdout=sink)\n"
    "    _, status, usage = os.wait4(child.pid, 0)\n"
    "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n"
)


def _export(tmp_path: Path, *args: str) -> tuple[Path, float]:
    """Run ``trainaction ARGS`` with stdout to a file; returns the file and the CLI's peak RSS in MiB."""
    out = tmp_path / "out.txt"
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(out), sys.executable, "-m", "trainaction", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    status, max_rss_kib = done.stdout.split()
    assert status == "0", done.stderr
    return out, int(max_rss_kib) / 1024


@pytest.mark.slow
def test_big_event_export_streams_complete_and_ordered(backend, tmp_path):
    job_id = _fill(backend, EVENTS)

    out, rss = _export(tmp_path, "jobs", "events", str(job_id), "--json-lines")
    assert rss < RSS_BOUND_MIB, f"peak RSS {rss:.0f} MiB"
    with open(out) as lines:
        events = [json.loads(line) for line in lines]
    assert len(events) == EVENTS + 1
    assert [e["data"]["metrics"]["step"] for e in events[:-1]] == list(range(EVENTS))
    assert events[-1]["type"] == "progress"
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)

    out, rss = _export(tmp_path, "jobs", "events", str(job_id), "--json", "--type", "metric")
    assert rss < RSS_BOUND_MIB, f"peak RSS {rss:.0f} MiB"
    array = json.loads(out.read_text())
    assert [e["id"] for e in array] == ids[:-1]


@pytest.mark.slow
def test_events_page_with_limit_and_after(cli, backend):
    job_id = _fill(backend, 12_000)  # more than one backend page
    everything = cli("jobs", "events", str(job_id), "--json-lines").stdout.splitlines()
    all_ids = [json.loads(line)["id"] for line in everything]

    pages, after = [], 0
    while True:
        page = cli("jobs", "events", str(job_id), "--json", "--limit", "5000", "--after", str(after)).json()
        if not page:
            break
        pages.append(page)
        after = page[-1]["id"]
    assert [len(p) for p in pages] == [5000, 5000, 2001]
    assert [e["id"] for p in pages for e in p] == all_ids

    metric_page = cli("jobs", "events", str(job_id), "--type", "progress", "--json").json()
    assert [e["type"] for e in metric_page] == ["progress"]
    assert cli("jobs", "events", str(job_id), "--json", "--json-lines").returncode == 2
    assert cli("jobs", "events", str(job_id), "--limit", "0").returncode == 2
    beyond = cli("jobs", "events", str(job_id), "--after", str(2**64))
    assert beyond.returncode == 2 and "Traceback" not in beyond.stderr
    missing = cli("jobs", "events", "999", "--json-lines")
    assert missing.returncode == 2 and missing.stdout == "" and "job 999 does not exist" in missing.stderr


def test_the_plain_listing_streams_one_line_per_event(cli, backend):
    job_id = _fill(backend, 3)
    lines = cli("jobs", "events", str(job_id)).stdout.splitlines()
    assert len(lines) == 1 + 4 and lines[0].split() == ["id", "time", "type", "data"]
    assert "metric" in lines[1] and '"step": 0' in lines[1]


def test_a_reader_that_stops_early_is_no_error(backend, home):
    job_id = _fill(backend, 20_000)
    command = f"{sys.executable} -m trainaction jobs events {job_id} --json-lines | head -n 3"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=120)
    assert len(done.stdout.splitlines()) == 3
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


@pytest.mark.slow
def test_a_big_log_streams(backend, tmp_path):
    job_id = backend.create_job("train", {}, "log", "log").id
    chunk = "".join(f"line {i:07d}\n" for i in range(80_000))  # ~1 MiB
    for _ in range(150):
        backend.append_log(job_id, chunk)
    for line in range(1000):  # and many tiny chunks, as a slow plugin writes them
        backend.append_log(job_id, f"tail {line}\n")

    out, rss = _export(tmp_path, "jobs", "logs", str(job_id))
    size = out.stat().st_size
    assert size == 150 * len(chunk) + sum(len(f"tail {line}\n") for line in range(1000))
    assert rss < RSS_BOUND_MIB, f"peak RSS {rss:.0f} MiB for a {size >> 20} MiB log"
    with open(out) as text:
        assert text.readline() == "line 0000000\n"
    assert out.read_text().endswith("tail 999\n")
