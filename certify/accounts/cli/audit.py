"""`certify audit`."""

from __future__ import annotations

import click


@click.group("audit")
def command() -> None:
    """(commands are added below)"""
