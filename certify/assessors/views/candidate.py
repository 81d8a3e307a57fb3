"""Assessment pages: candidate."""

from flask import abort

from certify.assessors import bp


@bp.get("/assessment/enrolments/<int:enrolment_id>/decisions")
def decisions(enrolment_id: int):
    abort(404)
