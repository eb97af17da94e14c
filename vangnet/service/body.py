"""Reading request bodies with a size limit, before anything parses them; then as JSON, or
as an inbound model with every problem listed."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from vangnet.claim import decode_json
from vangnet.exceptions import ClaimError, Problem
from vangnet.service.problems import ApiProblem

__all__ = ["MAX_JSON", "media_type", "read_body", "read_json", "read_model", "validation_problems"]

M = TypeVar("M", bound=BaseModel)

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


def media_type(request: Request) -> str:
    """The request's media type, without parameters; JSON when none is given."""
    return request.headers.get("content-type", "application/json").split(";")[0].strip().lower()


async def read_json(request: Request, *, optional: bool = False) -> Any:
    """The JSON body, decoded with exact decimals: 413 beyond the limit, 415 unless it is
    `application/json`, 400 naming where it is broken. An absent body is None when `optional`."""
    body = await read_body(request)
    if optional and not body.strip():
        return None
    if media_type(request) != "application/json":
        raise ApiProblem(415, "Stuur de inhoud als application/json.")
    try:
        return decode_json(body)
    except ClaimError as exc:
        problems = [
            Problem("(verzoek)" if p.field == "(aanvraag)" else p.field, p.value, p.message)
            for p in exc.problems
        ]
        text = "De inhoud is geen geldige JSON."
        raise ApiProblem(400, text, code="ongeldig_verzoek", problems=problems) from None


# Dutch texts for problems with a request body that is not a claim
_MESSAGES = {
    "missing": "is verplicht maar ontbreekt",
    "extra_forbidden": "is geen veld van dit verzoek; verwijder dit veld",
    "model_type": "moet een object zijn (tussen accolades {{ }})",
    "dict_type": "moet een object zijn (tussen accolades {{ }})",
    "string_type": "moet tekst zijn",
    "string_too_long": "mag hoogstens {max_length} tekens bevatten",
    "string_too_short": "mag niet leeg zijn",
    "literal_error": "moet een van deze waarden zijn: {expected}",
    "string_pattern_mismatch": "heeft niet de juiste vorm ({pattern})",
    "list_type": "moet een lijst zijn",
    "too_long": "mag hoogstens {max_length} elementen hebben",
}


def validation_problems(exc: ValidationError) -> list[Problem]:
    """A request body's validation errors as problems with Dutch texts: vangnet's own
    errors (money, dates; `vangnet.claim`) carry their message, which says what is valid."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in error["loc"]) or "(verzoek)"
        known = _MESSAGES.get(error["type"])
        text = (
            error["msg"]
            if known is None and error["type"].startswith(("money", "date"))
            else (known or "heeft een ongeldige waarde")
        )
        shown = None if error["type"] == "missing" else str(error.get("input"))[:80]
        ctx = dict(error.get("ctx") or {})
        if isinstance(ctx.get("expected"), str):  # pydantic's "'a', 'b' or 'c'", in Dutch
            ctx["expected"] = ctx["expected"].replace("' or '", "' of '")
        problems.append(Problem(loc, shown, text.format(**ctx)))
    return problems


async def read_model(request: Request, model: type[M]) -> M:
    """The body as `model`, an absent body as `{}`; 400 listing every problem (see
    `read_json` for the rest)."""
    data = await read_json(request, optional=True)
    try:
        return model.model_validate({} if data is None else data)
    except ValidationError as exc:
        problems = validation_problems(exc)
        count = len(problems)
        text = f"Het verzoek is ongeldig: {count} {'probleem' if count == 1 else 'problemen'}."
        raise ApiProblem(400, text, code="ongeldig_verzoek", problems=problems) from None
