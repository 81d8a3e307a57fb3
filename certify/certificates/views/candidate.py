"""A candidate's own certificates, from every provider that issued them one.

Each shows what it states and its standing now, the PDF and the credential to
download, and the verification address to share (anyone can check a
certificate there without an account).
"""

from __future__ import annotations

from flask import abort, current_app, render_template
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from certify.certificates import bp, permissions
from certify.certificates.models import Certificate
from certify.core.types import utcnow
from certify.core.web import paginate, requested_page
from certify.extensions import db


@bp.get("/my/certificates")
@login_required
def my_certificates():
    """The signed-in person's certificates, newest first, revoked and superseded ones
    included and marked as such."""
    if not permissions.can_hold_certificates(current_user):
        abort(404)
    query = (
        select(Certificate)
        .where(Certificate.candidate_id == current_user.id)
        .options(joinedload(Certificate.superseded_by))
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    )
    page = paginate(db.session, query, requested_page(), current_app.config["PAGE_SIZE"])
    return render_template("certificates/mine.html", page=page, today=utcnow().date())
