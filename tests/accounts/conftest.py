"""Account tests use the people fixtures of tests/people.py (loaded for every test)."""

from tests.people import PASSWORD, csrf_token

__all__ = ["PASSWORD", "csrf_token"]
