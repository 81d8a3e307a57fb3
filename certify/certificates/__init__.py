"""Certification: eligibility, issuing, numbering, PDF and credential, verification, revocation."""

from flask import Blueprint

bp = Blueprint("certificates", __name__)
