"""The `vangnet` commands of this group (registered by `vangnet.cli`)."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer, *, demo: typer.Typer, rules: typer.Typer) -> None:
    """Add this group's commands to the command line."""
