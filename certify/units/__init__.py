"""The competency catalogue: frameworks, units, elements, criteria, importers."""

from flask import Blueprint

bp = Blueprint("units", __name__)
