"""Reading request bodies with a size limit, before anything parses them."""

from __future__ import annotations

from fastapi import Request

from vangnet.service.problems import ApiProblem

__all__ = ["MAX_JSON", "read_body"]

MAX_JSON = 1024 * 1024  # 1 MiB


async def read_body(request: Request, limit: int = MAX_JSON) -> bytes:
    """The body, or 413 when it is larger than `limit` (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiProblem(413, f"Het verzoek is groter dan {limit // 1024} KiB.")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiProblem(413, f"Het verzoek is groter dan {limit // 1024} KiB.")
        chunks.append(chunk)
    return b"".join(chunks)
