"""`certify users`."""

from __future__ import annotations

import click


@click.group("users")
def command() -> None:
    """(commands are added below)"""
