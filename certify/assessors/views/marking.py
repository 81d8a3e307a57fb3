"""Assessment pages: marking."""

from flask import abort

from certify.assessors import bp


@bp.route("/assessment/assessments/<int:assessment_id>", methods=["GET", "POST"])
def assessment(assessment_id: int):
    abort(404)
