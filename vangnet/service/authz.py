"""Who may do what: the roles table of issue 6 as ONE declarative table, checked in one place.

`TABLE` maps a resource and an action to a rule per role (and `anoniem` for nobody signed
in). `authorize(identity, resource, action, obj)` is the only check; every route, the store's
callers and the pages call it. A refusal is a `Refused` (an `ApiProblem`):

    anonymous, where nobody signed in may not        401, with `WWW-Authenticate: Bearer`
    a role that may never do this                    403
    an object of another organisation                404, worded exactly as for an id that
                                                     does not exist: it must not reveal that
                                                     the object is there

and `refusal_handler` writes every refusal to the audit log (`toegang.geweigerd`, in a
transaction of its own) before it answers. Lists are never filtered after reading: `scope`
gives the owner or decider filter the store puts in its query.

The rules per object read the organisation fields the server set when the claim was
submitted: `owner_id` (the submitting account's organisation) and `decider_id` (from the
ruleset's `deciding_body`, mapped to an organisation by `forms/organisaties.yaml`). An auditor
reads everything, pseudonymised (`vangnet.service.pseudonyms`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from vangnet import yamlfile
from vangnet.paths import FORMS_DIR
from vangnet.service.identity import Identity
from vangnet.service.models import ROLLEN
from vangnet.service.problems import ApiProblem, problem_response

__all__ = [
    "ANONIEM",
    "ORGANISATIES_FILE",
    "TABLE",
    "Grant",
    "ObjectRef",
    "Refused",
    "Rule",
    "Scope",
    "authorize",
    "decider_for",
    "refusal_event",
    "refusal_handler",
    "scope",
    "unauthenticated",
]

ANONIEM = "anoniem"  # the column of the table for nobody signed in
ORGANISATIES_FILE = FORMS_DIR / "organisaties.yaml"


class Rule(Enum):
    """What a role may do with a resource's objects."""

    ALLE = "alle"  # any object (or a resource without objects)
    EIGEN = "eigen"  # objects of the identity's own organisation (`owner_id`)
    BESLISSEND = "beslissend"  # objects its organisation decides (`decider_id`)
    GEPSEUDONIMISEERD = "gepseudonimiseerd"  # any object, read pseudonymised (auditors)
    ZELF = "zelf"  # its own (`account_id`: API tokens)
    NIET_EIGEN_CONCEPT = "niet_eigen_concept"  # any draft but one it wrote itself


A, E, B, P, Z, N = (
    Rule.ALLE,
    Rule.EIGEN,
    Rule.BESLISSEND,
    Rule.GEPSEUDONIMISEERD,
    Rule.ZELF,
    Rule.NIET_EIGEN_CONCEPT,
)
_EVERYONE = {ANONIEM: A} | dict.fromkeys(ROLLEN, A)
_SIGNED_IN = dict.fromkeys(ROLLEN, A)

