"""The in-app notification list, marking notifications read, and the unread count in the
account bar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from certify.core.models import Notification
from tests.evidence.test_submissions import text
from tests.people import PASSWORD, csrf_token


@pytest.fixture
def browser(app, session):
    """A new signed-in client for ``user`` (several people can be signed in in one test)."""

    def open_as(user):
        client = app.test_client()
        page = client.get("/login")
        answer = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                             "csrf_token": csrf_token(page.get_data(
                                                 as_text=True))})
        assert answer.status_code in (302, 303), answer.status_code
        return client

    return open_as


@pytest.fixture
def notify(session):
    """Add a notification for ``user``, ``minutes`` ago."""
    base = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

    def add(user, title: str, *, minutes: int = 0, url: str | None = None,
            kind: str = "decision_released", read: bool = False, body: str = "") -> Notification:
        created = base - timedelta(minutes=minutes)
        notification = Notification(user_id=user.id, kind=kind, title=title, body=body, url=url,
                                    created_at=created, read_at=created if read else None)
        session.add(notification)
        session.commit()
        return notification

    return add


def unread_of(session, user) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)))


def post_read(client, ids=None, *, token: str | None = None):
    data = {"csrf_token": token or csrf_token(client.get("/account").get_data(as_text=True))}
    if ids is not None:
        data["id"] = [str(i) for i in ids]
    return client.post("/notifications/read", data=data)


def test_the_list_shows_only_my_notifications_newest_first(session, candidate, admin, notify,
                                                           browser):
    notify(candidate, "Older news", minutes=30, read=True)
    notify(candidate, "Newest news", minutes=1, body="Read the feedback.")
    notify(candidate, "Middle news", minutes=10, kind="resubmission_requested")
    notify(admin, "Admin's secret news")
    response = browser(candidate).get("/notifications")
    assert response.status_code == 200
    page = text(response)
    assert page.index("Newest news") < page.index("Middle news") < page.index("Older news")
    assert "Admin's secret news" not in page
    assert "Read the feedback." in page
    assert "Resubmission requested" in page
    assert "You have 2 unread notifications." in page
    html = response.get_data(as_text=True)
    assert html.count('class="notification notification--unread"') == 2
    assert html.count('class="notification"') == 1
    assert html.count("Mark as read<span") == 2


def test_only_paths_inside_the_application_become_links(session, candidate, notify, browser):
    notify(candidate, "Inside", url="/assessment/progress")
    notify(candidate, "Protocol relative", url="//evil.example/x")
    notify(candidate, "Outside", url="https://evil.example/")
    notify(candidate, "Scripted", url="javascript:alert(1)")
    notify(candidate, "Backslashed", url="/\\evil.example")
    notify(candidate, "No link")
    html = browser(candidate).get("/notifications").get_data(as_text=True)
    assert '<a href="/assessment/progress">Inside</a>' in html
    for title in ("Protocol relative", "Outside", "Scripted", "Backslashed", "No link"):
        assert f">{title}</a>" not in html and title in html
    assert "evil.example" not in html and "javascript:" not in html


def test_an_empty_list_says_so(candidate, browser):
    page = text(browser(candidate).get("/notifications"))
    assert "No notifications yet" in page
    assert "Mark all as read" not in page


def test_the_list_is_paginated(app, session, candidate, notify, browser):
    size = app.config["PAGE_SIZE"]
    for n in range(size + 3):
        notify(candidate, f"News number {n:03d}", minutes=n)
    client = browser(candidate)
    first = text(client.get("/notifications"))
    assert "News number 000" in first and f"News number {size:03d}" not in first
    assert f"Showing 1–{size} of {size + 3} notifications" in first
    second = text(client.get("/notifications?page=2"))
    assert f"News number {size:03d}" in second and "News number 000" not in second


def test_mark_all_read_touches_only_my_notifications(session, candidate, admin, notify,
                                                     browser):
    notify(candidate, "One")
    notify(candidate, "Two")
    notify(admin, "Admin's")
    client = browser(candidate)
    response = post_read(client)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/notifications")
    assert unread_of(session, candidate) == 0
    assert unread_of(session, admin) == 1
    page = text(client.get("/notifications"))
    assert "2 notifications marked as read." in page
    assert "You have read every notification." in page


def test_mark_some_read_and_never_someone_elses(session, candidate, admin, notify, browser):
    mine = notify(candidate, "Mine")
    other_mine = notify(candidate, "Also mine")
    theirs = notify(admin, "Theirs")
    client = browser(candidate)
    assert post_read(client, [mine.id]).status_code == 303
    assert unread_of(session, candidate) == 1
    session.refresh(other_mine)
    assert other_mine.read_at is None
    # Someone else's id, a made-up id and garbage change nothing.
    for ids in ([theirs.id], [999999], ["99999999999"], [str(2**31)], ["\u00b2"], ["\u0661"],
                ["abc"], ["-1"], ["1" * 40], [""]):
        assert post_read(client, ids).status_code == 303
    assert unread_of(session, admin) == 1
    assert unread_of(session, candidate) == 1
    assert "There was nothing unread to mark." in text(client.get("/notifications"))


def test_marking_read_needs_the_csrf_token_and_a_signed_in_user(session, client, candidate,
                                                                 notify, browser):
    notify(candidate, "One")
    signed_in = browser(candidate)
    assert signed_in.post("/notifications/read", data={}).status_code == 400
    assert unread_of(session, candidate) == 1
    page = client.get("/login")
    response = client.post("/notifications/read",
                           data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/notifications").status_code == 302
    # Reading the list changes nothing.
    signed_in.get("/notifications")
    assert unread_of(session, candidate) == 1


def test_the_account_bar_shows_the_unread_count(session, client, candidate, notify, browser):
    signed_in = browser(candidate)
    html = signed_in.get("/account").get_data(as_text=True)
    assert '<a href="/notifications">Notifications</a>' in html
    notify(candidate, "One")
    notify(candidate, "Two")
    notify(candidate, "Read", read=True)
    page = text(signed_in.get("/account"))
    assert "Notifications (2 unread)" in page
    assert "Notifications" not in text(client.get("/"))


def test_the_list_and_the_count_cost_a_fixed_number_of_queries(
        session, candidate, notify, browser, count_queries):
    client = browser(candidate)

    def count(url: str) -> int:
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    empty = {url: count(url) for url in ("/notifications", "/account")}
    for n in range(30):
        notify(candidate, f"News {n}", minutes=n, read=n % 2 == 0)
    assert {url: count(url) for url in ("/notifications", "/account")} == empty


def test_the_unread_count_costs_one_query_and_none_when_signed_out(
        client, candidate, browser, count_queries, notify):
    with count_queries() as anonymous:
        assert client.get("/").status_code == 200
    assert not any("notifications" in s for s in anonymous.statements)
    signed_in = browser(candidate)
    with count_queries() as counter:
        assert signed_in.get("/account").status_code == 200
    assert sum("FROM notifications" in s for s in counter.statements) == 1
    # The notification page shows the count twice and still reads it once.
    notify(candidate, "One")
    with count_queries() as counter:
        assert signed_in.get("/notifications").status_code == 200
    assert sum("count(" in s.lower() and "read_at IS NULL" in s
               for s in counter.statements) == 1


def test_a_page_still_renders_when_the_count_cannot_be_read(candidate, browser, monkeypatch):
    client = browser(candidate)

    def broken(*_args, **_kwargs):
        raise OperationalError("SELECT count(*)", {}, Exception("the database went away"))

    monkeypatch.setattr("certify.core.notifications.unread_count", broken)
    response = client.get("/account")
    assert response.status_code == 200
    assert '<a href="/notifications">Notifications</a>' in response.get_data(as_text=True)
