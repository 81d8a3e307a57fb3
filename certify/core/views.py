"""The home page and the health check."""

from __future__ import annotations

from flask import jsonify, render_template
from sqlalchemy import func, select, text

from certify.core import bp
from certify.extensions import db
from certify.units.models import Framework, Unit, UnitStatus


@bp.get("/")
def home():
    session = db.session
    counts = {
        "frameworks": session.scalar(select(func.count(Framework.id))),
        "units": session.scalar(
            select(func.count(Unit.id)).where(Unit.status == UnitStatus.CURRENT)
        ),
    }
    return render_template("core/home.html", counts=counts)


@bp.get("/healthz")
def health():
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")
