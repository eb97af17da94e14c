"""What an auditor sees: claims, besluiten and their advice, pseudonymised.

An auditor checks the record, not the people in it. So before a claim or a besluit goes to an
auditor (`authz.Rule.GEPSEUDONIMISEERD`):
- the office-holder's pseudonym (`office_holder.reference`) and, for an office-holder who
  applies himself (`applicant.type: ambtsdrager`), the applicant's name are replaced by a
  keyed hash (HMAC-SHA256): the same person gives the same value everywhere, so an auditor
  can follow one person's claims, but the value cannot be traced back without the key;
- free text written by people is hidden: the measures' descriptions (in the claim and in the
  advice's lines), the triggers' motivation, the reasons in the history, a besluit's
  motivation.
Amounts, dates, statuses, outcomes, rule findings and hashes stay: they are what an audit
checks. The shape stays the same (hidden text becomes `(verborgen)` where the schema needs
text, `null` where it allows it), so the published schemas hold for auditors too.

The key: VANGNET_PSEUDONYM_KEY (`Settings.pseudonym_key`, required in production); outside
production, when it is not set, the development secret `pseudoniem` (`Settings.secret`). It
never lives in the database.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
from typing import Any

from vangnet.service.settings import Settings

__all__ = ["HIDDEN", "Pseudonymiser", "pseudonym_key"]

HIDDEN = "(verborgen)"
_PREFIX = "PS-"


def pseudonym_key(settings: Settings) -> bytes:
    """The key of the keyed hashes (see the module's docstring)."""
    if settings.pseudonym_key:
        return settings.pseudonym_key.encode("utf-8")
    return settings.secret("pseudoniem")


class Pseudonymiser:
    """Pseudonymises representations for an auditor; never changes what it is given."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def name(self, value: str) -> str:
        """`value` as a keyed hash: `PS-` and 16 hexadecimal digits."""
        digest = hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()
        return _PREFIX + digest[:16]

    def claim(self, claim: dict[str, Any]) -> dict[str, Any]:
        """A claim (as stored, decoded) with its people hashed and its free text hidden."""
        out = copy.deepcopy(claim)
        holder = out.get("office_holder")
        if isinstance(holder, dict) and isinstance(holder.get("reference"), str):
            holder["reference"] = self.name(holder["reference"])
        applicant = out.get("applicant")
        if (
            isinstance(applicant, dict)
            and applicant.get("type") == "ambtsdrager"
            and isinstance(applicant.get("name"), str)
        ):
            applicant["name"] = self.name(applicant["name"])
        for measure in out.get("measures") or []:
            if isinstance(measure, dict) and "description" in measure:
                measure["description"] = HIDDEN
        triggers = out.get("triggers")
        if isinstance(triggers, dict) and triggers.get("motivation"):
            triggers["motivation"] = HIDDEN
        return out

    @staticmethod
    def decision(decision: dict[str, Any]) -> dict[str, Any]:
        """The engine's advice with the measures' descriptions hidden."""
        out = copy.deepcopy(decision)
        for line in out.get("lines") or []:
            if isinstance(line, dict) and "description" in line:
                line["description"] = HIDDEN
        return out

    def aanvraag(self, body: dict[str, Any]) -> dict[str, Any]:
        """A claim's representation (`Store.get`) for an auditor."""
        return {
            **body,
            "claim": self.claim(body["claim"]),
            "advices": [{**a, "decision": self.decision(a["decision"])} for a in body["advices"]],
            "history": [{**h, "reason": None} for h in body["history"]],
        }

    def besluit(self, body: dict[str, Any]) -> dict[str, Any]:
        """A besluit's envelope (`Store.besluit`) for an auditor."""
        advice = body["advice"]
        return {
            **body,
            "motivation": None,
            "advice": {**advice, "decision": self.decision(advice["decision"])},
        }
