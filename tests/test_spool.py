from __future__ import annotations

import multiprocessing
import os
import shlex
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from trainaction.spool import SpoolReader, SpoolWriter


def test_records_arrive_in_order(tmp_path: Path):
    writer, reader = SpoolWriter(tmp_path), SpoolReader(tmp_path)
    assert reader.read() == []
    for i in range(100):
        writer.write(f"record {i}".encode())
    assert reader.read() == [f"record {i}".encode() for i in range(100)]
    writer.write(b"later")
    assert reader.read() == [b"later"]


def test_segments_roll_over_and_read_segments_are_deleted(tmp_path: Path):
    writer, reader = SpoolWriter(tmp_path, segment_size=1024), SpoolReader(tmp_path)
    payloads = [os.urandom(100) for _ in range(50)] + [os.urandom(5000)]  # the last is larger than a segment
    for payload in payloads:
        writer.write(payload)
    assert reader.read() == payloads
    assert len(list(tmp_path.glob("*.seg"))) == 1  # only the segment still being written


def test_concurrent_writers_lose_nothing(tmp_path: Path):
    writer, reader = SpoolWriter(tmp_path, segment_size=4096), SpoolReader(tmp_path)
    threads = [
        threading.Thread(target=lambda t=t: [writer.write(f"{t}:{i}".encode()) for i in range(2000)]) for t in range(4)
    ]
    for thread in threads:
        thread.start()
    received: list[bytes] = []
    while any(t.is_alive() for t in threads):
        received += reader.read()
    received += reader.read()
    assert sorted(received) == sorted(f"{t}:{i}".encode() for t in range(4) for i in range(2000))


def _write_then_die(directory: str) -> None:
    writer = SpoolWriter(directory, segment_size=4096)
    for i in range(1000):
        writer.write(f"event {i}".encode())
    os._exit(3)  # no flush, no cleanup


def test_records_survive_the_writer_dying_abruptly(tmp_path: Path):
    process = multiprocessing.get_context("spawn").Process(target=_write_then_die, args=(str(tmp_path),))
    process.start()
    process.join()
    assert process.exitcode == 3
    assert SpoolReader(tmp_path).read() == [f"event {i}".encode() for i in range(1000)]


def test_a_limited_read_takes_the_oldest_records_and_leaves_the_rest(tmp_path: Path):
    writer, reader = SpoolWriter(tmp_path, segment_size=1024), SpoolReader(tmp_path)
    payloads = [f"record {i}".encode() for i in range(300)]  # spans several segments
    for payload in payloads:
        writer.write(payload)
    taken = []
    while chunk := reader.read(limit=70):
        assert len(chunk) <= 70
        taken += chunk
    assert taken == payloads


def test_writing_to_a_closed_writer_is_an_error(tmp_path):
    writer = SpoolWriter(tmp_path / "spool")
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(b"late")


_FILL_THE_DISK = """
import errno, sys
from trainaction.spool import SpoolReader, SpoolWriter
writer = SpoolWriter(sys.argv[1], segment_size=4 << 20)  # larger than the disk it is on
written = 0
try:
    while True:
        writer.write(b"x" * 100)
        written += 1
except OSError as exc:
    print(exc.errno == errno.ENOSPC, written, len(SpoolReader(sys.argv[1]).read()))
"""


def test_a_full_disk_is_an_error_from_write_and_what_was_written_stays_readable(tmp_path: Path):
    """Records are stored into a mapping of the segment file, where a page the disk has no room for
    would kill the process with SIGBUS; the writer gets its pages by write() first, so a full disk is
    an OSError at the call instead, and the records before it are intact."""
    disk = tmp_path / "small-disk"
    disk.mkdir()
    command = shlex.join([sys.executable, "-c", _FILL_THE_DISK, str(disk / "spool")])
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=2m none {shlex.quote(str(disk))} && {command}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, (done.returncode, done.stderr)  # 135: SIGBUS, when a store hits the full disk
    full, written, read = done.stdout.split()
    assert full == "True" and int(written) > 10_000 and read == written
