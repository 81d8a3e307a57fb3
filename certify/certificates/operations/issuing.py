"""Issuing a certificate: check eligibility, number it, freeze it, render, sign, store.

Issuing is split in three so that bulk issues can render many PDFs at once:

- ``plan_certificate`` (database): checks what is asked for against the
  candidate's eligibility, takes the next number and status-list bit, freezes
  the snapshot and writes the HTML;
- ``render`` (no database, thread-safe): wkhtmltopdf turns the HTML into a PDF;
- ``complete_certificate`` (database): signs the PDF (PAdES), stores it with its
  SHA-256, signs the credential, adds the certificate and its units, audits and
  tells the candidate.

``issue_certificate`` runs the three in a row.  Nothing is visible until the
caller commits; if anything fails the caller rolls back and the stored PDF is
deleted, so a certificate exists whole or not at all.
"""

from __future__ import annotations

import calendar
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from certify.accounts.models import Provider, User
from certify.certificates import credentials, keys, numbering, rendering, signing
from certify.certificates.eligibility import (
    Achievement,
    CandidateEligibility,
    candidate_eligibility,
)
from certify.certificates.errors import IssueRefused
from certify.certificates.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    CertificateUnit,
)
from certify.certificates.snapshot import build_snapshot
from certify.core import audit
from certify.core.notifications import notify
from certify.core.storage import current_storage
from certify.core.types import utcnow
from certify.units.models import Qualification

NAME_MAX = 200


