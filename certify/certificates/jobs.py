"""Bulk issuing: many certificates in one background job, each issued whole or not at all.

``start_bulk_issue`` (an operation: flush only) records the job and one item per
certificate asked for; the view commits and enqueues ``run_issue_job``.  The job
works through the items in chunks: it plans each certificate (numbered and
frozen; the counters are committed so other issuers are not held up while PDFs
render), renders the chunk's PDFs in parallel (one wkhtmltopdf process per
core), then completes and commits each certificate on its own.  A certificate
that fails is rolled back alone, its item marked failed with the reason; its
number is left unused rather than ever reused.  The job's counts are committed
after each certificate, so the progress bar moves as it goes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from certify.accounts.models import Provider, User
from certify.certificates import rendering
from certify.certificates.errors import IssueRefused
from certify.certificates.models import IssueJob, IssueJobItem, ItemStatus, JobStatus
from certify.certificates.operations import issuing
from certify.core import audit
from certify.core.notifications import notify
from certify.core.types import utcnow
from certify.extensions import db

log = logging.getLogger(__name__)
MAX_ITEMS = 5000


@dataclass(frozen=True)
class BulkRequest:
    """One certificate asked for: a qualification's, or a statement of the given units."""

    candidate_id: int
    qualification_id: int | None = None
    enrolment_ids: tuple[int, ...] | None = None


def start_bulk_issue(session: Session, provider: Provider, requests: Sequence[BulkRequest], *,
                     actor: User) -> IssueJob:
    """Record a bulk issue of ``requests`` (duplicates dropped).  Flushes and audits; the
    caller commits and then enqueues ``run_issue_job`` with the job's id."""
    unique = list(dict.fromkeys(requests))
    if not unique:
        raise IssueRefused("Choose at least one certificate to issue.", "selected")
    if len(unique) > MAX_ITEMS:
        raise IssueRefused(f"{len(unique)} certificates were chosen; issue at most {MAX_ITEMS} "
                           "at a time.", "selected")
    job = IssueJob(provider_id=provider.id, requested_by_id=actor.id, total=len(unique),
                   status=JobStatus.QUEUED)
    job.items = [IssueJobItem(candidate_id=r.candidate_id, qualification_id=r.qualification_id,
                              enrolment_ids=list(r.enrolment_ids) if r.enrolment_ids else None)
                 for r in unique]
    session.add(job)
    session.flush()
    audit.record(session, "certificates.bulk_issue_requested", actor=actor, provider=provider,
                 target=job, changes={"certificates": len(unique)})
    return job


def could_not_start(session: Session, job: IssueJob, error: BaseException) -> None:
    """Mark a job that never reached a worker as failed (nothing was issued).  Flushes."""
    job.status, job.finished_at = JobStatus.FAILED, utcnow()
    job.error = f"The job could not be queued: {error}"
    session.flush()


def _fail(session: Session, job: IssueJob, item: IssueJobItem, message: str) -> None:
    session.rollback()
    item.status, item.error = ItemStatus.FAILED, message[:2000]
    job.failed += 1
    session.commit()


def _plan(session: Session, job: IssueJob, item: IssueJobItem) -> issuing.Plan | None:
    try:
        plan = issuing.plan_certificate(
            session, job.provider, candidate=item.candidate, actor=job.requested_by,
            qualification=item.qualification,
            enrolment_ids=item.enrolment_ids if item.qualification_id is None else None)
        session.commit()
        return plan
    except IssueRefused as refused:
        _fail(session, job, item, refused.message)
    except Exception as error:
        log.exception("planning certificate for job item %s failed", item.id)
        _fail(session, job, item, f"The certificate could not be prepared: {error}")
    return None


def _complete(session: Session, job: IssueJob, item: IssueJobItem, plan: issuing.Plan,
              pdf: bytes | BaseException) -> None:
    if isinstance(pdf, BaseException):
        _fail(session, job, item, f"The PDF could not be made: {pdf}")
        return
    try:
        certificate = issuing.complete_certificate(session, plan, pdf, actor=job.requested_by)
        item.status, item.certificate_id = ItemStatus.ISSUED, certificate.id
        job.issued += 1
        session.commit()
    except Exception as error:
        log.exception("completing certificate for job item %s failed", item.id)
        _fail(session, job, item, f"The certificate could not be issued: {error}")


def run_issue_job(job_id: int) -> None:
    """Issue every pending item of the job (see the module's description); commits."""
    session = db.session
    job = session.get(IssueJob, job_id)
    if job is None or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        return
    job.status, job.started_at = JobStatus.RUNNING, job.started_at or utcnow()
    session.commit()
    processes = current_app.config["RENDER_PROCESSES"]
    try:
        pending = list(session.scalars(
            select(IssueJobItem).where(IssueJobItem.job_id == job.id,
                                       IssueJobItem.status == ItemStatus.PENDING)
            .order_by(IssueJobItem.id)))
        size = max(processes * 2, 1)
        for start in range(0, len(pending), size):
            planned = [(item, plan) for item in pending[start:start + size]
                       if (plan := _plan(session, job, item)) is not None]
            pdfs = rendering.render_many(
                [(plan.html, plan.certificate.number) for _item, plan in planned], processes)
            for (item, plan), pdf in zip(planned, pdfs, strict=True):
                _complete(session, job, item, plan, pdf)
        job.status = JobStatus.FINISHED
    except Exception as error:
        log.exception("bulk issue job %s stopped", job_id)
        session.rollback()
        job.status, job.error = JobStatus.FAILED, f"The job stopped: {error}"
    job.finished_at = utcnow()
    if job.requested_by is not None:
        notify(session, job.requested_by, "issue_job_finished",
               f"Bulk issue: {job.issued} issued, {job.failed} not issued",
               endpoint="certificates.job", provider=job.provider, job_id=job.id)
    session.commit()
