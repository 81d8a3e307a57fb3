"""Revoking and reissuing certificates through the operations: reasons, states, new numbers,
frozen snapshots, units no longer achieved, and renewing an expired qualification."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from certify.assessors.models import Outcome
from certify.certificates.errors import IssueRefused
from certify.certificates.models import Certificate, CertificateStatus, Counter
from certify.certificates.operations import revocation
from certify.certificates.operations.issuing import add_months
from certify.core.models import AuditEntry, Notification
from certify.core.storage import current_storage
from certify.core.types import utcnow
from tests.certificates.conftest import achieve, make_qualification, make_unit


def fresh(session, certificate: Certificate) -> Certificate:
    session.expire_all()
    return session.get(Certificate, certificate.id)


def stored_sha256(app, key: str) -> str:
    with app.app_context(), current_storage().open_verified(key) as file:
        return hashlib.sha256(file.read()).hexdigest()


def audit_actions(session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def certificate_count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Certificate))


def counters(session) -> dict[str, int]:
    session.expire_all()
    return {row.name: row.value for row in session.scalars(select(Counter))}


# --- Revoking ---------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   \n  "])
def test_revoking_needs_a_reason(app, session, world, issued, reason):
    before = audit_actions(session)
    with app.app_context(), pytest.raises(IssueRefused) as refused:
        revocation.revoke_certificate(session, issued, reason=reason, actor=world.admin)
    session.rollback()
    assert refused.value.field == "reason"
    assert refused.value.message == ("Give the reason for the revocation. It is shown to "
                                     "anyone who verifies the certificate.")
    assert fresh(session, issued).status == CertificateStatus.VALID
    assert audit_actions(session) == before


def test_a_reason_longer_than_allowed_is_refused(app, session, world, issued):
    with app.app_context(), pytest.raises(IssueRefused) as refused:
        revocation.revoke_certificate(session, issued, reason="x" * 2001, actor=world.admin)
    assert refused.value.field == "reason"
    assert "2001 characters" in refused.value.message


def test_revoke_marks_it_revoked_with_reason_audit_and_notification(app, session, world,
                                                                    issued):
    with app.app_context():
        revocation.revoke_certificate(session, issued, reason="  Issued to the wrong person. ",
                                      actor=world.admin)
        session.commit()
    found = fresh(session, issued)
    assert found.status == CertificateStatus.REVOKED and found.standing() == "revoked"
    assert found.revocation_reason == "Issued to the wrong person."
    assert found.revoked_by_id == world.admin.id
    assert utcnow() - found.revoked_at < timedelta(minutes=1)
    assert audit_actions(session)[-1] == "certificate.revoked"
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert entry.changes["number"] == issued.number
    assert entry.changes["reason"] == "Issued to the wrong person."
    told = session.scalars(select(Notification).where(
        Notification.user_id == world.candidate.id).order_by(Notification.id.desc())).first()
    assert told.title == f"Certificate {issued.number} was revoked"


def test_revoking_twice_is_refused(app, session, world, issued):
    with app.app_context():
        revocation.revoke_certificate(session, issued, reason="Wrong person.",
                                      actor=world.admin)
        session.commit()
        with pytest.raises(IssueRefused) as refused:
            revocation.revoke_certificate(session, issued, reason="Again.", actor=world.admin)
    session.rollback()
    assert refused.value.message == (f"{issued.number} is already revoked; only a valid "
                                     "certificate can be revoked.")
    assert fresh(session, issued).revocation_reason == "Wrong person."


# --- Reissuing --------------------------------------------------------------------------------


def test_reissue_gives_a_new_number_and_supersedes_the_old(app, session, world, issued):
    with app.app_context():
        new = revocation.reissue_certificate(session, issued, reason="Printer fault.",
                                             actor=world.admin)
        session.commit()
    old = fresh(session, issued)
    new = session.get(Certificate, new.id)
    assert new.number != old.number and new.verification_code != old.verification_code
    assert new.status == CertificateStatus.VALID
    assert old.status == CertificateStatus.SUPERSEDED and old.standing() == "superseded"
    assert old.superseded_by_id == new.id and old.superseded_at is not None
    assert new.replaces_id == old.id and new.snapshot["replaces"] == old.number
    assert new.reissue_reason == "Printer fault."
    assert [u.enrolment_id for u in new.units] == [world.enrolment.id]
    # Both stay in the register; the old number is never reused.
    assert certificate_count(session) == 2
    assert audit_actions(session)[-1] == "certificate.reissued"


def test_reissue_with_a_corrected_name_changes_only_the_new_snapshot(app, session, world,
                                                                      issued):
    old_snapshot = dict(issued.snapshot)
    old_sha256 = issued.pdf_sha256
    with app.app_context():
        new = revocation.reissue_certificate(session, issued, reason="Name misspelt.",
                                             actor=world.admin, name="  陳大文  ")
        session.commit()
    old = fresh(session, issued)
    new = session.get(Certificate, new.id)
    assert new.snapshot["candidate"]["name"] == "陳大文"
    assert old.snapshot == old_snapshot
    assert old.snapshot["candidate"]["name"] == "Chen Candidate"
    assert old.pdf_sha256 == old_sha256 == stored_sha256(app, old.pdf_key)
    assert new.pdf_sha256 != old_sha256 == stored_sha256(app, old.pdf_key)
    # The person's account name is not what a certificate prints; it is left alone.
    assert world.candidate.name == "Chen Candidate"


def test_reissue_keeps_the_printed_name_when_none_is_given(app, session, world, issue):
    certificate = issue(world, name="Chen Tai Man")
    with app.app_context():
        new = revocation.reissue_certificate(session, certificate, reason="Damaged copy.",
                                             actor=world.admin)
        session.commit()
    assert new.snapshot["candidate"]["name"] == "Chen Tai Man"


def test_reissue_of_a_revoked_certificate_is_refused(app, session, world, issued):
    with app.app_context():
        revocation.revoke_certificate(session, issued, reason="Fraud.", actor=world.admin)
        session.commit()
        with pytest.raises(IssueRefused) as refused:
            revocation.reissue_certificate(session, issued, reason="Try again.",
                                           actor=world.admin)
    session.rollback()
    assert refused.value.message == (f"{issued.number} is revoked; only a valid (or expired) "
                                     "certificate can be reissued.")
    assert certificate_count(session) == 1


def test_reissue_of_a_superseded_certificate_is_refused(app, session, world, issued):
    with app.app_context():
        revocation.reissue_certificate(session, issued, reason="Once.", actor=world.admin)
        session.commit()
        with pytest.raises(IssueRefused, match="is superseded"):
            revocation.reissue_certificate(session, issued, reason="Twice.",
                                           actor=world.admin)
    session.rollback()
    assert certificate_count(session) == 2


def test_reissue_needs_a_reason(app, session, world, issued):
    with app.app_context(), pytest.raises(IssueRefused) as refused:
        revocation.reissue_certificate(session, issued, reason=" ", actor=world.admin)
    session.rollback()
    assert refused.value.field == "reason"
    assert refused.value.message == "Give the reason for the reissue."


def test_reissue_when_the_unit_is_no_longer_achieved_writes_nothing(app, session, world,
                                                                     issued):
    with app.app_context():
        # A later attempt was judged not yet competent (and confirmed): it counts last.
        achieve(session, world.provider, world.candidate, world.unit, world.assessor,
                admin=world.admin, outcome=Outcome.NOT_YET_COMPETENT,
                enrolment=world.enrolment, days_ago=0)
        session.commit()
    before = (certificate_count(session), counters(session), audit_actions(session))
    with app.app_context(), pytest.raises(IssueRefused) as refused:
        revocation.reissue_certificate(session, issued, reason="Name misspelt.",
                                       actor=world.admin, name="Chen Tai Man")
    session.rollback()
    assert refused.value.message == ("One of the units chosen has no confirmed competent "
                                     "decision for this candidate.")
    assert (certificate_count(session), counters(session), audit_actions(session)) == before
    old = fresh(session, issued)
    assert old.status == CertificateStatus.VALID and old.superseded_by_id is None


def test_renewing_an_expired_qualification_certificate_by_reissue(app, session, world, issue):
    with app.app_context():
        second = make_unit(session, world.unit.framework_id, "ITCSCR406A",
                           "Manage loyalty programmes", 4, 3)
        achieve(session, world.provider, world.candidate, second, world.assessor,
                admin=world.admin)
        qualification = make_qualification(
            session, world.provider, world.unit.framework_id, "CLM4", "Certificate in Loyalty",
            4, [world.unit, second], min_credits=6, validity_months=12)
        session.commit()
    certificate = issue(world, qualification=qualification)
    today = utcnow().date()
    assert certificate.expires_on == add_months(today, 12)
    # A year and more later: it reads as expired (expiry is not a stored status).
    certificate.expires_on = today - timedelta(days=3)
    session.commit()
    assert fresh(session, certificate).standing() == "expired"
    with app.app_context():
        renewed = revocation.reissue_certificate(session, fresh(session, certificate),
                                                 reason="Renewal after reassessment.",
                                                 actor=world.admin)
        session.commit()
    old = fresh(session, certificate)
    renewed = session.get(Certificate, renewed.id)
    assert renewed.expires_on == add_months(today, 12) > today
    assert renewed.snapshot["expires_on"] == add_months(today, 12).isoformat()
    assert renewed.standing() == "valid" and renewed.qualification_id == qualification.id
    assert old.standing() == "superseded" and old.superseded_by_id == renewed.id
