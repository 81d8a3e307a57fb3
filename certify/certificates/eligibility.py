"""Who may be given which certificate, and how far the others are from one.

A unit is achieved when the confirmed decision that counts last on its
enrolment (``assessors.operations.decisions.counted_decisions``' rule: the
confirmed decision of the latest decided attempt) is competent.  From the
achieved units:

- a statement of attainment may list any achieved units not yet on a valid
  statement of attainment;
- a qualification certificate may be issued when the qualification's rules are
  met (``standing``) and the candidate holds no valid certificate for it.

Everything here reads; a provider's whole eligible list is built from a fixed
number of queries however many candidates it has.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from certify.accounts.models import Enrolment, EnrolmentStatus, Provider, User
from certify.assessors.models import Assessment, AssessmentStatus, Outcome
from certify.certificates.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    CertificateUnit,
)
from certify.evidence.models import Submission
from certify.units.models import ElectiveGroup, Qualification, QualificationUnit, Unit


@dataclass(frozen=True)
class Achievement:
    """An achieved unit: the enrolment, its unit version, and when it was confirmed."""

    enrolment: Enrolment
    decision: Assessment

    @property
    def unit(self) -> Unit:
        return self.enrolment.unit

    @property
    def achieved_on(self) -> date:
        assert self.decision.confirmed_at is not None
        return self.decision.confirmed_at.date()

    @property
    def key(self) -> tuple[int, str]:
        """Units match across versions by framework and code."""
        return (self.unit.framework_id, self.unit.code)


@dataclass
class GroupShortfall:
    group: ElectiveGroup
    achieved: int

    @property
    def missing(self) -> int:
        return max(self.group.choose - self.achieved, 0)


@dataclass
class Standing:
    """How a candidate stands against one qualification."""

    qualification: Qualification
    counted: list[Achievement]
    credits: int
    credits_at_level: int
    core_missing: list[Unit]
    groups_short: list[GroupShortfall]

    @property
    def credits_missing(self) -> int:
        return max(self.qualification.min_credits - self.credits, 0)

    @property
    def credits_at_level_missing(self) -> int:
        return max(self.qualification.min_credits_at_level - self.credits_at_level, 0)

    @property
    def units_missing(self) -> int:
        return len(self.core_missing) + sum(g.missing for g in self.groups_short)

    @property
    def met(self) -> bool:
        return not (self.core_missing or self.units_missing or self.credits_missing
                    or self.credits_at_level_missing)

    @property
    def started(self) -> bool:
        return bool(self.counted)

    @property
    def achieved_on(self) -> date | None:
        """When the rules became met: the last counted unit's date."""
        return max((a.achieved_on for a in self.counted), default=None)


def standing(qualification: Qualification, achieved: Iterable[Achievement]) -> Standing:
    """Measure ``achieved`` against the rules of ``qualification`` (loaded with members)."""
    by_key = {a.key: a for a in achieved}
    counted: list[Achievement] = []
    core_missing: list[Unit] = []
    for member in qualification.core:
        found = by_key.get((member.unit.framework_id, member.unit.code))
        if found is None:
            core_missing.append(member.unit)
        else:
            counted.append(found)
    groups_short = []
    for group in qualification.groups:
        hits = [by_key[(m.unit.framework_id, m.unit.code)] for m in group.members
                if (m.unit.framework_id, m.unit.code) in by_key]
        counted.extend(hits)
        if len(hits) < group.choose:
            groups_short.append(GroupShortfall(group, len(hits)))
    credits = sum(a.unit.credits or 0 for a in counted)
    at_level = qualification.at_level
    credits_at_level = sum(a.unit.credits or 0 for a in counted
                           if at_level is not None and (a.unit.level or 0) >= at_level)
    return Standing(qualification, counted, credits, credits_at_level, core_missing,
                    groups_short)


@dataclass
class CandidateEligibility:
    """One candidate's achieved units and what they may be given."""

    candidate: User
    achievements: list[Achievement] = field(default_factory=list)
    # Achieved units already on a valid statement of attainment (enrolment ids).
    certified_enrolments: set[int] = field(default_factory=set)
    # Qualifications the candidate holds a valid certificate for.
    certified_qualifications: set[int] = field(default_factory=set)
    standings: list[Standing] = field(default_factory=list)

    @property
    def uncertified(self) -> list[Achievement]:
        """Achieved units a statement of attainment may list."""
        return [a for a in self.achievements if a.enrolment.id not in self.certified_enrolments]

    @property
    def qualifications_due(self) -> list[Standing]:
        return [s for s in self.standings
                if s.met and s.qualification.id not in self.certified_qualifications]

    @property
    def in_progress(self) -> list[Standing]:
        """Qualifications started but not met, nearest first."""
        return sorted((s for s in self.standings if s.started and not s.met),
                      key=lambda s: (s.units_missing, s.credits_missing))

    @property
    def eligible(self) -> bool:
        return bool(self.uncertified or self.qualifications_due)

    @property
    def eligible_since(self) -> date | None:
        """Since when something has waited for a certificate (timeliness is measured from it)."""
        dates = [a.achieved_on for a in self.uncertified]
        dates += [s.achieved_on for s in self.qualifications_due if s.achieved_on]
        return min(dates, default=None)


