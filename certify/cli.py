"""The `certify` console script: Flask's CLI (run, routes, shell) plus every feature's commands."""

from __future__ import annotations

from flask.cli import FlaskGroup


def _create_app():
    from certify import create_app

    return create_app()


def main() -> None:
    cli = FlaskGroup(
        create_app=_create_app,
        load_dotenv=False,
        help="certify: units of competency, assessment and certificates.",
    )
    cli.main(prog_name="certify")
