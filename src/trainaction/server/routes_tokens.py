"""The token routes (stand-in: the full module replaces it)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter()
