"""The home page, the health check, and template helpers every page shares."""

from __future__ import annotations

from typing import Any

from flask import jsonify, render_template, request, url_for
from sqlalchemy import text

from certify.core import bp
from certify.extensions import db
from certify.units import queries


@bp.get("/")
def home():
    """What certify is, how big the catalogue is, and where to start."""
    return render_template("core/home.html", counts=queries.catalogue_counts(db.session))


@bp.get("/healthz")
def health():
    """Liveness for load balancers: the application answers and the database does too."""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")


@bp.app_template_global()
def url_with(**changes: Any) -> str:
    """This page's address with some query arguments changed (None removes one).

    Pagination and language links keep the visitor's search and filters.
    """
    args = request.args.to_dict()
    for name, value in changes.items():
        if value is None:
            args.pop(name, None)
        else:
            args[name] = value
    # Path arguments win over a query argument of the same name.
    return url_for(request.endpoint, **{**args, **(request.view_args or {})})
