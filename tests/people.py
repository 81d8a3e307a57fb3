"""People and providers for any test, made through the operations (a pytest plugin)."""

from __future__ import annotations

import re
from itertools import count

import pytest

from certify.accounts.models import Role
from certify.accounts.operations import people

PASSWORD = "correct horse battery staple"
_numbers = count(1)


@pytest.fixture
def make_provider(session):
    def make(name: str | None = None, slug: str | None = None, prefix: str | None = None):
        n = next(_numbers)
        provider = people.create_provider(
            session, name or f"Provider {n}", slug or f"provider-{n}", prefix or f"PR{n}"
        )
        session.commit()
        return provider

    return make


@pytest.fixture
def make_user(session):
    def make(email: str | None = None, *, name: str | None = None, roles=(), provider=None,
             password: str | None = PASSWORD, platform_admin: bool = False):
        n = next(_numbers)
        user = people.create_user(
            session, email or f"person{n}@example.org", name or f"Person {n}",
            password=password, platform_admin=platform_admin,
        )
        for role in roles:
            people.add_role(session, user, provider, Role(role))
        session.commit()
        return user

    return make


@pytest.fixture
def provider(make_provider):
    return make_provider("North College", "north-college", "NCOL")


@pytest.fixture
def admin(make_user, provider):
    return make_user("admin@north.example", name="Ada Admin", roles=["provider_admin"],
                     provider=provider)


@pytest.fixture
def candidate(make_user, provider):
    return make_user("cand@north.example", name="Chen Candidate", roles=["candidate"],
                     provider=provider)


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def login(client):
    """Sign ``user`` in through the real form (CSRF token included)."""

    def sign_in(user, password: str = PASSWORD, follow_redirects: bool = False):
        page = client.get("/login")
        return client.post(
            "/login",
            data={"email": user.email, "password": password,
                  "csrf_token": csrf_token(page.get_data(as_text=True))},
            follow_redirects=follow_redirects,
        )

    return sign_in
