"""vangnet: decision support for the Financieel Vangnet and related reimbursement schemes.

The public surface: validate a claim, calculate it against the catalogue, and (through
`vangnet.decision`) decide it under the ruleset version in force on its reference date.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
