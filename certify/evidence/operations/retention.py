"""Evidence retention: what may be purged, and purging it.

Submitted evidence is kept for at least the provider's retention period
(``Provider.evidence_retention_days``, 730 days by default) after the enrolment
ends.  A stored file (blob) may be purged only when *every* enrolment that
refers to it ended more than its provider's retention period ago:

* the enrolment of every submission that froze the file;
* for every evidence item holding the file, every enrolment of the item's
  candidate at the item's provider (a draft may still be mapped to any of them)
  and every enrolment the item is mapped to.

An enrolment has ended on ``ends_on`` when that is set, or on the day it was
completed or withdrawn (its ``updated_at``); when both are known the later one
counts, so a doubt always keeps the evidence.  An active enrolment without an
end date has not ended, and a file referred to by nothing that can be dated (an
item whose candidate has no enrolment there) is kept.  ``can_purge`` is the one
rule; ``purge_expired`` applies it and nothing younger can be deleted through it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, delete, select
from sqlalchemy.orm import Session, joinedload, object_session

from certify.accounts.models import Enrolment, EnrolmentStatus
from certify.core import audit
from certify.evidence.models import (
    Blob,
    EvidenceFile,
    EvidenceItem,
    Mapping,
    Submission,
    SubmissionEntry,
    SubmissionFile,
)

# IN (...) lists are sent in slices, well under every database's parameter limit.
CHUNK = 500


def ended_on(enrolment: Enrolment) -> date | None:
    """The day ``enrolment`` ended, or None while it has not."""
    days = []
    if enrolment.ends_on is not None:
        days.append(enrolment.ends_on)
    if enrolment.status in (EnrolmentStatus.COMPLETED, EnrolmentStatus.WITHDRAWN):
        days.append(enrolment.updated_at.date())
    return max(days) if days else None


def kept_until(enrolment: Enrolment) -> date | None:
    """The last day ``enrolment``'s evidence must be kept; None while it has not ended."""
    end = ended_on(enrolment)
    if end is None:
        return None
    return end + timedelta(days=enrolment.provider.evidence_retention_days)


def is_expired(enrolment: Enrolment, today: date) -> bool:
    """Whether ``enrolment`` ended more than its provider's retention period before ``today``."""
    until = kept_until(enrolment)
    return until is not None and today > until


@dataclass
class BlobReferences:
    """Who refers to one blob: the enrolments that date it, and whether anything cannot be
    dated (which keeps it)."""

    blob: Blob
    enrolments: dict[int, Enrolment] = field(default_factory=dict)
    undated: bool = False

    def purgeable(self, today: date) -> bool:
        return (bool(self.enrolments) and not self.undated
                and all(is_expired(e, today) for e in self.enrolments.values()))

    @property
    def kept_until(self) -> date | None:
        days = [kept_until(e) for e in self.enrolments.values()]
        return None if self.undated or not days or None in days else max(days)


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ids = sorted(set(ids))
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def references(session: Session, blob_ids: Iterable[int] | None = None
               ) -> dict[int, BlobReferences]:
    """Every referenced blob (or only ``blob_ids``) with the enrolments that refer to it."""
    enrolment_ids: dict[int, set[int]] = defaultdict(set)
    undated: set[int] = set()
    slices = [None] if blob_ids is None else list(_chunks(blob_ids))

    def limited(query, column, ids):
        return query if ids is None else query.where(column.in_(ids))

    for ids in slices:
        for blob_id, enrolment_id in session.execute(limited(
            select(SubmissionFile.blob_id, Submission.enrolment_id)
            .join(Submission, Submission.id == SubmissionFile.submission_id),
            SubmissionFile.blob_id, ids,
        )):
            enrolment_ids[blob_id].add(enrolment_id)
        # Every enrolment of the item's candidate at the item's provider (outer join: an
        # item whose candidate has none there cannot be dated, and is kept).
        for blob_id, enrolment_id in session.execute(limited(
            select(EvidenceFile.blob_id, Enrolment.id)
            .join(EvidenceItem, EvidenceItem.id == EvidenceFile.item_id)
            .outerjoin(Enrolment, and_(Enrolment.candidate_id == EvidenceItem.candidate_id,
                                       Enrolment.provider_id == EvidenceItem.provider_id)),
            EvidenceFile.blob_id, ids,
        )):
            if enrolment_id is None:
                undated.add(blob_id)
            else:
                enrolment_ids[blob_id].add(enrolment_id)
        for blob_id, enrolment_id in session.execute(limited(
            select(EvidenceFile.blob_id, Mapping.enrolment_id)
            .join(Mapping, Mapping.item_id == EvidenceFile.item_id),
            EvidenceFile.blob_id, ids,
        )):
            enrolment_ids[blob_id].add(enrolment_id)

    every_blob = set(enrolment_ids) | undated
    enrolments = _load(session, Enrolment, {i for s in enrolment_ids.values() for i in s},
                       joinedload(Enrolment.provider))
    blobs = _load(session, Blob, every_blob)
    return {
        blob_id: BlobReferences(
            blob=blobs[blob_id], undated=blob_id in undated,
            enrolments={i: enrolments[i] for i in enrolment_ids.get(blob_id, ())},
        )
        for blob_id in every_blob
    }


