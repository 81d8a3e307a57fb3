"""Evidence retention: what is past every provider's retention period, `certify evidence purge`
with and without --dry-run, and that nothing younger can go."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from certify.accounts.models import Enrolment, EnrolmentStatus
from certify.accounts.operations.enrolments import enrol_candidate, today
from certify.core.models import AuditEntry
from certify.core.storage import current_storage
from certify.evidence.models import (
    Blob,
    EvidenceFile,
    EvidenceItem,
    EvidenceKind,
    Mapping,
    Submission,
    SubmissionEntry,
    SubmissionFile,
)
from certify.evidence.operations import retention
from certify.evidence.operations import submissions as operations
from certify.units.models import Unit
from tests.evidence.test_submissions import (
    criteria_of,
    map_item,
    unit,  # noqa: F401 - a fixture
)
from tests.units.conftest import import_bytes, import_seed  # noqa: F401

TODAY = today()


def end(session, enrolment: Enrolment, days_ago: int | None, *,
        status: EnrolmentStatus = EnrolmentStatus.COMPLETED, ends_on: bool = True) -> None:
    """Move ``enrolment``'s end ``days_ago`` days into the past (its end date and the day its
    status changed)."""
    moment = datetime.now(UTC) - timedelta(days=days_ago or 0)
    session.execute(update(Enrolment).where(Enrolment.id == enrolment.id).values(
        status=status,
        ends_on=(TODAY - timedelta(days=days_ago)) if ends_on and days_ago is not None else None,
        enrolled_on=TODAY - timedelta(days=(days_ago or 0) + 200),
        updated_at=moment,
    ))
    session.commit()
    session.expire_all()


def stored_item(session, enrolment: Enrolment, data: bytes, title: str = "Plan"
                ) -> EvidenceItem:
    """An item with one file whose bytes really are in the application's storage."""
    stored = current_storage().save([data])
    blob = session.scalar(select(Blob).where(Blob.sha256 == stored.sha256))
    if blob is None:
        blob = Blob(sha256=stored.sha256, size=stored.size, media_type="application/pdf",
                    storage_key=stored.key)
        session.add(blob)
    item = EvidenceItem(provider_id=enrolment.provider_id, candidate_id=enrolment.candidate_id,
                        title=title, kind=EvidenceKind.DOCUMENT)
    session.add(item)
    session.flush()
    session.add(EvidenceFile(item=item, blob=blob, display_name=f"{title}.pdf"))
    session.flush()
    return item


def submitted(session, enrolment: Enrolment, data: bytes, title: str = "Plan") -> Submission:
    """A submitted attempt of ``enrolment`` with one item holding ``data``."""
    item = stored_item(session, enrolment, data, title)
    map_item(session, item, enrolment, criteria_of(session, enrolment.unit)[0])
    submission = operations.submit_attempt(session, enrolment, declaration_text="Mine.",
                                           actor=enrolment.candidate)
    session.commit()
    return submission


def blob_of(session, data: bytes) -> Blob:
    return session.scalar(select(Blob).where(Blob.sha256 == hashlib.sha256(data).hexdigest()))


@pytest.fixture
def people(make_user, provider):
    return [make_user(roles=["candidate"], provider=provider) for _ in range(3)]


@pytest.fixture
def enrol(session, provider, admin, unit):  # noqa: F811 - the fixture
    def make(person, where=None):
        enrolment = enrol_candidate(session, where or provider, person, unit,
                                    starts_on=TODAY - timedelta(days=30), actor=admin)
        session.commit()
        return enrolment

    return make


def counts(session) -> dict[str, int]:
    session.expire_all()
    return {model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (Blob, EvidenceFile, EvidenceItem, Mapping, Submission,
                          SubmissionEntry, SubmissionFile)}


# --- the rule ---------------------------------------------------------------------------------


