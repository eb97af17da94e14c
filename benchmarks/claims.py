"""Distinct, seeded benchmark claims: 30 lines each, every scheme's kind of content."""

from __future__ import annotations

import random
from typing import Any

from vangnet.catalogue import load_catalogues


def make_claims(n: int, lines: int = 30, seed: int = 2016) -> list[dict[str, Any]]:
    """`n` distinct vangnet claims of `lines` lines, as JSON-ready dicts."""
    rnd = random.Random(seed)
    catalogue = load_catalogues().versions[0]
    codes: list[str | None] = [*catalogue.items, None, "NIET_IN_CATALOGUS"]
    out = []
    for i in range(n):
        measures = [
            {
                "code": rnd.choice(codes),
                "description": f"maatregel {j}",
                "quantity": rnd.randint(1, 20),
                "unit_price_eur": f"{rnd.randint(100, 900_000) / 100:.2f}",
                "advised": rnd.random() < 0.9,
                "date": f"2016-05-{rnd.randint(1, 28):02d}",
                "already_reimbursed_eur": rnd.choice([0, 0, 0, 0, 50]),
            }
            for j in range(lines)
        ]
        out.append(
            {
                "claim_id": f"BENCH-{i:05d}",
                "reference_date": "2016-06-01",
                "applicant": {"type": "gemeente", "name": "Gemeente Voorbeeld"},
                "municipality": {
                    "name": "Voorbeeld",
                    "inhabitants": rnd.randint(1_000, 900_000),
                    "security_budget_eur": rnd.choice([0, 0, 5000, 50000]),
                },
                "office_holder": {"role": rnd.choice(["burgemeester", "wethouder", "raadslid"])},
                "threat": {
                    "status": rnd.choice(["expliciet", "expliciet", "impliciet", "onbekend"]),
                    "assessed_by": rnd.choice(["politie", "nctv", "gemeente"]),
                    "assessed_on": "2016-05-10",
                },
                "home": {"pkvw_certified": rnd.choice([True, False, None])},
                "triggers": {"political_discussion": rnd.random() < 0.3, "motivation": "ja"},
                "measures": measures,
            }
        )
    return out
