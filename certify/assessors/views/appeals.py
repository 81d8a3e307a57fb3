"""Assessment pages: appeals."""

from flask import abort

from certify.assessors import bp


@bp.get("/assessment/appeals")
def appeals():
    abort(404)