def test_when_an_enrolment_ended(session, app, people, enrol):
    enrolment = enrol(people[0])
    assert retention.ended_on(enrolment) is None
    assert not retention.is_expired(enrolment, TODAY + timedelta(days=10_000))

    end(session, enrolment, 731)
    enrolment = session.get(Enrolment, enrolment.id)
    assert retention.ended_on(enrolment) == TODAY - timedelta(days=731)
    assert retention.kept_until(enrolment) == TODAY - timedelta(days=1)
    assert retention.is_expired(enrolment, TODAY)

    end(session, enrolment, 730)
    enrolment = session.get(Enrolment, enrolment.id)
    assert not retention.is_expired(enrolment, TODAY)  # exactly the period: still kept

    # Withdrawn long ago but planned to end recently: the later day counts.
    end(session, enrolment, 900, status=EnrolmentStatus.WITHDRAWN, ends_on=False)
    session.execute(update(Enrolment).where(Enrolment.id == enrolment.id)
                    .values(ends_on=TODAY - timedelta(days=10),
                            updated_at=datetime.now(UTC) - timedelta(days=900)))
    session.commit()
    session.expire_all()
    enrolment = session.get(Enrolment, enrolment.id)
    assert retention.ended_on(enrolment) == TODAY - timedelta(days=10)
    assert not retention.is_expired(enrolment, TODAY)

    # Withdrawn, no end date: the day of the change counts.
    end(session, enrolment, 800, status=EnrolmentStatus.WITHDRAWN, ends_on=False)
    enrolment = session.get(Enrolment, enrolment.id)
    assert retention.ended_on(enrolment) == TODAY - timedelta(days=800)
    assert retention.is_expired(enrolment, TODAY)

    # The provider's own period.
    enrolment.provider.evidence_retention_days = 3650
    session.commit()
    assert not retention.is_expired(enrolment, TODAY)


def test_can_purge_only_past_every_retention(session, app, people, enrol, make_provider,
                                             make_user, unit):  # noqa: F811
    with app.app_context():
        old = enrol(people[0])
        submitted(session, old, b"old evidence")
        end(session, old, 800)
        assert retention.can_purge(blob_of(session, b"old evidence"), TODAY)
        assert not retention.can_purge(blob_of(session, b"old evidence"),
                                       TODAY - timedelta(days=100))

        # The same bytes, submitted by someone whose enrolment ended recently: kept.
        young = enrol(people[1])
        submitted(session, young, b"shared evidence")
        end(session, young, 100)
        stored_item(session, old, b"shared evidence", "Copy")
        session.commit()
        assert not retention.can_purge(blob_of(session, b"shared evidence"), TODAY)

        # A candidate with another enrolment still running keeps their whole portfolio.
        busy = enrol(people[2])
        submitted(session, busy, b"busy evidence")
        end(session, busy, 900)
        assert retention.can_purge(blob_of(session, b"busy evidence"), TODAY)
        other_unit_provider = make_provider()
        session.commit()
        enrol_candidate(session, busy.provider, people[2], _another_unit(session, unit),
                        starts_on=TODAY, actor=None)
        session.commit()
        assert not retention.can_purge(blob_of(session, b"busy evidence"), TODAY)

        # An item whose candidate has no enrolment there cannot be dated: kept.
        stranger = make_user(roles=["candidate"], provider=other_unit_provider)
        item = EvidenceItem(provider_id=other_unit_provider.id, candidate_id=stranger.id,
                            title="Undated", kind=EvidenceKind.DOCUMENT)
        session.add(item)
        session.flush()
        session.add(EvidenceFile(item=item, blob=blob_of(session, b"old evidence"),
                                 display_name="x.pdf"))
        session.commit()
        assert not retention.can_purge(blob_of(session, b"old evidence"), TODAY)

        # A blob nothing refers to is not the purge's to delete.
        stored = current_storage().save([b"loose bytes"])
        loose = Blob(sha256=stored.sha256, size=stored.size, media_type="text/plain",
                     storage_key=stored.key)
        session.add(loose)
        session.commit()
        assert not retention.can_purge(loose, TODAY)


def _another_unit(session, original):
    """A second unit to enrol on: a copy of ``original`` under another code."""
    copy = Unit(framework_id=original.framework_id, code=original.code + "X", version=1,
                title=original.title, content_sha256="0" * 64)
    session.add(copy)
    session.flush()
    return copy


# --- the command ------------------------------------------------------------------------------