def _load(session: Session, model, ids: set[int], *options) -> dict:
    loaded = {}
    for ids_slice in _chunks(ids):
        for row in session.scalars(select(model).options(*options).where(model.id.in_(ids_slice))):
            loaded[row.id] = row
    return loaded


def can_purge(blob: Blob, today: date) -> bool:
    """Whether ``blob`` is past retention for every enrolment that refers to it.

    A blob nothing refers to is not this rule's to delete (it may be an upload in
    progress), so it is kept too.
    """
    session = object_session(blob)
    if session is None:
        raise ValueError("can_purge needs a blob loaded in a session")
    refs = references(session, [blob.id]).get(blob.id)
    return refs is not None and refs.purgeable(today)


def purgeable(session: Session, today: date) -> list[BlobReferences]:
    """Every blob past retention, oldest first."""
    found = [refs for refs in references(session).values() if refs.purgeable(today)]
    return sorted(found, key=lambda refs: (refs.kept_until or today, refs.blob.id))


@dataclass(frozen=True)
class PurgedBlob:
    """What a purged blob was, kept as plain values: the rows are gone once it is purged."""

    id: int
    sha256: str
    size: int
    media_type: str
    storage_key: str
    kept_until: date
    # (enrolment id, the day it ended), by id.
    enrolments: tuple[tuple[int, date], ...]

    @classmethod
    def of(cls, refs: BlobReferences) -> PurgedBlob:
        blob = refs.blob
        return cls(
            id=blob.id, sha256=blob.sha256, size=blob.size, media_type=blob.media_type,
            storage_key=blob.storage_key, kept_until=refs.kept_until,  # type: ignore[arg-type]
            enrolments=tuple(sorted((i, ended_on(e)) for i, e in refs.enrolments.items())),  # type: ignore[misc]
        )


@dataclass
class PurgeReport:
    blobs: list[PurgedBlob]
    submission_files: int = 0
    evidence_files: int = 0
    submissions: int = 0
    items: int = 0

    @property
    def storage_keys(self) -> list[str]:
        return [blob.storage_key for blob in self.blobs]

    @property
    def bytes(self) -> int:
        return sum(blob.size for blob in self.blobs)

    @property
    def counts(self) -> dict[str, int]:
        return {"blobs": len(self.blobs), "bytes": self.bytes,
                "submission_files": self.submission_files, "evidence_files": self.evidence_files,
                "submissions": self.submissions, "items": self.items}


def past_retention(session: Session, today: date) -> list[PurgedBlob]:
    """What ``purge_expired`` would purge on ``today``, changing nothing."""
    return [PurgedBlob.of(refs) for refs in purgeable(session, today)]


