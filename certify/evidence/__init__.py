"""The evidence portfolio: files, evidence items, their mapping to criteria, submissions."""

from flask import Blueprint

bp = Blueprint("evidence", __name__)