# (resource, action) -> {role: rule}; a role that is not listed may never do it. The rows
# follow the table; the endpoints that use each row are named beside it.
TABLE: dict[tuple[str, str], dict[str, Rule]] = {
    # GET /openapi.json, /regelsets, /regelsets/{id}/{version}, /health
    ("openapi", "lezen"): _EVERYONE,
    ("regelsets", "lezen"): _EVERYONE,
    ("health", "lezen"): _EVERYONE,
    # drafts of rule versions (the rule-publishing commands and pages)
    ("regelset_concepten", "lezen"): {"regelbeheerder": A, "auditor": A},
    ("regelset_concepten", "opstellen"): {"regelbeheerder": A},
    ("regelset_concepten", "goedkeuren"): {"regelbeheerder": N},
    # POST /evaluaties (rate-limited per client)
    ("evaluaties", "uitvoeren"): _EVERYONE,
    ("verbetermogelijkheden", "uitvoeren"): _EVERYONE,  # POST /verbetermogelijkheden (idem)
    # /aanvragen
    ("aanvragen", "indienen"): {"aanvrager": A},  # the owner is the account's organisation
    ("aanvragen", "lezen"): {"aanvrager": E, "beoordelaar": B, "auditor": P},
    ("aanvragen", "aanvullen"): {"aanvrager": E},
    ("aanvragen", "intrekken"): {"aanvrager": E},
    ("aanvragen", "in_behandeling_nemen"): {"beoordelaar": B},
    ("aanvragen", "aanvulling_vragen"): {"beoordelaar": B},
    ("aanvragen", "verdagen"): {"beoordelaar": B},  # POST /aanvragen/{id}/verdagingen
    ("aanvragen", "aanvultermijn_verlengen"): {"beoordelaar": B},  # .../aanvullingstermijnen
    # /aanvragen/{id}/bijlagen, /bijlagen/{id}: the bytes cannot be pseudonymised, so an
    # auditor sees what the list says (soort, type, size, sha256), not the file
    ("bijlagen", "toevoegen"): {"aanvrager": E},
    ("bijlagen", "lezen"): {"aanvrager": E, "beoordelaar": B, "auditor": P},
    ("bijlagen", "downloaden"): {"aanvrager": E, "beoordelaar": B},
    # POST /aanvragen/{id}/besluit, /besluiten/{id}/correcties|beslissingen-op-bezwaar
    ("besluiten", "besluiten"): {"beoordelaar": B},
    ("besluiten", "corrigeren"): {"beoordelaar": B},
    ("besluiten", "beslissen_op_bezwaar"): {"beoordelaar": B},
    ("besluiten", "lezen"): {"aanvrager": E, "beoordelaar": B, "auditor": P},
    # GET /besluiten/{id}/brief: the letter names the applicant and is sent as it is; an
    # auditor reads the besluit (pseudonymised) and the letter's sha256, not the letter
    ("brieven", "lezen"): {"aanvrager": E, "beoordelaar": B},
    # POST /besluiten/{id}/bezwaren: the applicant lodges one, the deciding body registers one
    ("bezwaren", "indienen"): {"aanvrager": E, "beoordelaar": B},
    # the audit log (`vangnet audit`, the auditor's pages)
    ("auditlog", "lezen"): {"auditor": A},
    ("auditlog", "verifieren"): {"auditor": A},
    # /tokens: every account its own; an administrator anyone's
    ("tokens", "beheren"): dict.fromkeys(ROLLEN, Z) | {"beheerder": A},
    # /accounts, /organisaties
    ("accounts", "beheren"): {"beheerder": A},
    ("organisaties", "beheren"): {"beheerder": A},
}

# the words the 404 uses for an object, as the routes word an unknown id
_NOUNS = {"aanvraag": "aanvraag", "besluit": "besluit", "bijlage": "bijlage"}


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """What a rule needs to know of one object: its kind and id (for the 404 and the audit
    log), and the organisations and account it belongs to."""

    kind: str  # aanvraag, besluit, bijlage, token, concept, ...
    id: str
    owner_id: str | None = None
    decider_id: str | None = None
    account_id: str | None = None  # a token's account; a draft's author


@dataclass(frozen=True, slots=True)
class Grant:
    """Allowed; `pseudonymised`: show only what an auditor may see."""

    rule: Rule

    @property
    def pseudonymised(self) -> bool:
        return self.rule is Rule.GEPSEUDONIMISEERD


@dataclass(frozen=True, slots=True)
class Scope:
    """The filter a list of a resource puts in its query for one identity."""

    owner_id: str | None = None
    decider_id: str | None = None
    pseudonymised: bool = False


