"""What the issuing pages read: the eligible list and its filters, overdue candidates, how far
a candidate is from a qualification, the provider's candidates, and bulk issue jobs.

Everything here reads.  The eligible list is computed for the whole provider by
``eligibility`` (a fixed number of queries) and then searched, filtered and
paged in memory, so that a filter such as "overdue", which depends on the
computed dates, pages correctly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from certify.accounts.models import Enrolment, Membership, Provider, Role, User
from certify.certificates.eligibility import CandidateEligibility, Standing, eligibility
from certify.certificates.models import IssueJob, IssueJobItem
from certify.core.types import utcnow
from certify.core.web import Page
from certify.units.models import Qualification

# The eligible list's filters, as the page offers them.
SHOW = {
    "all": "Everyone eligible",
    "statement": "Statement of attainment due",
    "qualification": "Qualification certificate due",
    "overdue": "Overdue",
}
# How many names the dashboard's timeliness flag prints before "and N more".
FLAG_NAMES = 5


def today() -> date:
    return utcnow().date()


def days_waiting(row: CandidateEligibility, on: date | None = None) -> int | None:
    """Whole days since something became due for ``row`` (None when nothing is due)."""
    since = row.eligible_since
    return None if since is None else ((on or today()) - since).days


def is_overdue(row: CandidateEligibility, provider: Provider, on: date | None = None) -> bool:
    """Waiting longer than the provider allows (``certificate_days``) for a certificate."""
    waited = days_waiting(row, on)
    return waited is not None and waited > provider.certificate_days


def overdue_candidates(session: Session, provider: Provider) -> list[CandidateEligibility]:
    """Candidates who have waited longer than the provider's ``certificate_days`` for a
    certificate they are eligible for, the longest waiting first."""
    on = today()
    rows = [r for r in eligibility(session, provider) if r.eligible and is_overdue(r, provider, on)]
    return sorted(rows, key=lambda r: (r.eligible_since, r.candidate.name.casefold()))


def statement_credits(row: CandidateEligibility) -> int:
    """The credits of the units a statement of attainment would list now."""
    return sum(a.unit.credits or 0 for a in row.uncertified)


def _plural(count: int, noun: str) -> str:
    return f"{count} more {noun}{'' if count == 1 else 's'}"


def distance(standing: Standing) -> str:
    """How far a candidate is from a qualification, in words: "needs 2 more units: ABC101,
    ABC102; 1 more from “Electives”; 12 more credits"."""
    parts = []
    if standing.core_missing:
        codes = ", ".join(unit.code for unit in standing.core_missing)
        parts.append(f"{_plural(len(standing.core_missing), 'unit')}: {codes}")
    for short in standing.groups_short:
        if short.missing:
            noun = "unit" if short.missing == 1 else "units"
            parts.append(f"{short.missing} more {noun} from “{short.group.title}”")
    if standing.credits_missing:
        parts.append(_plural(standing.credits_missing, "credit"))
    if standing.credits_at_level_missing:
        parts.append(f"{_plural(standing.credits_at_level_missing, 'credit')} at level "
                     f"{standing.qualification.at_level} or above")
    return "needs " + "; ".join(parts) if parts else "meets every rule"


def matches(row: CandidateEligibility, text: str) -> bool:
    """``text`` appears in the candidate's name or email (case and accents as typed)."""
    needle = text.casefold()
    return needle in row.candidate.name.casefold() or needle in row.candidate.email.casefold()


def shown(row: CandidateEligibility, show: str, provider: Provider, on: date) -> bool:
    if not row.eligible:
        return False
    if show == "statement":
        return bool(row.uncertified)
    if show == "qualification":
        return bool(row.qualifications_due)
    if show == "overdue":
        return is_overdue(row, provider, on)
    return True


