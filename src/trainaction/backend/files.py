"""Folders of files going into and out of the store: walked safely, hashed, copied privately, verified.

A walk follows symbolic links (datasets and model outputs often link to files kept elsewhere) but
refuses a link it could follow forever: a loop, or a link to a folder that contains it. Without that
check a copy of such a folder runs until the disk is full.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
import stat
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import PathError, StoreError

__all__ = ["copy_file", "copy_tree", "file_list", "manifest_sha256", "verify_files", "walk"]

# Linux's FICLONE ioctl: the new file shares the old one's blocks until either is written
# (copy-on-write). Only btrfs, XFS and a few others support it; ext4 answers EOPNOTSUPP.
_FICLONE = 0x40049409
# Errors that mean "this way of copying is not available here", not "the copy failed".
_UNSUPPORTED = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EBADF, errno.ETXTBSY}


def walk(root: Path, what: str) -> list[tuple[str, Path]]:
    """Every file under ``root`` as (relative POSIX path, path to read), sorted; empty folders are not listed.

    ``what`` starts each error message, e.g. "model files '/x'" or "dataset folder '/y'".
    """
    root_real = Path(_checked_target(root, root.name or str(root), what, is_link=root.is_symlink()))
    if not root_real.is_dir():
        return [(root.name, root_real)] if root_real.is_file() else []
    found: list[tuple[str, Path]] = []
    _visit(root_real, root_real, PurePosixPath(), frozenset({root_real}), what, found)
    return found


def _visit(
    root_real: Path,
    folder: Path,
    rel: PurePosixPath,
    ancestors: frozenset[Path],
    what: str,
    found: list[tuple[str, Path]],
) -> None:
    with os.scandir(folder) as entries:
        ordered = sorted(entries, key=lambda entry: entry.name)
    for entry in ordered:
        name = (rel / entry.name).as_posix()
        real = Path(_checked_target(Path(entry.path), name, what, is_link=entry.is_symlink()))
        mode = os.stat(real).st_mode
        if stat.S_ISDIR(mode):
            if real in ancestors or root_real.is_relative_to(real):
                raise PathError(
                    f"{what}: the link '{name}' points to '{real}', a folder that contains the link, so copying "
                    "it would never end; remove the link or replace it by the files it should show"
                )
            _visit(root_real, real, rel / entry.name, ancestors | {real}, what, found)
        elif stat.S_ISREG(mode):
            found.append((name, real))
        else:
            # A FIFO or a device would block or never end when read.
            raise PathError(f"{what}: '{name}' is not a regular file or folder; remove it")


def _checked_target(path: Path, name: str, what: str, *, is_link: bool) -> str:
    """The real path behind ``path``, or a PathError naming the link that cannot be followed."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise PathError(f"{what}: '{name}' is a symlink loop; remove the link or point it at real files") from None
        if is_link and exc.errno == errno.ENOENT:
            raise PathError(
                f"{what}: the link '{name}' points to '{os.readlink(path)}', which does not exist; "
                "remove the link or restore its target"
            ) from None
        raise PathError(f"{what}: cannot read '{name}': {exc.strerror}") from None
    return os.path.realpath(path)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_list(root: Path, what: str) -> list[dict[str, Any]]:
    """The manifest of a folder as stored in a model record: path, size and sha256 of each file."""
    return [{"path": name, "size": os.stat(real).st_size, "sha256": sha256_of(real)} for name, real in walk(root, what)]


def manifest_sha256(files: list[dict[str, Any]]) -> str:
    """One digest for a model folder: identical folders hash identically, whatever their mtimes."""
    digest = hashlib.sha256()
    for entry in files:
        digest.update(f"{entry['path']}\0{entry['sha256']}\n".encode())
    return digest.hexdigest()


def verify_files(folder: Path, files: list[dict[str, Any]], what: str) -> None:
    """Refuse ``folder`` unless it holds exactly ``files`` with their stored sha256, naming the first difference."""
    if not folder.is_dir():
        raise StoreError(
            f"{what}'s folder '{folder}' is missing; the stored model is lost (restore the folder from a backup)"
        )
    expected = {entry["path"]: entry["sha256"] for entry in files}
    present = {name: real for name, real in walk(folder, f"{what}'s folder '{folder}'")}
    fix = "the stored model is damaged; restore the file from a backup or store the model again"
    for name, sha256 in expected.items():
        if name not in present:
            raise StoreError(f"{what}'s file '{name}' is missing since it was stored; {fix}")
        found = sha256_of(present[name])
        if found != sha256:
            raise StoreError(
                f"{what}'s file '{name}' changed since it was stored (sha256 {sha256} expected, {found} found); {fix}"
            )
    for name in present.keys() - expected.keys():
        raise StoreError(f"{what} has a file '{name}' that was not stored with it; {fix}")


def copy_file(source: Path, target: Path) -> None:
    """Copy one file's content to a new file ``target`` (never through an existing one or its link).

    Cheapest first: a reflink (shares blocks, copy-on-write), else ``copy_file_range`` (the kernel
    copies; no round trip through Python), else a plain read/write loop. Never a hard link: a
    hard link shares the content, and a plugin running as root writes through any file mode.
    """
    with open(source, "rb") as reader, open(target, "xb") as writer:
        try:
            fcntl.ioctl(writer.fileno(), _FICLONE, reader.fileno())
            return
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:
                raise
        remaining = os.fstat(reader.fileno()).st_size
        try:
            while remaining > 0:
                copied = os.copy_file_range(reader.fileno(), writer.fileno(), min(remaining, 1 << 30))
                if copied == 0:
                    break
                remaining -= copied
            return
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:
                raise
        reader.seek(0)
        writer.seek(0)
        writer.truncate()
        shutil.copyfileobj(reader, writer, 1 << 20)


def copy_tree(source: Path, target: Path, what: str, *, replace: bool = False) -> list[str]:
    """Copy the files under ``source`` into the folder ``target`` (created); returns their relative paths.

    ``replace``: a file of the same name already in ``target`` is replaced (removed first, so a
    link there is never written through); otherwise an existing name is an error.
    """
    entries = walk(source, what)
    target.mkdir(parents=True, exist_ok=True)
    for name, real in entries:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if replace and (destination.is_symlink() or destination.is_file()):
            destination.unlink()
        copy_file(real, destination)
        shutil.copymode(real, destination)
    return [name for name, _ in entries]
