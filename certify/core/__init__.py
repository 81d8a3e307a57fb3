"""Shared foundations: the database base and mixins, types, pagination, base views."""

from flask import Blueprint

bp = Blueprint("core", __name__)
