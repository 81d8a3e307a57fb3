"""Accounts: users, training providers, memberships and roles, sign-in, enrolment."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)
