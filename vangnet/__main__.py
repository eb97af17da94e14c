"""`python -m vangnet`: the command line."""

from vangnet.cli import app

app()
