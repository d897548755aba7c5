"""How times, durations and deletions read in the terminal (JSON answers carry ISO-8601 UTC instead)."""

from __future__ import annotations

import time

import typer

from ..backend import Deletion
from ..terminal import printable
from .common import err, out, print_json

__all__ = ["duration", "local_time", "report_deletion"]


def local_time(seconds: float | None) -> str:
    """Epoch seconds as the machine's local time to the minute; '' when unknown."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds)) if seconds else ""


def duration(start: float | None, end: float | None) -> str:
    """``1h 02m``, ``3m 04s``, ``12s``; up to now while ``end`` is unknown; '' before ``start``."""
    if not start:
        return ""
    seconds = max(0, round((end or time.time()) - start))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value = size / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def report_deletion(deletion: Deletion, as_json: bool, yes_flag: str = "--yes") -> None:
    """Print what was deleted; for a dry run, what would be and how to confirm it (exit status 2)."""
    if as_json:
        print_json(deletion.to_dict())
    else:
        console = out if deletion.deleted else err
        verb = "deleted" if deletion.deleted else "would delete"
        console.print(f"{verb}: {printable(', '.join(deletion.records))}", markup=False, highlight=False)
        if deletion.folders:
            freed = "freed" if deletion.deleted else "would free"
            console.print(
                f"{freed} {_size(deletion.size)} in: {printable(', '.join(deletion.folders))}",
                markup=False,
                highlight=False,
            )
        if deletion.kind == "dataset":
            console.print("the dataset's folder is yours (registered in place) and stays", highlight=False)
    if not deletion.deleted:
        err.print(f"nothing deleted; add {yes_flag} to delete it", markup=False, highlight=False)
        raise typer.Exit(2)
