"""Files to and from the team server as streams: uploads with their sha256, a download cache.

Neither direction holds a whole file in memory. A download goes into a temporary folder beside
its place in the cache, each file checked against its sha256 as it arrives, and is renamed into
place only when complete: a half download is never used. A cached folder is checked again
(sizes and sha256) before each use, so a damaged copy is downloaded again rather than trusted.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from ..errors import StoreError
from .files import sha256_of, walk
from .http_transport import Transport

__all__ = ["cached_download", "quoted", "safe_relative", "upload_folder"]

_BLOCK = 1 << 20


def quoted(path: str) -> str:
    """A relative POSIX path for a URL: each part percent-encoded, the slashes kept."""
    return quote(path, safe="/")


def safe_relative(path: str) -> bool:
    """Whether ``path`` stays below the folder it is joined to: no '..', no absolute path, no NUL."""
    parts = PurePosixPath(path).parts
    return (
        bool(parts)
        and not path.startswith("/")
        and "\\" not in path
        and "\0" not in path
        and all(part not in ("", ".", "..") for part in parts)
    )


def upload_folder(transport: Transport, source: Path, what: str) -> tuple[str, list[dict[str, Any]]]:
    """Upload the files of ``source`` (a folder or one file) to a new upload; its id and the manifest."""
    real = dict(walk(source, what))
    # Each file's sha256 first: the server checks it as the file arrives.
    files: list[dict[str, Any]] = [
        {"path": name, "size": os.stat(path).st_size, "sha256": sha256_of(path)} for name, path in real.items()
    ]
    upload_id = transport.json("POST", "/uploads")["upload_id"]
    for entry in files:
        path = real[str(entry["path"])]
        transport.request(
            "PUT",
            f"/uploads/{upload_id}/files/{quoted(str(entry['path']))}",
            headers={"X-Content-SHA256": entry["sha256"], "Content-Length": str(entry["size"])},
            content_factory=lambda path=path: _chunks(path),
        )
    return upload_id, files


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        yield from iter(lambda: handle.read(_BLOCK), b"")


def cached_download(
    transport: Transport, target: Path, files: list[dict[str, Any]], url_prefix: str, what: str
) -> Path:
    """``target`` holding ``files`` (each ``{"path","size","sha256"?}``), downloaded from
    ``url_prefix/<path>`` unless an intact copy is there already."""
    for entry in files:
        if not safe_relative(str(entry["path"])):
            raise StoreError(f"{what} lists the file '{entry['path']}', a path outside its folder; not downloaded")
    if _intact(target, files):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.parent / f".{target.name}.part-{uuid.uuid4().hex}"
    try:
        for entry in files:
            transport.call(functools.partial(_download, transport, partial, entry, url_prefix, what))
        _place(partial, target, files)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


def _download(transport: Transport, folder: Path, entry: dict[str, Any], url_prefix: str, what: str) -> None:
    name = str(entry["path"])
    destination = folder / name
    destination.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with transport.client.stream("GET", f"{url_prefix}/{quoted(name)}") as response:
        transport.check(response)
        with open(destination, "wb") as handle:
            for block in response.iter_bytes(_BLOCK):
                digest.update(block)
                handle.write(block)
        expected = entry.get("sha256") or response.headers.get("X-Content-SHA256")
    if expected and digest.hexdigest() != expected:
        raise StoreError(
            f"{what}'s file '{name}' arrived damaged from {transport.url} (sha256 {digest.hexdigest()}, "
            f"expected {expected}); nothing was kept — try again"
        )


def _place(partial: Path, target: Path, files: list[dict[str, Any]]) -> None:
    """Rename the complete download into place; a damaged or partial copy there goes first."""
    if not partial.exists():
        partial.mkdir(parents=True)  # a record without files: an empty folder
    if target.exists() or target.is_symlink():
        stale = target.parent / f".{target.name}.stale-{uuid.uuid4().hex}"
        try:
            os.rename(target, stale)
        except FileNotFoundError:
            pass
        shutil.rmtree(stale, ignore_errors=True)
    try:
        os.rename(partial, target)
    except OSError:
        # Another process placed its copy meanwhile: use it when it is whole.
        if not _intact(target, files):
            raise


def _intact(target: Path, files: list[dict[str, Any]]) -> bool:
    """Whether ``target`` holds exactly ``files``, with their sizes and (where known) sha256."""
    if not target.is_dir() or target.is_symlink():
        return False
    present = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file() or p.is_symlink()}
    if present != {str(entry["path"]) for entry in files}:
        return False
    for entry in files:
        path = target / str(entry["path"])
        if path.is_symlink() or path.stat().st_size != entry.get("size", path.stat().st_size):
            return False
        if entry.get("sha256") and sha256_of(path) != entry["sha256"]:
            return False
    return True
