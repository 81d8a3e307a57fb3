"""`certify enrol`."""

from __future__ import annotations

import click


@click.group("enrol")
def command() -> None:
    """(commands are added below)"""
