"""The exception tree drawn in ``trainaction.errors`` is the true one, and the CLI's exit statuses follow it."""

from __future__ import annotations

import ast
import builtins
import inspect
import re
from pathlib import Path

import pytest

import trainaction
from trainaction import errors
from trainaction.cli import EXIT_STATUS, exit_status

SRC = Path(errors.__file__).parent

# An entry starts at the tree's left edge or right after a branch; continuation lines are indented further.
_ENTRY = re.compile(r"^    (?:[├└]── )?(\w+)")


def _tree() -> list[tuple[str, str | None, int | None]]:
    """(class name, parent drawn in the tree, exit status written beside it) for every entry."""
    text = (errors.__doc__ or "").split("::", 1)[1]
    entries: list[tuple[str, str | None, list[str]]] = []
    root: str | None = None
    for line in text.splitlines():
        match = _ENTRY.match(line)
        if match:
            name = match.group(1)
            parent = root if line.startswith("    ├") or line.startswith("    └") else None
            root = name if parent is None else root
            entries.append((name, parent, [line]))
        elif entries and line.strip():
            entries[-1][2].append(line)
    result = []
    for name, parent, lines in entries:
        statuses = re.findall(r"\(exit status (\d+)\)", " ".join(lines))
        result.append((name, parent, int(statuses[-1]) if statuses else None))
    return result


def _class(name: str) -> type[BaseException]:
    cls = getattr(errors, name, None) or getattr(builtins, name)
    assert isinstance(cls, type) and issubclass(cls, BaseException), name
    return cls


def _defined_in_errors() -> set[str]:
    return {
        name
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == errors.__name__
    }


def test_every_exception_class_in_errors_is_drawn_in_the_tree() -> None:
    drawn = {name for name, _, _ in _tree()}
    assert _defined_in_errors() - drawn == set()


def test_every_class_in_the_tree_exists_under_the_parent_drawn() -> None:
    tree = _tree()
    assert len(tree) == len({name for name, _, _ in tree}), "a class is drawn twice"
    for name, parent, _ in tree:
        cls = _class(name)
        if parent is not None:
            assert cls.__bases__ == (_class(parent),), (
                f"{name} is drawn under {parent}, but derives from {cls.__bases__}"
            )
        else:
            assert name == "TrainActionError" or name in dir(builtins), f"{name} is drawn as a root"


def test_every_drawn_class_is_raised_or_is_a_root() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*.py") if p.name != "errors.py")
    for name, parent, _ in _tree():
        if parent is not None:
            assert re.search(rf"raise {name}\b", source), f"{name} is drawn in the tree but never raised"


def test_the_exit_status_drawn_is_the_one_the_cli_gives() -> None:
    for name, parent, status in _tree():
        if parent is None and name in dir(builtins):
            continue  # a built-in root (KeyboardInterrupt) is drawn only to place its subclass
        assert status is not None, f"{name} has no exit status in the tree"
        cls = _class(name)
        assert exit_status(cls.__new__(cls)) == status, name


def test_no_exception_class_is_defined_outside_errors() -> None:
    exception_names = _defined_in_errors() | {
        n for n in dir(builtins) if n.endswith(("Error", "Exception", "Interrupt"))
    }
    elsewhere = []
    for path in SRC.rglob("*.py"):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(base).split(".")[-1] for base in node.bases}
                if bases & exception_names:
                    elsewhere.append(f"{path.relative_to(SRC)}: {node.name}")
    assert elsewhere == []


def test_public_exceptions_import_from_the_package() -> None:
    for name in ("JobStopped", "ValidationError", "DatabaseLockedError", "TrainActionError"):
        assert getattr(trainaction, name) is getattr(errors, name)


class _Narrower(errors.PathError):
    """No entry of its own: takes its nearest ancestor's status."""


class _Both(errors.DatabaseLockedError, errors.StoreError):
    """Two entries along the MRO: the first one met wins."""


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (errors.ValidationError([]), 2),  # its own entry, not TrainActionError's 1 (which comes first in the table)
        (errors.JobStopped(7), 130),
        (errors.DatabaseLockedError("locked"), 1),
        (errors.MetricNotReported("no metric"), 1),  # no entry: TrainActionError's
        (errors.Interrupted({}), 130),  # a KeyboardInterrupt
        (_Narrower("a path"), 2),
        (_Both("locked"), 1),
        (RuntimeError("not ours"), 1),
    ],
)
def test_exit_status_is_the_most_specific_class_entry(exc: BaseException, status: int) -> None:
    assert exit_status(exc) == status


def test_exit_status_table_is_keyed_by_classes_of_the_tree() -> None:
    drawn = {name for name, _, _ in _tree()}
    assert {cls.__name__ for cls in EXIT_STATUS} <= drawn
