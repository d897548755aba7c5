"""Tuning on an existing Ray cluster through the Ray Jobs API."""

from __future__ import annotations

__all__: list[str] = []
