"""The letter of a besluit: its context made in an engine worker, its formats in a thread.

A letter needs the evaluation behind the advice (the calculation, the ruleset, the engine's
trace), and only the engine workers may run the engine. So the worker evaluates the stored
claim again under the advice's ruleset version, checks that this gives the stored advice
exactly (apart from the receipt's time and software), and builds the letter context from the
*stored* advice with the assessor's decision (`vangnet.letters.letter_context`). The context is
plain JSON: it is stored with the besluit, so that the HTML and DOCX shown later say exactly
what the stored PDF says. The PDF is rendered once (about half a second) in a thread, never in
the event loop, and stored with its sha256.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool

from vangnet.claim import decode_json
from vangnet.decision import Decision
from vangnet.exceptions import ClaimError, EngineFailure, LetterError, NoRulesetError
from vangnet.letters import AssessorDecision, LetterFormat, letter_context, render_context
from vangnet.service.problems import ApiProblem
from vangnet.workers import EngineWorkers

__all__ = ["context_in_worker", "letter_date", "make_context", "render"]

# letters are dated in the deciding body's time zone
_TZ = ZoneInfo("Europe/Amsterdam")
_VOLATILE = {"receipt": {"engine", "evaluated_at"}}


def letter_date(moment: datetime) -> date:
    """The date of a letter decided at `moment` (a UTC timestamp), in the Netherlands."""
    return moment.astimezone(_TZ).date()


def context_in_worker(
    claim_json: bytes,
    decision_json: bytes,
    assessor: dict[str, Any],
    day: str,
    concept: bool = False,
) -> tuple[str, Any]:
    """Run in an engine worker: ("context", the letter context) or ("failure", message) or
    ("engine_failure", message). `concept`: the letter is marked as a concept."""
    from vangnet import workers  # the worker's own Decider, made by its initializer

    decider = workers.current_decider()
    try:
        stored = Decision.model_validate(decode_json(decision_json))
        claim = decider.validate(decode_json(claim_json))
        evaluation = decider.evaluate(claim, stored.ruleset.id, stored.ruleset.version)
        if evaluation.decision.model_dump(exclude=_VOLATILE) != stored.model_dump(
            exclude=_VOLATILE
        ):
            return "failure", (
                "het opgeslagen advies is niet meer precies te herhalen; de brief is niet gemaakt"
            )
        replaces = assessor.get("replaces")
        received = assessor.get("objection_received")
        decided = AssessorDecision(
            kind=assessor["kind"],
            outcome=assessor["outcome"],
            amount_eur=assessor["amount_eur"],
            motivation=assessor["motivation"],
            number=assessor["number"],
            replaces=None if replaces is None else (replaces[0], date.fromisoformat(replaces[1])),
            objection_received=None if received is None else date.fromisoformat(received),
        )
        context = letter_context(
            dataclasses.replace(evaluation, decision=stored),
            concept=concept,
            letter_date=date.fromisoformat(day),
            assessor=decided,
        )
    except EngineFailure as exc:
        return "engine_failure", str(exc)
    except (LetterError, ClaimError, NoRulesetError) as exc:
        return "failure", str(exc)
    return "context", context


async def make_context(
    workers: EngineWorkers,
    claim_json: bytes,
    decision_json: bytes,
    assessor: dict[str, Any],
    day: date,
    *,
    concept: bool = False,
) -> bytes:
    """The letter context as JSON bytes, made in an engine worker: 503 when the engine fails,
    500 when no letter can be made. `concept`: the letter of a besluit that is not taken
    (a preview), marked CONCEPT as `vangnet.letters` marks every letter that is no decision."""
    try:
        kind, result = await run_in_threadpool(
            workers.run,
            context_in_worker,
            claim_json,
            decision_json,
            assessor,
            day.isoformat(),
            concept,
        )
    except EngineFailure as exc:
        raise ApiProblem(503, str(exc), code="regelengine_uitgevallen") from None
    if kind == "engine_failure":
        raise ApiProblem(503, str(result), code="regelengine_uitgevallen")
    if kind != "context":
        raise ApiProblem(500, f"De brief kon niet worden gemaakt: {result}", code="brief_mislukt")
    return json.dumps(result, ensure_ascii=False, sort_keys=True).encode("utf-8")


async def render(context_json: bytes, fmt: LetterFormat) -> bytes:
    """The letter from its stored context, in a thread (a PDF takes about half a second)."""
    context = cast(dict[str, Any], json.loads(context_json))
    try:
        return await run_in_threadpool(render_context, context, fmt)
    except LetterError as exc:
        raise ApiProblem(
            500, f"De brief kon niet worden gemaakt: {exc}", code="brief_mislukt"
        ) from None
