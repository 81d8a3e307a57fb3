"""certify: assess candidates against units of competency and issue verifiable certificates."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application; ``config`` overrides settings read from CERTIFY_* variables."""
    from certify.accounts import cli as accounts_cli
    from certify.accounts import passwords, sessions
    from certify.accounts import views as accounts_views
    from certify.assessors import cli as assessors_cli
    from certify.assessors import signals  # noqa: F401 - connects the assessment listeners
    from certify.assessors import views as assessors_views
    from certify.certificates import cli as certificates_cli
    from certify.certificates import views as certificates_views
    from certify.config import load_config
    from certify.core import cli as core_cli
    from certify.core import views as core_views
    from certify.core import web
    from certify.demo import cli as demo_cli
    from certify.evidence import cli as evidence_cli
    from certify.evidence import views as evidence_views
    from certify.extensions import csrf, db
    from certify.units import cli as units_cli
    from certify.units import views as units_views

    settings = load_config(config)
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(settings)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    passwords.configure(app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_KIB"])
    db.init_app(app)
    csrf.init_app(app)
    web.init_app(app)
    sessions.init_app(app)

    # Importing a feature's views module attaches its routes to the feature's blueprint.
    app.register_blueprint(core_views.bp)
    app.register_blueprint(units_views.bp)
    app.register_blueprint(accounts_views.bp)
    app.register_blueprint(evidence_views.bp)
    app.register_blueprint(assessors_views.bp)
    app.register_blueprint(certificates_views.bp)

    app.cli.add_command(core_cli.db_group)
    app.cli.add_command(core_cli.worker)
    app.cli.add_command(units_cli.units_group)
    app.cli.add_command(demo_cli.demo_group)
    app.cli.add_command(evidence_cli.evidence_group)
    app.cli.add_command(assessors_cli.assessment_group)
    app.cli.add_command(certificates_cli.certificates_group)
    accounts_cli.register(app)
    return app