def page_of(items: Sequence, page: int, per_page: int) -> Page:
    """One page of a list already in memory, shaped like ``core.web.paginate``'s pages."""
    pages = max(1, -(-len(items) // per_page))
    page = min(max(page, 1), pages)
    start = (page - 1) * per_page
    return Page(items=list(items[start:start + per_page]), page=page, per_page=per_page,
                total=len(items))


@dataclass
class EligibleList:
    """The eligible page's two sections: who may be given a certificate, who is on the way."""

    eligible: Page
    in_progress: Page
    overdue: int


def eligible_list(session: Session, provider: Provider, *, search: str = "", show: str = "all",
                  page: int = 1, progress_page: int = 1, per_page: int = 25) -> EligibleList:
    rows = eligibility(session, provider)
    on = today()
    if search:
        rows = [r for r in rows if matches(r, search)]
    due = [r for r in rows if shown(r, show, provider, on)]
    started = [r for r in rows if r.in_progress] if show == "all" else []
    overdue = sum(1 for r in rows if r.eligible and is_overdue(r, provider, on))
    return EligibleList(page_of(due, page, per_page), page_of(started, progress_page, per_page),
                        overdue)


def _provider_candidates(provider: Provider):
    """Who counts as the provider's candidate: enrolled there, or holding its candidate role."""
    return or_(
        exists().where(Enrolment.provider_id == provider.id, Enrolment.candidate_id == User.id),
        exists().where(Membership.provider_id == provider.id, Membership.user_id == User.id,
                       Membership.role == Role.CANDIDATE),
    )


def provider_candidate(session: Session, provider: Provider, candidate_id: int) -> User | None:
    """The user ``candidate_id`` when they are ``provider``'s candidate, else None."""
    return session.scalar(select(User).where(User.id == candidate_id,
                                             _provider_candidates(provider)))


def provider_candidate_ids(session: Session, provider: Provider,
                           candidate_ids: Iterable[int]) -> set[int]:
    """Those of ``candidate_ids`` who are ``provider``'s candidates."""
    wanted = list(set(candidate_ids))
    if not wanted:
        return set()
    return set(session.scalars(select(User.id).where(User.id.in_(wanted),
                                                     _provider_candidates(provider))))


def enrolment_owners(session: Session, provider: Provider,
                     enrolment_ids: Iterable[int]) -> dict[int, int]:
    """enrolment id → candidate id, for those of ``enrolment_ids`` that are ``provider``'s."""
    wanted = list(set(enrolment_ids))
    if not wanted:
        return {}
    rows = session.execute(select(Enrolment.id, Enrolment.candidate_id)
                           .where(Enrolment.id.in_(wanted), Enrolment.provider_id == provider.id))
    return {enrolment_id: candidate_id for enrolment_id, candidate_id in rows}


def provider_qualification_ids(session: Session, provider: Provider,
                               qualification_ids: Iterable[int]) -> set[int]:
    wanted = list(set(qualification_ids))
    if not wanted:
        return set()
    return set(session.scalars(select(Qualification.id).where(
        Qualification.id.in_(wanted), Qualification.provider_id == provider.id)))


def jobs_query(provider: Provider) -> Select:
    """The provider's bulk issues, newest first, with who asked for them."""
    return (select(IssueJob).where(IssueJob.provider_id == provider.id)
            .options(joinedload(IssueJob.requested_by))
            .order_by(IssueJob.created_at.desc(), IssueJob.id.desc()))


def job_items_query(job: IssueJob) -> Select:
    """A job's items in the order they were asked for, with everything the page prints."""
    return (select(IssueJobItem).where(IssueJobItem.job_id == job.id)
            .options(joinedload(IssueJobItem.candidate), joinedload(IssueJobItem.qualification),
                     joinedload(IssueJobItem.certificate))
            .order_by(IssueJobItem.id))


def item_units(session: Session, items: Iterable[IssueJobItem]) -> dict[int, Enrolment]:
    """enrolment id → enrolment (with its unit) for the statements among ``items``."""
    wanted = {i for item in items if item.qualification_id is None
              for i in (item.enrolment_ids or [])}
    if not wanted:
        return {}
    return {e.id: e for e in session.scalars(
        select(Enrolment).where(Enrolment.id.in_(list(wanted)))
        .options(selectinload(Enrolment.unit)))}
