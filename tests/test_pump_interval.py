"""The pump's cadence: every 0.05 s into the embedded database, every 0.25 s to a server (a request
and a server transaction per batch, on the cores the training loop runs on)."""

from __future__ import annotations

from pathlib import Path

from trainaction.backend import LocalBackend
from trainaction.backend.http import HttpBackend
from trainaction.pump import batch_interval


def test_batches_go_less_often_to_a_server(home: Path, tmp_path: Path) -> None:
    assert batch_interval(LocalBackend(home)) == 0.05
    client = HttpBackend("http://127.0.0.1:9", "ta_unused", cache_dir=tmp_path / "cache", retry_s=0)
    try:
        assert batch_interval(client) == 0.25
    finally:
        client.close()
