"""`certify providers`."""

from __future__ import annotations

import click


@click.group("providers")
def command() -> None:
    """(commands are added below)"""