def purge_expired(session: Session, today: date, *, actor=None, via: str | None = None
                  ) -> PurgeReport:
    """Delete the rows of every blob past retention: its frozen and current file rows, the
    submissions of expired enrolments left without files, the items left without files and
    without submissions, and the blob rows.  Audited per blob and in summary.

    The stored bytes are not touched here: the caller deletes ``report.storage_keys``
    after committing, so that a failed commit never leaves rows without their bytes.
    """
    found = purgeable(session, today)
    report = PurgeReport(blobs=[PurgedBlob.of(refs) for refs in found])
    blob_ids = [blob.id for blob in report.blobs]
    if not blob_ids:
        audit.record(session, "evidence.purge", actor=actor,
                     changes={**report.counts, "today": today.isoformat(), "via": via})
        return report
    for refs in found:
        audit.record(
            session, "evidence.purged", actor=actor, target=refs.blob,
            provider=_single_provider(refs),
            changes={"sha256": refs.blob.sha256, "size": refs.blob.size,
                     "storage_key": refs.blob.storage_key,
                     "enrolments": sorted(refs.enrolments),
                     "kept_until": refs.kept_until.isoformat() if refs.kept_until else None,
                     "via": via},
        )
    submission_ids: set[int] = set()
    item_ids: set[int] = set()
    for ids in _chunks(blob_ids):
        rows = session.execute(select(SubmissionFile.submission_id, SubmissionFile.item_id)
                               .where(SubmissionFile.blob_id.in_(ids))).all()
        submission_ids.update(r.submission_id for r in rows)
        item_ids.update(r.item_id for r in rows)
        report.submission_files += len(rows)
        session.execute(delete(SubmissionFile).where(SubmissionFile.blob_id.in_(ids)),
                        execution_options={"synchronize_session": False})
        files = session.execute(select(EvidenceFile.item_id)
                                .where(EvidenceFile.blob_id.in_(ids))).scalars().all()
        item_ids.update(files)
        report.evidence_files += len(files)
        session.execute(delete(EvidenceFile).where(EvidenceFile.blob_id.in_(ids)),
                        execution_options={"synchronize_session": False})
    # Submissions of expired enrolments with no file left go as a whole (entries cascade).
    for submission in _load(session, Submission, submission_ids,
                            joinedload(Submission.enrolment).joinedload(Enrolment.provider)
                            ).values():
        has_files = session.scalar(select(SubmissionFile.id)
                                   .where(SubmissionFile.submission_id == submission.id).limit(1))
        if has_files is None and is_expired(submission.enrolment, today):
            item_ids.update(session.scalars(select(SubmissionEntry.item_id).where(
                SubmissionEntry.submission_id == submission.id)))
            session.execute(delete(Submission).where(Submission.id == submission.id),
                            execution_options={"synchronize_session": False})
            report.submissions += 1
    # Items left without files, frozen in no remaining submission, whose every enrolment
    # is expired (mappings cascade).
    for item_id in sorted(item_ids):
        if _item_still_needed(session, item_id, today):
            continue
        session.execute(delete(EvidenceItem).where(EvidenceItem.id == item_id),
                        execution_options={"synchronize_session": False})
        report.items += 1
    for ids in _chunks(blob_ids):
        session.execute(delete(Blob).where(Blob.id.in_(ids)),
                        execution_options={"synchronize_session": False})
    session.flush()
    session.expire_all()
    audit.record(session, "evidence.purge", actor=actor,
                 changes={**report.counts, "today": today.isoformat(), "via": via})
    return report


def _single_provider(refs: BlobReferences):
    providers = {e.provider_id: e.provider for e in refs.enrolments.values()}
    return next(iter(providers.values())) if len(providers) == 1 else None


def _item_still_needed(session: Session, item_id: int, today: date) -> bool:
    if session.scalar(select(EvidenceFile.id).where(EvidenceFile.item_id == item_id).limit(1)):
        return True
    for model in (SubmissionEntry, SubmissionFile):
        if session.scalar(select(model.id).where(model.item_id == item_id).limit(1)):
            return True
    item = session.get(EvidenceItem, item_id)
    if item is None:
        return False
    enrolments = list(session.scalars(
        select(Enrolment).options(joinedload(Enrolment.provider))
        .where(Enrolment.candidate_id == item.candidate_id,
               Enrolment.provider_id == item.provider_id)
    ))
    return not enrolments or not all(is_expired(e, today) for e in enrolments)


def storage_deleter() -> Callable[[str], None] | None:
    """The configured storage's ``delete(key)``, or None where no storage backend exists."""
    try:
        from certify.core.storage import current_storage  # type: ignore[import-not-found]
    except ImportError:
        return None
    return current_storage().delete


__all__ = [
    "BlobReferences",
    "PurgeReport",
    "PurgedBlob",
    "can_purge",
    "ended_on",
    "is_expired",
    "kept_until",
    "past_retention",
    "purge_expired",
    "purgeable",
    "references",
    "storage_deleter",
]
