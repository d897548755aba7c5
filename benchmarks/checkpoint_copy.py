"""What it costs to hand a plugin a private copy of a stored model, for a 1 GB model.

Compares the ways of making the checkpoint folder a job gets: a hard link (free, but shares the
content: a plugin writes straight into the stored model), a reflink (copy-on-write; needs btrfs,
XFS...), ``copy_file`` as trainaction uses it (reflink, else copy_file_range), shutil.copyfile
(sendfile), a plain read/write loop; and the sha256 check of the stored files that precedes it.
Then the dataset phase's whole path: the store's check plus the private copy.

Run from the repository root: .venv/bin/python -m benchmarks.checkpoint_copy [--size-mb 1024] [--repeats 3] [--dir PATH]
(as a module: benchmarks/logging.py would shadow the standard library as a script. --dir: a folder on the filesystem to measure; the default is the system's temporary folder).
Figures are with the source in the page cache, as it is right after a model is stored.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from trainaction.backend import LocalBackend
from trainaction.backend.files import copy_file, copy_tree, sha256_of

_FICLONE = 0x40049409


def _reflink(source: Path, target: Path) -> None:
    with open(source, "rb") as reader, open(target, "xb") as writer:
        fcntl.ioctl(writer.fileno(), _FICLONE, reader.fileno())


def _read_write(source: Path, target: Path) -> None:
    with open(source, "rb") as reader, open(target, "xb") as writer:
        shutil.copyfileobj(reader, writer, 1 << 20)


def _timed(action: Callable[[], object], cleanup: Callable[[], None], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
        cleanup()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        root = Path(scratch)
        model = root / "model"
        model.mkdir()
        source = model / "weights.bin"
        with open(source, "wb") as handle:
            for _ in range(args.size_mb):
                handle.write(os.urandom(1 << 20))
        target = root / "copy.bin"

        def remove_target() -> None:
            target.unlink(missing_ok=True)

        rows: list[tuple[str, str]] = []
        candidates: list[tuple[str, Callable[[], object]]] = [
            ("hard link (shares content: rejected)", lambda: os.link(source, target)),
            ("reflink (FICLONE)", lambda: _reflink(source, target)),
            ("copy_file (trainaction: reflink, else copy_file_range)", lambda: copy_file(source, target)),
            ("shutil.copyfile (sendfile)", lambda: shutil.copyfile(source, target)),
            ("read/write loop, 1 MiB blocks", lambda: _read_write(source, target)),
            ("sha256 of the stored file (the store's check)", lambda: sha256_of(source)),
        ]
        for label, action in candidates:
            try:
                times = _timed(action, remove_target, args.repeats)
            except OSError as exc:
                remove_target()
                if exc.errno not in (errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY):
                    raise
                rows.append((label, f"not supported here ({os.strerror(exc.errno)})"))
                continue
            rows.append((label, f"{statistics.median(times):.4f} s (runs {', '.join(f'{t:.4f}' for t in times)})"))

        backend = LocalBackend(root / "home")
        stored = backend.add_model("bench", model)
        private = root / "checkpoint"

        def dataset_phase() -> None:
            copy_tree(backend.model_path(stored.id), private, "bench")

        times = _timed(dataset_phase, lambda: shutil.rmtree(private), args.repeats)
        rows.append(
            (
                "dataset phase: check + private copy",
                f"{statistics.median(times):.4f} s (runs {', '.join(f'{t:.4f}' for t in times)})",
            )
        )

    print(f"{args.size_mb} MiB model, median of {args.repeats}, filesystem under {args.dir or tempfile.gettempdir()}")
    for label, figure in rows:
        print(f"| {label} | {figure} |")


if __name__ == "__main__":
    main()
