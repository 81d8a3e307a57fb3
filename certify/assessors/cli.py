"""`certify assessment`: assessment work on the command line."""

from __future__ import annotations

import click


@click.group("assessment")
def assessment_group() -> None:
    """Assessment: assignment, quality assurance reports."""