class Refused(ApiProblem):
    """Access refused: 401, 403 or 404, with what the audit log records."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        identity: Identity,
        resource: str,
        action: str,
        reason: str,
        obj: ObjectRef | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, detail, code=code, headers=headers)
        self.identity = identity
        self.resource = resource
        self.action = action
        self.reason = reason
        self.obj = obj


def _role(identity: Identity) -> str:
    return ANONIEM if identity.anonymous or identity.rol is None else identity.rol


def unauthenticated(
    identity: Identity, resource: str, action: str, reason: str = "niet_aangemeld"
) -> Refused:
    """401: sign in (a bearer token, or a session for the pages)."""
    detail = (
        "Uw token is ongeldig, verlopen of ingetrokken; maak een nieuw token."
        if reason == "ongeldig_token"
        else "Meld u aan: stuur een API-token als Authorization: Bearer <token>."
    )
    challenge = 'Bearer error="invalid_token"' if reason == "ongeldig_token" else "Bearer"
    return Refused(
        401,
        detail,
        identity=identity,
        resource=resource,
        action=action,
        reason=reason,
        code="niet_aangemeld",
        headers={"WWW-Authenticate": challenge},
    )


def _allowed(rule: Rule, identity: Identity, obj: ObjectRef) -> bool:
    org = identity.organisatie_id
    if rule in (Rule.ALLE, Rule.GEPSEUDONIMISEERD):
        return True
    if rule is Rule.EIGEN:
        return org is not None and obj.owner_id == org
    if rule is Rule.BESLISSEND:
        return org is not None and obj.decider_id == org
    if rule is Rule.ZELF:
        return identity.account_id is not None and obj.account_id == identity.account_id
    # NIET_EIGEN_CONCEPT
    return identity.account_id is not None and obj.account_id != identity.account_id


def authorize(
    identity: Identity, resource: str, action: str, obj: ObjectRef | None = None
) -> Grant:
    """The grant of `identity` for `action` on `resource` (on `obj`, when given); `Refused`
    otherwise. Without `obj` only the role is checked: call again with the object once it is
    found, so that an anonymous caller gets 401 and a role without the right 403 before
    anything is looked up."""
    rules = TABLE[(resource, action)]
    role = _role(identity)
    rule = rules.get(role)
    if rule is None:
        if role == ANONIEM:
            raise unauthenticated(identity, resource, action)
        raise Refused(
            403,
            f"Met de rol {role} mag u dit niet ({resource}: {action.replace('_', ' ')}).",
            identity=identity,
            resource=resource,
            action=action,
            reason="rol",
            obj=obj,
            code="geen_toegang",
        )
    if obj is not None and not _allowed(rule, identity, obj):
        if rule is Rule.NIET_EIGEN_CONCEPT:
            raise Refused(
                403,
                "U mag uw eigen concept niet goedkeuren; een andere regelbeheerder keurt het goed.",
                identity=identity,
                resource=resource,
                action=action,
                reason="eigen_concept",
                obj=obj,
                code="vier_ogen",
            )
        noun = _NOUNS.get(obj.kind, obj.kind)
        raise Refused(
            404,
            f"Er is geen {noun} {obj.id[:64]}.",
            identity=identity,
            resource=resource,
            action=action,
            reason="andere_organisatie",
            obj=obj,
        )
    return Grant(rule)


def scope(identity: Identity, resource: str) -> Scope:
    """The list filter for `identity` reading `resource` (`Refused` when it may not read
    it at all): its organisation as owner or as decider, or nothing for an auditor."""
    rule = authorize(identity, resource, "lezen").rule
    if rule is Rule.EIGEN:
        return Scope(owner_id=identity.organisatie_id)
    if rule is Rule.BESLISSEND:
        return Scope(decider_id=identity.organisatie_id)
    return Scope(pseudonymised=rule is Rule.GEPSEUDONIMISEERD)


# --- the deciding organisation of a claim ----------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    organisatie: str = Field(min_length=1, max_length=16)


class _Organisaties(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    written_on: Any
    deciding_bodies: dict[str, _Body]


APPLICANT = "aanvrager"  # in the file: the submitting organisation decides itself


@functools.cache
def _deciding_bodies(path: Path = ORGANISATIES_FILE) -> dict[str, str]:
    try:
        data = _Organisaties.model_validate(yamlfile.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"{path}: kan niet worden gelezen ({exc})") from None
    return {body: entry.organisatie for body, entry in data.deciding_bodies.items()}


def decider_for(deciding_body: str, owner_id: str | None) -> str | None:
    """The organisation whose assessors decide a claim of a ruleset with `deciding_body`,
    submitted by organisation `owner_id` (`forms/organisaties.yaml`); `ValueError` for a
    body the file does not name."""
    bodies = _deciding_bodies()
    if deciding_body not in bodies:
        raise ValueError(
            f"{ORGANISATIES_FILE}: het beslissend orgaan {deciding_body!r} staat er niet in"
        )
    organisatie = bodies[deciding_body]
    return owner_id if organisatie == APPLICANT else organisatie


# --- refusals in the audit log ----------------------------------------------------------------


def refusal_event(exc: Refused) -> Any:
    """The audit log's entry for a refusal: who, what, why; never the object's content."""
    from vangnet.service.audit import AuditEvent

    return AuditEvent(
        actor=exc.identity.actor,
        action="toegang.geweigerd",
        result="geweigerd",
        origin=exc.identity.origin,
        object_type=None if exc.obj is None else exc.obj.kind,
        object_id=None if exc.obj is None else exc.obj.id[:64],
        details={
            "bron": exc.resource,
            "handeling": exc.action,
            "reden": exc.reason,
            "status": exc.status,
        },
    )


async def refusal_handler(request: Request, exc: Exception) -> JSONResponse:
    """A `Refused` as its problem, after writing it to the audit log (its own transaction)."""
    assert isinstance(exc, Refused)  # noqa: S101 - registered for Refused only
    state = request.app.state
    await run_in_threadpool(state.audit.record, state.store.engine, refusal_event(exc))
    return problem_response(exc.status, exc.detail, code=exc.code, headers=exc.headers)
