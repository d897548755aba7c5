"""Every dashboard file ships in the wheel: pyproject's package-data patterns cover the static folder."""

from __future__ import annotations

import tomllib

from conftest import REPO


def test_package_data_covers_every_static_file():
    package = REPO / "src" / "trainaction"
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["trainaction"]
    shipped = {path for pattern in patterns for path in package.glob(pattern) if path.is_file()}
    static = {
        path
        for path in (package / "server" / "static").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert static, "no static files found"
    assert sorted(map(str, static - shipped)) == []
