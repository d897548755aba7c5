"""The one check of a file path that comes from a request."""

from __future__ import annotations

from pathlib import Path

from fastapi import HTTPException

__all__ = ["safe_join"]


def safe_join(root: Path, relative: str) -> Path:
    """``root / relative``, refused (HTTP 400) unless it names a place inside ``root``.

    Checked on the text first (``..``, absolute, NUL, backslash, empty parts), then again after
    resolving symlinks: a link inside the root that points out of it is refused too."""
    problem = _problem(relative)
    base = root.resolve()
    if not problem:
        target = (base / relative).resolve()
        if target == base or not target.is_relative_to(base):
            problem = "it leads outside"
    if problem:
        raise HTTPException(400, f"{relative!r} is not a path inside {root.name or root}: {problem}")
    return base / relative


def _problem(relative: str) -> str:
    if not relative:
        return "it is empty"
    if "\0" in relative:
        return "it holds a NUL character"
    if "\\" in relative:
        return "it holds a backslash; separate folders with '/'"
    if relative.startswith("/"):
        return "it is absolute; give a path relative to the folder"
    parts = relative.split("/")
    if any(part == "" for part in parts):
        return "it has an empty part ('//' or a trailing '/')"
    if any(part in (".", "..") for part in parts):
        return "it has a '.' or '..' part"
    return ""
