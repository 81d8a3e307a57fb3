"""Revoking and reissuing certificates.

A revoked certificate stays in the register, marked revoked with its reason and
date; its bit in the provider's status list is set at once, so the
verification page and every credential check see it.  A reissue (a corrected
name, or renewing an expired qualification) is a new certificate with a new
number; the old one is marked superseded and points to it.  Numbers are never
reused.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from certify.accounts.models import User
from certify.certificates.errors import IssueRefused
from certify.certificates.models import Certificate, CertificateStatus
from certify.certificates.operations import issuing
from certify.core import audit
from certify.core.notifications import notify
from certify.core.types import utcnow

REASON_MAX = 2000


def _reason(reason: str, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        public = " It is shown to anyone who verifies the certificate." \
            if what == "revocation" else ""
        raise IssueRefused(f"Give the reason for the {what}.{public}", "reason")
    if len(text) > REASON_MAX:
        raise IssueRefused(f"The reason is {len(text)} characters long; keep it under "
                           f"{REASON_MAX}.", "reason")
    return text


def revoke_certificate(session: Session, certificate: Certificate, *, reason: str,
                       actor: User) -> Certificate:
    """Revoke a valid certificate with a reason (shown publicly).  Flushes, audits and
    tells the candidate; raises IssueRefused if it is not valid any more."""
    text = _reason(reason, "revocation")
    if certificate.status != CertificateStatus.VALID:
        raise IssueRefused(f"{certificate.number} is already {certificate.status.value}; only a "
                           "valid certificate can be revoked.")
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at = utcnow()
    certificate.revoked_by_id = actor.id
    certificate.revocation_reason = text
    session.flush()
    audit.record(session, "certificate.revoked", actor=actor, provider=certificate.provider,
                 target=certificate, changes={"number": certificate.number, "reason": text,
                                              "status": ["valid", "revoked"]})
    notify(session, certificate.candidate, "certificate_revoked",
           f"Certificate {certificate.number} was revoked", body=text,
           endpoint="certificates.my_certificates", provider=certificate.provider)
    return certificate


def reissue_certificate(session: Session, certificate: Certificate, *, reason: str,
                        actor: User, name: str | None = None) -> Certificate:
    """Issue a new certificate in place of ``certificate`` (valid or expired): the same
    qualification or units, the name given (default: as printed before), a new number
    and dates; the old one becomes superseded and points to the new one.  The units must
    still be achieved.  Flushes, audits and tells the candidate."""
    text = _reason(reason, "reissue")
    if certificate.status != CertificateStatus.VALID:
        raise IssueRefused(f"{certificate.number} is {certificate.status.value}; only a valid "
                           "(or expired) certificate can be reissued.")
    printed = certificate.snapshot["candidate"]["name"] if name is None else name
    plan = issuing.plan_certificate(
        session, certificate.provider, candidate=certificate.candidate, actor=actor,
        qualification=certificate.qualification,
        enrolment_ids=None if certificate.qualification else
        [u.enrolment_id for u in certificate.units],
        name=printed, replaces=certificate,
    )
    return issuing.complete_certificate(session, plan, issuing.render(plan), actor=actor,
                                        reason=text)
