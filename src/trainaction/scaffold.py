"""``trainaction init DIR``: a working starter plugin to edit."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["write_starter_plugin"]

_FILES = ("plugin.py", "plugin.yaml", "job.json", "tune_job.json")


def write_starter_plugin(directory: Path) -> list[Path]:
    """Write plugin.py, plugin.yaml, job.json and tune_job.json into ``directory``; never overwrite a file."""
    targets = [directory / name for name in _FILES]
    existing = [str(t) for t in targets if t.exists()]
    if existing:
        raise FileExistsError(f"not overwriting {', '.join(existing)}; choose an empty directory")
    directory.mkdir(parents=True, exist_ok=True)
    templates = resources.files("trainaction") / "templates"
    for target in targets:
        target.write_text((templates / target.name).read_text(encoding="utf-8"), encoding="utf-8")
    return targets
