"""The vangnet service: the HTTP API under `/v1` (FastAPI), storage, and the engine workers."""

from __future__ import annotations

__all__: list[str] = []
