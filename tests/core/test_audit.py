"""The hash-chained audit trail: what is recorded, and that tampering is found."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from certify.core import audit
from certify.core.models import AuditEntry, AuditHead, OutboxMessage
from certify.extensions import db
from tests.accounts.conftest import PASSWORD, csrf_token

NEW_PASSWORD = "violet kettle under the stairs"


def post_form(client, url: str, data: dict, **kwargs):
    page = client.get(url, **kwargs)
    return client.post(url, data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))},
                       **kwargs)


def entries(session, action: str | None = None) -> list[AuditEntry]:
    session.expire_all()
    query = select(AuditEntry).order_by(AuditEntry.seq)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(session.scalars(query))


def add_entries(session, count: int) -> list[AuditEntry]:
    made = [audit.record(session, "test.entry", changes={"n": n}) for n in range(count)]
    session.commit()
    return made


# --- What is recorded ---------------------------------------------------------------------------

ADDRESS = {"REMOTE_ADDR": "198.51.100.23"}


def test_sign_in_and_failed_sign_in_are_recorded(client, session, admin):
    post_form(client, "/login", {"email": admin.email, "password": "not the right password"},
              environ_base=ADDRESS)
    post_form(client, "/login", {"email": "nobody@north.example", "password": "whatever it is"},
              environ_base=ADDRESS)
    post_form(client, "/login", {"email": admin.email, "password": PASSWORD},
              environ_base=ADDRESS)
    failed = entries(session, "sign_in.failed")
    assert [(e.actor_id, e.object_id, e.changes, e.ip) for e in failed] == [
        (admin.id, str(admin.id), {"email": admin.email}, "198.51.100.23"),
        (None, None, {"email": "nobody@north.example"}, "198.51.100.23"),
    ]
    (signed_in,) = entries(session, "sign_in")
    assert (signed_in.actor_id, signed_in.actor_email, signed_in.object_type,
            signed_in.object_id, signed_in.ip) == (
        admin.id, admin.email, "User", str(admin.id), "198.51.100.23")
    assert signed_in.at.tzinfo is not None


def test_password_reset_is_recorded(client, session, admin):
    post_form(client, "/password/forgot", {"email": admin.email}, environ_base=ADDRESS)
    (requested,) = entries(session, "password.reset_requested")
    assert requested.object_id == str(admin.id)
    assert requested.ip == "198.51.100.23"
    text = session.scalars(select(OutboxMessage.text)).one()
    link = re.search(r"/password/reset/[\w-]+", text).group(0)
    post_form(client, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
              environ_base=ADDRESS)
    (reset,) = entries(session, "password.reset")
    assert (reset.actor_id, reset.object_id, reset.ip) == (admin.id, str(admin.id),
                                                          "198.51.100.23")


def test_password_change_is_recorded(client, session, admin, login):
    login(admin)
    post_form(client, "/account/password", {"current_password": PASSWORD,
                                             "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    (changed,) = entries(session, "password.changed")
    assert (changed.actor_id, changed.object_id) == (admin.id, str(admin.id))
    # The password itself never reaches the trail, in any form.
    for entry in entries(session):
        assert PASSWORD not in str(entry.changes)
        assert NEW_PASSWORD not in str(entry.changes)


def test_disabling_is_recorded(client, session, admin, make_user, login):
    root = make_user(platform_admin=True)
    login(root)
    post_form(client, f"/admin/users/{admin.id}/disable", {"reason": "Left"})
    (disabled,) = entries(session, "user.disabled")
    assert (disabled.actor_id, disabled.object_id) == (root.id, str(admin.id))
    assert disabled.changes["disabled"] == [False, True]
    assert disabled.changes["reason"] == "Left"


def test_signing_out_is_recorded(client, session, admin, login):
    login(admin)
    token = csrf_token(client.get("/account").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    (ended,) = entries(session, "session.ended")
    assert ended.changes["reason"] == "signed out"


# --- The chain ----------------------------------------------------------------------------------

def test_a_clean_chain_verifies(session, admin):
    made = add_entries(session, 5)
    report = audit.verify(session)
    assert report.ok
    assert report.checked == len(entries(session)) >= 5
    assert made[1].prev_hash == made[0].hash
    assert report.broken_seq is None and report.reason is None


def test_values_survive_the_database_round_trip(session):
    """What is hashed is what is read back: dates, non-ASCII text, nesting, None."""
    audit.record(session, "test.values", changes={
        "when": datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC),
        "day": date(2026, 3, 1),
        "name": "Zoë Łukasiewicz 🎓",
        "nested": {"b": [1, 2.5, None, True], "a": "x"},
    })
    session.commit()
    session.expire_all()
    assert audit.verify(session).ok
    (entry,) = entries(session, "test.values")
    assert entry.changes["day"] == "2026-03-01"
    assert entry.changes["name"] == "Zoë Łukasiewicz 🎓"


def test_an_edited_entry_is_found(session):
    made = add_entries(session, 5)
    target = made[2]
    session.execute(update(AuditEntry).where(AuditEntry.seq == target.seq)
                    .values(changes={"n": 99}))
    session.commit()
    report = audit.verify(session)
    assert not report.ok
    assert report.broken_seq == target.seq
    assert report.reason == "its contents do not match its hash"


@pytest.mark.parametrize(("column", "value"), [
    ("action", "test.innocent"),
    ("actor_email", "someone.else@example.org"),
    ("ip", "192.0.2.1"),
    ("at", datetime(2020, 1, 1, tzinfo=UTC)),
])
def test_any_edited_field_is_found(session, column, value):
    made = add_entries(session, 3)
    session.execute(update(AuditEntry).where(AuditEntry.seq == made[1].seq)
                    .values({column: value}))
    session.commit()
    assert audit.verify(session).broken_seq == made[1].seq


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(session):
    made = add_entries(session, 4)
    target = made[1]
    session.execute(update(AuditEntry).where(AuditEntry.seq == target.seq)
                    .values(changes={"n": 99}))
    session.commit()
    session.expire_all()
    forged = session.scalar(select(AuditEntry).where(AuditEntry.seq == target.seq))
    session.execute(update(AuditEntry).where(AuditEntry.seq == target.seq)
                    .values(hash=audit.entry_hash(forged)))
    session.commit()
    report = audit.verify(session)
    assert report.broken_seq == target.seq + 1
    assert report.reason == "its link to the previous entry does not match"


def test_a_deleted_entry_is_found(session):
    made = add_entries(session, 5)
    session.execute(delete(AuditEntry).where(AuditEntry.seq == made[2].seq))
    session.commit()
    report = audit.verify(session)
    assert report.broken_seq == made[2].seq
    assert report.reason == f"entry {made[2].seq} is missing"


def test_a_changed_link_is_found(session):
    made = add_entries(session, 5)
    session.execute(update(AuditEntry).where(AuditEntry.seq == made[3].seq)
                    .values(prev_hash="f" * 64))
    session.commit()
    report = audit.verify(session)
    assert report.broken_seq == made[3].seq
    assert report.reason == "its link to the previous entry does not match"


def test_a_deleted_last_entry_is_found_through_the_head(session):
    made = add_entries(session, 3)
    session.execute(delete(AuditEntry).where(AuditEntry.seq == made[-1].seq))
    session.commit()
    report = audit.verify(session)
    assert not report.ok
    assert report.broken_seq == made[-1].seq
    assert f"the chain ends at entry {made[-2].seq} but {made[-1].seq} were written" \
        == report.reason


def test_an_emptied_trail_is_found(session):
    add_entries(session, 3)
    session.execute(delete(AuditEntry))
    session.commit()
    report = audit.verify(session)
    assert report.broken_seq == 1


def test_entries_are_numbered_without_gaps_in_one_session(session):
    """Within one connection the order of appends is the order of the chain."""
    made = add_entries(session, 10)
    seqs = [entry.seq for entry in made]
    assert seqs == list(range(seqs[0], seqs[0] + 10))
    head = session.get(AuditHead, 1)
    session.refresh(head)
    assert (head.seq, head.last_hash) == (made[-1].seq, made[-1].hash)


def test_concurrent_appends_keep_one_chain(app):
    """Two (here four) sessions on their own connections append at once; the chain holds.

    This runs against the committed database, not inside the test's transaction:
    the rows it adds are removed and the head restored afterwards.
    """
    engine = db.state(app).engine
    with Session(engine) as reader:
        head = reader.get(AuditHead, 1)
        start_seq, start_hash = head.seq, head.last_hash
    workers, each = 4, 5
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            with Session(engine) as writer:
                barrier.wait(timeout=10)
                for n in range(each):
                    audit.record(writer, "test.concurrent", changes={"worker": worker, "n": n})
                    writer.commit()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(workers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        with Session(engine) as reader:
            added = list(reader.scalars(
                select(AuditEntry).where(AuditEntry.seq > start_seq).order_by(AuditEntry.seq)
            ))
            assert [e.seq for e in added] == list(range(start_seq + 1,
                                                        start_seq + workers * each + 1))
            previous = start_hash
            for entry in added:
                assert entry.prev_hash == previous, entry.seq
                assert audit.entry_hash(entry) == entry.hash, entry.seq
                previous = entry.hash
            head = reader.get(AuditHead, 1)
            assert (head.seq, head.last_hash) == (added[-1].seq, added[-1].hash)
            assert sorted((e.changes["worker"], e.changes["n"]) for e in added) == [
                (w, n) for w in range(workers) for n in range(each)]
            assert audit.verify(reader).ok
    finally:
        with engine.begin() as connection:
            connection.execute(delete(AuditEntry).where(AuditEntry.seq > start_seq))
            connection.execute(update(AuditHead).where(AuditHead.id == 1)
                               .values(seq=start_seq, last_hash=start_hash))
        with Session(engine) as reader:
            assert reader.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.seq > start_seq)) == 0


def test_the_chain_starts_at_genesis(session):
    add_entries(session, 2)
    first = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).first()
    assert first.seq == 1
    assert first.prev_hash == audit.GENESIS
