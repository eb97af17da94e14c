"""Small helpers the route modules share: JSON responses with exact money, request bodies
declared in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from vangnet.jsonout import dumps

__all__ = ["json_body", "json_response"]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """`body` as JSON (Decimals as exact numbers) with `status` and `headers`."""
    return Response(dumps(body), status_code=status, media_type="application/json", headers=headers)


def json_body(schema: str, *, required: bool = True) -> dict[str, Any]:
    """`openapi_extra` declaring a JSON request body of the component `schema`."""
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": ref}}}}
