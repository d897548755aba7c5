"""A plugin folder as a zip, to travel with a submitted job (stored as the job's file ``plugin.zip``)."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from .errors import PathError, PluginError

__all__ = ["MAX_PLUGIN_BYTES", "pack_plugin", "unpack_plugin"]

# A plugin is code (and maybe a small file or two); data goes through `trainaction dataset add`.
MAX_PLUGIN_BYTES = 100 * 1024 * 1024
_SKIPPED_DIRS = frozenset({"__pycache__", ".git"})


def pack_plugin(directory: Path) -> bytes:
    """A zip of the plugin folder without ``__pycache__``, ``.git`` and ``*.pyc``; refused over 100 MB."""
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise PluginError(
            f"--plugin '{directory}' is not a folder; a submitted job needs its plugin folder (with plugin.py)"
        )
    files: list[Path] = []
    total = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        for name in sorted(names):
            path = Path(folder) / name
            if name.endswith(".pyc") or not path.is_file():
                continue
            total += path.stat().st_size
            if total > MAX_PLUGIN_BYTES:
                raise PluginError(
                    f"--plugin '{directory}' holds more than {MAX_PLUGIN_BYTES // 2**20} MB of files; a submitted "
                    "plugin must be code: put data in a dataset (`trainaction dataset add`) and leave it out"
                )
            files.append(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()


def unpack_plugin(data: bytes, dest: Path) -> Path:
    """The zip ``data`` unpacked into ``dest`` (made; emptied first by the caller); returns ``dest``.
    A member that would land outside ``dest`` (``..``, an absolute path) is refused."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.namelist():
            if not (root / member).resolve().is_relative_to(root):
                raise PathError(f"the plugin zip's member '{member}' lies outside its folder; it is not unpacked")
        archive.extractall(dest)
    return dest
