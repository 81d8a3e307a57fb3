"""`certify users`, `certify providers`, `certify enrol`, `certify audit`: one module each."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from certify.accounts.cli import audit, enrol, providers, users

    for module in (users, providers, enrol, audit):
        app.cli.add_command(module.command)