@dataclass
class Plan:
    """A certificate numbered and frozen, waiting for its PDF."""

    certificate: Certificate
    achieved: list[Achievement]
    html: str
    key: keys.LoadedKey
    replaces: Certificate | None = None


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def clean_name(name: str) -> str:
    """The name as printed: trimmed, one space between words, no control characters."""
    text = " ".join(unicodedata.normalize("NFC", name or "").split())
    if not text:
        raise IssueRefused("Enter the name as it should appear on the certificate.", "name")
    if len(text) > NAME_MAX:
        raise IssueRefused(f"The name is {len(text)} characters long; at most {NAME_MAX} fit.",
                           "name")
    if any(unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs") for char in text):
        raise IssueRefused("The name contains invisible control characters; type it again.",
                           "name")
    return text


def _label(achievement: Achievement) -> str:
    return f"{achievement.unit.code} {achievement.unit.title}"


def _without(eligibility: CandidateEligibility, certificate: Certificate | None) -> None:
    """Leave out what ``certificate`` covers: a reissue replaces it, so it does not block."""
    if certificate is None:
        return
    if certificate.kind == CertificateKind.QUALIFICATION:
        eligibility.certified_qualifications.discard(certificate.qualification_id)
    else:
        eligibility.certified_enrolments.difference_update(u.enrolment_id
                                                           for u in certificate.units)


def _qualification_units(
    eligibility: CandidateEligibility, qualification: Qualification, provider: Provider,
) -> list[Achievement]:
    if qualification.provider_id != provider.id:
        raise IssueRefused("This qualification belongs to another provider.", "qualification")
    if qualification.withdrawn_at is not None:
        raise IssueRefused(f"{qualification.code} has been withdrawn; it can no longer be "
                           "awarded.", "qualification")
    found = next((s for s in eligibility.standings if s.qualification.id == qualification.id),
                 None)
    if found is None or not found.met:
        if found is None:
            raise IssueRefused(f"{eligibility.candidate.name} has achieved no unit yet.")
        missing = [f"units {', '.join(u.code for u in found.core_missing)}"] \
            if found.core_missing else []
        missing += [f"{g.missing} more from “{g.group.title}”" for g in found.groups_short]
        if found.credits_missing:
            missing.append(f"{found.credits_missing} more credits")
        if found.credits_at_level_missing:
            missing.append(f"{found.credits_at_level_missing} more credits at level "
                           f"{qualification.at_level} or above")
        raise IssueRefused(f"{eligibility.candidate.name} has not yet met the rules of "
                           f"{qualification.code}: still needs {'; '.join(missing)}.")
    if qualification.id in eligibility.certified_qualifications:
        raise IssueRefused(f"{eligibility.candidate.name} already holds a valid certificate "
                           f"for {qualification.code}; reissue that one instead.")
    return sorted(found.counted, key=lambda a: (a.unit.code, a.enrolment.id))


def _statement_units(eligibility: CandidateEligibility,
                     enrolment_ids: Sequence[int] | None) -> list[Achievement]:
    achieved = {a.enrolment.id: a for a in eligibility.achievements}
    if enrolment_ids is None:
        chosen = eligibility.uncertified
    else:
        chosen = []
        for enrolment_id in dict.fromkeys(enrolment_ids):
            if enrolment_id not in achieved:
                raise IssueRefused("One of the units chosen has no confirmed competent "
                                   "decision for this candidate.", "units")
            if enrolment_id in eligibility.certified_enrolments:
                raise IssueRefused(f"{_label(achieved[enrolment_id])} is already on a valid "
                                   "statement of attainment.", "units")
            chosen.append(achieved[enrolment_id])
    if not chosen:
        raise IssueRefused(f"{eligibility.candidate.name} has no achieved unit that is not "
                           "already on a certificate.", "units")
    return chosen


def plan_certificate(
    session: Session, provider: Provider, *, candidate: User, actor: User | None,
    qualification: Qualification | None = None, enrolment_ids: Sequence[int] | None = None,
    name: str | None = None, replaces: Certificate | None = None,
) -> Plan:
    """Check, number and freeze one certificate (see the module's description).

    Raises IssueRefused saying what is missing.  Takes the provider's number
    counter, which stays locked until the caller's transaction ends.
    """
    printed_name = clean_name(candidate.name if name is None else name)
    eligibility = candidate_eligibility(session, provider, candidate)
    _without(eligibility, replaces)
    if qualification is not None:
        kind = CertificateKind.QUALIFICATION
        achieved = _qualification_units(eligibility, qualification, provider)
    else:
        kind = CertificateKind.STATEMENT
        achieved = _statement_units(eligibility, enrolment_ids)
    issued_at = utcnow()
    number, sequence = numbering.next_number(session, provider.id, provider.certificate_prefix,
                                             issued_at.year)
    status_index = numbering.next_status_index(session, provider.id)
    # After the counter: two first issues of a provider cannot both make a key.
    key = keys.signing_key(session, provider, actor=actor)
    code = numbering.verification_code()
    expires_on = None
    if qualification is not None and qualification.validity_months:
        expires_on = add_months(issued_at.date(), qualification.validity_months)
    achieved_on = max(a.achieved_on for a in achieved)
    signatory = {
        "name": provider.signatory_name or (actor.name if actor else provider.name),
        "title": provider.signatory_title or f"For {provider.name}",
    }
    snapshot = build_snapshot(
        provider=provider, candidate_name=printed_name, kind=kind,
        qualification=qualification, achieved=achieved, number=number, code=code,
        issued_at=issued_at, achieved_on=achieved_on, expires_on=expires_on,
        signatory=signatory, replaces=replaces.number if replaces else None,
    )
    certificate = Certificate(
        provider_id=provider.id, candidate_id=candidate.id,
        qualification_id=qualification.id if qualification else None, kind=kind,
        number=number, year=issued_at.year, sequence=sequence, verification_code=code,
        status=CertificateStatus.VALID, snapshot=snapshot, achieved_on=achieved_on,
        issued_at=issued_at, issued_by_id=getattr(actor, "id", None), expires_on=expires_on,
        status_index=status_index, replaces_id=replaces.id if replaces else None,
    )
    certificate.provider, certificate.candidate = provider, candidate
    html = rendering.certificate_html(snapshot, rendering.logo_data_uri(provider.logo_key))
    return Plan(certificate, achieved, html, key, replaces)


def render(plan: Plan) -> bytes:
    """The unsigned PDF of a planned certificate (no database; safe in a worker thread)."""
    return rendering.render_certificate(plan.html, title=plan.certificate.number)


def complete_certificate(session: Session, plan: Plan, pdf: bytes, *,
                         actor: User | None, reason: str | None = None) -> Certificate:
    """Sign, store and add a planned certificate; supersede the one it replaces.

    Flushes, audits and notifies the candidate.  If anything fails the stored PDF
    is deleted again before the error goes on, so no file is left behind.
    """
    certificate = plan.certificate
    provider = certificate.provider
    signed = signing.sign_pdf(pdf, plan.key, number=certificate.number,
                              provider_name=provider.name)
    storage = current_storage()
    stored = storage.save([signed])
    try:
        certificate.pdf_key, certificate.pdf_sha256 = stored.key, stored.sha256
        certificate.pdf_size = stored.size
        certificate.credential = credentials.sign_credential(
            credentials.build_credential(certificate), plan.key)
        certificate.reissue_reason = reason
        session.add(certificate)
        for position, achievement in enumerate(plan.achieved, start=1):
            certificate.units.append(CertificateUnit(
                enrolment_id=achievement.enrolment.id, unit_id=achievement.unit.id,
                position=position))
        session.flush()
        changes = {"number": certificate.number, "kind": certificate.kind.value,
                   "candidate": certificate.snapshot["candidate"]["name"],
                   "units": [u["code"] for u in certificate.snapshot["units"]],
                   "pdf_sha256": certificate.pdf_sha256}
        if plan.replaces is not None:
            old = plan.replaces
            old.status = CertificateStatus.SUPERSEDED
            old.superseded_by_id = certificate.id
            old.superseded_at = utcnow()
            changes["replaces"] = old.number
            changes["reason"] = reason
            session.flush()
            audit.record(session, "certificate.reissued", actor=actor, provider=provider,
                         target=certificate, changes=changes)
            notify(session, certificate.candidate, "certificate_reissued",
                   f"Certificate {old.number} was reissued as {certificate.number}",
                   body=reason or "", endpoint="certificates.my_certificates",
                   provider=provider)
        else:
            audit.record(session, "certificate.issued", actor=actor, provider=provider,
                         target=certificate, changes=changes)
            notify(session, certificate.candidate, "certificate_issued",
                   f"{certificate.kind.label} {certificate.number} issued",
                   body=f"{provider.name} issued your {certificate.kind.label.lower()}.",
                   endpoint="certificates.my_certificates", provider=provider)
    except BaseException:
        if stored.created:
            storage.delete(stored.key)
        raise
    return certificate


def issue_certificate(
    session: Session, provider: Provider, *, candidate: User, actor: User | None,
    qualification: Qualification | None = None, enrolment_ids: Sequence[int] | None = None,
    name: str | None = None,
) -> Certificate:
    """Issue one certificate: a qualification certificate when ``qualification`` is given,
    otherwise a statement of attainment of ``enrolment_ids`` (default: every achieved unit
    not yet on one).  Raises IssueRefused; flushes; the caller commits."""
    plan = plan_certificate(session, provider, candidate=candidate, actor=actor,
                            qualification=qualification, enrolment_ids=enrolment_ids,
                            name=name)
    return complete_certificate(session, plan, render(plan), actor=actor)