@pytest.fixture
def aged(session, app, people, enrol):
    """One enrolment ended 800 days ago, one 100 days ago, one still running; each submitted
    one file; the old one also has a draft never submitted."""
    with app.app_context():
        old = enrol(people[0])
        submitted(session, old, b"old submitted evidence", "Old plan")
        stored_item(session, old, b"old draft evidence", "Old draft")
        session.commit()
        young = enrol(people[1])
        submitted(session, young, b"young evidence", "Young plan")
        running = enrol(people[2])
        submitted(session, running, b"running evidence", "Running plan")
    end(session, old, 800)
    end(session, young, 100)
    return {"old": old, "young": young, "running": running}


def test_dry_run_lists_and_changes_nothing(session, app, cli, aged):
    before = counts(session)
    result = cli("evidence", "purge", "--dry-run")
    assert result.exit_code == 0, result.output
    old = [blob_of(session, b"old submitted evidence"), blob_of(session, b"old draft evidence")]
    for blob in old:
        assert f"would purge {blob.sha256}" in result.output
    for data in (b"young evidence", b"running evidence"):
        assert blob_of(session, data).sha256 not in result.output
    assert f"2 files ({sum(b.size for b in old)} bytes) past retention" in result.output
    assert "nothing was changed" in result.output
    assert counts(session) == before
    with app.app_context():
        assert all(current_storage().exists(b.storage_key) for b in old)
    assert session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.action.startswith("evidence.purge"))) == 0


def test_purge_deletes_rows_and_bytes_of_what_is_past_retention_only(session, app, cli, aged):
    old = {data: blob_of(session, data)
           for data in (b"old submitted evidence", b"old draft evidence")}
    kept = {data: blob_of(session, data) for data in (b"young evidence", b"running evidence")}
    old_keys = [b.storage_key for b in old.values()]
    old_ids = [b.id for b in old.values()]
    old_hashes = sorted(b.sha256 for b in old.values())
    result = cli("evidence", "purge")
    assert result.exit_code == 0, result.output
    assert "2 files" in result.output and "purged" in result.output
    session.expire_all()
    assert session.scalars(select(Blob.id).where(Blob.id.in_(old_ids))).all() == []
    assert session.scalars(select(Submission.enrolment_id).order_by(
        Submission.enrolment_id)).all() == [aged["young"].id, aged["running"].id]
    assert sorted(session.scalars(select(EvidenceItem.title))) == ["Running plan", "Young plan"]
    assert session.scalar(select(func.count()).select_from(SubmissionEntry)) == 2
    assert session.scalar(select(func.count()).select_from(Mapping)) == 2
    with app.app_context():
        storage = current_storage()
        assert not any(storage.exists(key) for key in old_keys)
        assert all(storage.exists(b.storage_key) for b in kept.values())

    purged = session.scalars(select(AuditEntry).where(AuditEntry.action == "evidence.purged")
                             .order_by(AuditEntry.seq)).all()
    assert sorted(e.changes["sha256"] for e in purged) == old_hashes
    assert all(e.changes["enrolments"] == [aged["old"].id] for e in purged)
    [summary] = session.scalars(select(AuditEntry).where(AuditEntry.action == "evidence.purge"))
    assert summary.changes["blobs"] == 2
    assert summary.changes["submissions"] == 1
    assert summary.changes["items"] == 2
    assert summary.changes["via"] == "cli"

    # Run again: nothing left to purge, and the younger evidence is still there.
    again = cli("evidence", "purge")
    assert "0 files (0 bytes) purged" in again.output
    assert counts(session)["Blob"] == 2


def test_purge_refuses_without_a_storage_backend(session, cli, aged, monkeypatch):
    before = counts(session)
    monkeypatch.setattr(retention, "storage_deleter", lambda: None)
    result = cli("evidence", "purge")
    assert result.exit_code == 1
    assert "nothing was changed" in result.output
    assert counts(session) == before


def test_bytes_that_cannot_be_deleted_are_reported(session, cli, aged, monkeypatch):
    def broken(key: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(retention, "storage_deleter", lambda: broken)
    result = cli("evidence", "purge")
    assert result.exit_code == 1
    assert "could not delete stored bytes" in result.output
    assert "disk on fire" in result.output
