"""``models download``: a stored model's files, checked against their sha256, into a folder of the user's.

The destination is refused rather than guessed at: a folder that already holds files (unless the
caller says ``force``), a file, a folder inside trainaction's home. The store itself (models/,
files/, the database) is never a destination, forced or not.
"""

from __future__ import annotations

import os
from pathlib import Path

from .backend import Backend
from .backend.files import copy_tree
from .errors import PathError

__all__ = ["download_model"]

_STORE_PARTS = ("models", "files")


def download_model(backend: Backend, model_id: int, dest: Path, *, home: Path, force: bool = False) -> list[str]:
    """Copy model ``model_id``'s files into ``dest``; returns their relative paths."""
    source = backend.model_path(model_id)  # refuses a model whose files changed since they were stored
    target = _destination(dest, home, force)
    try:
        return copy_tree(source, target, f"model {model_id}", replace=force)
    except OSError as exc:
        raise PathError(
            f"DEST '{dest}': cannot write '{exc.filename}': {exc.strerror}; choose a folder you can write to"
        ) from None


def _destination(dest: Path, home: Path, force: bool) -> Path:
    if str(dest) == "":
        raise PathError("DEST is empty; give the folder to download into")
    dest = dest.expanduser()
    if dest.is_symlink() and not dest.exists():
        raise PathError(f"DEST '{dest}' is a link to '{os.readlink(dest)}', which does not exist; give a folder")
    if dest.exists() and not dest.is_dir():
        raise PathError(f"DEST '{dest}' is a file, not a folder; give a new or empty folder")
    real = Path(os.path.realpath(dest))
    home = Path(os.path.realpath(home))
    if real.is_relative_to(home):
        inside = real.relative_to(home).parts
        if not inside or inside[0] in _STORE_PARTS or inside[0].startswith("trainaction.db"):
            raise PathError(f"DEST '{dest}' is part of trainaction's store in '{home}'; download outside it")
        if not force:
            raise PathError(
                f"DEST '{dest}' is inside trainaction's home folder '{home}'; download elsewhere, "
                "or pass --force to write there anyway"
            )
    if real.is_dir():
        entries = sorted(os.listdir(real))
        if entries and not force:
            shown = ", ".join(entries[:3]) + (", …" if len(entries) > 3 else "")
            raise PathError(
                f"DEST '{dest}' is not empty ({len(entries)} entries: {shown}); give a new or empty folder, "
                "or pass --force to write into it (files with the same names are replaced)"
            )
        if not os.access(real, os.W_OK | os.X_OK):
            raise PathError(f"DEST '{dest}' is not writable; choose a folder you can write to")
        return real
    if not real.parent.is_dir():
        raise PathError(f"DEST '{dest}': its parent folder '{dest.parent}' does not exist; create it first")
    try:
        real.mkdir()
    except OSError as exc:
        raise PathError(f"DEST '{dest}' cannot be created: {exc.strerror}; choose a folder you can write to") from None
    return real
