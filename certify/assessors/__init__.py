"""Assessment: assessor queues, per-criterion judgements, signed decisions, internal
verification, appeals and dashboards."""

from flask import Blueprint

bp = Blueprint("assessors", __name__)
