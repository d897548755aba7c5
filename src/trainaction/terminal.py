"""Text from users and plugins, made safe to print on a terminal.

A job, dataset, model or trial name may hold control characters (ESC starts a terminal escape
sequence, CR rewrites the line). Tables and plain lines show them escaped, as Python writes them
(``\\x1b``, ``\\r``); JSON output is left exact, since JSON escapes them itself.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["printable"]

# C0 controls, DEL and C1 controls; tab and newline too: a name never spans lines or columns.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def printable(value: Any) -> str:
    """``str(value)`` with every control character escaped."""
    text = str(value)
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)