def achievements(
    session: Session, provider: Provider, candidate_ids: Iterable[int] | None = None,
) -> dict[int, list[Achievement]]:
    """Achieved units per candidate of ``provider`` (optionally only ``candidate_ids``).

    One query: every confirmed decision of the provider's live enrolments, in the
    order counted_decisions uses, so the last per enrolment is the one that counts.
    """
    query = (
        select(Assessment)
        .join(Assessment.submission)
        .join(Submission.enrolment)
        .options(selectinload(Assessment.submission).joinedload(Submission.enrolment)
                 .joinedload(Enrolment.unit))
        .where(Enrolment.provider_id == provider.id,
               Enrolment.status != EnrolmentStatus.WITHDRAWN,
               Assessment.status == AssessmentStatus.CONFIRMED)
        .order_by(Submission.enrolment_id, Submission.attempt, Assessment.confirmed_at,
                  Assessment.id)
    )
    if candidate_ids is not None:
        query = query.where(Enrolment.candidate_id.in_(list(candidate_ids)))
    last: dict[int, Assessment] = {}
    for decision in session.scalars(query):
        last[decision.submission.enrolment_id] = decision
    result: dict[int, list[Achievement]] = defaultdict(list)
    for decision in last.values():
        if decision.outcome == Outcome.COMPETENT:
            enrolment = decision.submission.enrolment
            result[enrolment.candidate_id].append(Achievement(enrolment, decision))
    for items in result.values():
        items.sort(key=lambda a: (a.unit.code, a.enrolment.id))
    return dict(result)


def provider_qualifications(session: Session, provider: Provider) -> list[Qualification]:
    """The provider's qualifications in use, with units and groups loaded."""
    return list(session.scalars(
        select(Qualification)
        .where(Qualification.provider_id == provider.id, Qualification.withdrawn_at.is_(None))
        .options(selectinload(Qualification.members).joinedload(QualificationUnit.unit),
                 selectinload(Qualification.groups).selectinload(ElectiveGroup.members)
                 .joinedload(QualificationUnit.unit))
        .order_by(Qualification.code)
    ).unique())


def eligibility(
    session: Session, provider: Provider, candidate_ids: Iterable[int] | None = None,
) -> list[CandidateEligibility]:
    """Every candidate of ``provider`` with an achieved unit (or only ``candidate_ids``),
    with their standing against each qualification; candidates ordered by name."""
    achieved = achievements(session, provider, candidate_ids)
    if not achieved:
        return []
    qualifications = provider_qualifications(session, provider)
    candidates = session.scalars(select(User).where(User.id.in_(list(achieved)))).all()
    rows = {user.id: CandidateEligibility(user, achieved[user.id]) for user in candidates}
    valid = session.execute(
        select(Certificate.candidate_id, Certificate.kind, Certificate.qualification_id,
               CertificateUnit.enrolment_id)
        .outerjoin(CertificateUnit, CertificateUnit.certificate_id == Certificate.id)
        .where(Certificate.provider_id == provider.id,
               Certificate.status == CertificateStatus.VALID,
               Certificate.candidate_id.in_(list(rows)))
    )
    for candidate_id, kind, qualification_id, enrolment_id in valid:
        row = rows[candidate_id]
        if kind == CertificateKind.QUALIFICATION and qualification_id is not None:
            row.certified_qualifications.add(qualification_id)
        elif enrolment_id is not None:
            row.certified_enrolments.add(enrolment_id)
    for row in rows.values():
        row.standings = [standing(q, row.achievements) for q in qualifications]
    return sorted(rows.values(), key=lambda r: (r.candidate.name.casefold(), r.candidate.id))


def candidate_eligibility(session: Session, provider: Provider,
                          candidate: User) -> CandidateEligibility:
    """One candidate's eligibility (empty when nothing is achieved)."""
    found = eligibility(session, provider, [candidate.id])
    return found[0] if found else CandidateEligibility(candidate)
