"""Evidence items: creating, editing and deleting them, their files, and their mappings.

Every function flushes and writes an audit entry; the caller commits once.  An
item that was submitted is locked (``locked_at``): its text and files are fixed
from then on, and changing them raises ``ItemLocked``.  Its mappings may still
change, because they matter for the next attempt (each attempt froze its own).

A file removed from an item (or an item deleted with its files) leaves its blob
row and its bytes in storage, even when nothing refers to them any more: blobs
are shared by identical uploads and by frozen submissions, so deleting one here
could race a concurrent upload of the same bytes; the retention purge decides
later what unreferenced bytes may go.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session, scoped_session

from certify.accounts.models import Enrolment, Provider, User
from certify.core import audit
from certify.evidence.models import EvidenceFile, EvidenceItem, EvidenceKind, Mapping
from certify.evidence.uploads import display_name_for, receive_upload
from certify.units.models import Criterion

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
URL_MAX = 2000
EXPLANATION_MAX = 2000


class ItemError(Exception):
    """A change to evidence that cannot be made; ``str()`` is a sentence for the person."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ItemLocked(ItemError):
    """The item was submitted: its text and files can no longer change."""

    def __init__(self, item: EvidenceItem) -> None:
        when = item.locked_at.strftime("%d %B %Y") if item.locked_at else "earlier"
        super().__init__(
            f"“{item.title}” was submitted for assessment on {when}, so it can no longer be "
            "changed or deleted. Add a new item for new evidence; you can still change which "
            "criteria it is mapped to."
        )
        self.item = item


class MappingError(ItemError):
    """A mapping that may not be made (wrong unit, someone else's enrolment, no explanation)."""


# --- Items --------------------------------------------------------------------------------------


def _clean_fields(title: str, description: str, kind: EvidenceKind | str, url: str | None
                  ) -> dict[str, Any]:
    """The item's fields, checked; raises ``ItemError`` naming the field."""
    title = " ".join((title or "").split())
    if not title:
        raise ItemError("Enter a title.", "title")
    if len(title) > TITLE_MAX:
        raise ItemError(f"The title must be at most {TITLE_MAX} characters.", "title")
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise ItemError(f"The description must be at most {DESCRIPTION_MAX} characters.",
                        "description")
    try:
        kind = EvidenceKind(kind)
    except ValueError:
        raise ItemError("Choose the type of evidence.", "kind") from None
    url = (url or "").strip() or None
    if kind == EvidenceKind.LINK:
        if url is None:
            raise ItemError("Enter the address the link points to.", "url")
        check_url(url)
    else:
        # Only links carry an address; a stale one from a changed kind is dropped.
        url = None
    return {"title": title, "description": description, "kind": kind, "url": url}


def check_url(url: str) -> str:
    """An http(s) address with a host; anything else (javascript:, data:, files) is refused."""
    if len(url) > URL_MAX:
        raise ItemError(f"The address must be at most {URL_MAX} characters.", "url")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise ItemError("The address must not contain spaces or control characters.", "url")
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise ItemError("Enter a web address starting with https:// or http://.", "url")
    return url


def create_item(
    session: Session,
    candidate: User,
    provider: Provider,
    *,
    title: str,
    kind: EvidenceKind | str,
    description: str = "",
    url: str | None = None,
    actor: User | None,
) -> EvidenceItem:
    """A new draft evidence item of ``candidate`` in ``provider``, without files yet."""
    fields = _clean_fields(title, description, kind, url)
    item = EvidenceItem(candidate=candidate, provider=provider, **fields)
    session.add(item)
    session.flush()
    audit.record(session, "evidence.item_created", actor=actor, provider=provider, target=item,
                 changes={"title": item.title, "kind": item.kind.value, "url": item.url})
    return item


def update_item(
    session: Session,
    item: EvidenceItem,
    *,
    title: str,
    kind: EvidenceKind | str,
    description: str = "",
    url: str | None = None,
    actor: User | None,
) -> dict[str, list[Any]]:
    """Change a draft item's text; returns what changed ({field: [old, new]})."""
    if item.is_locked:
        raise ItemLocked(item)
    fields = _clean_fields(title, description, kind, url)
    changes: dict[str, list[Any]] = {}
    for name, value in fields.items():
        old = getattr(item, name)
        if old != value:
            changes[name] = [getattr(old, "value", old), getattr(value, "value", value)]
            setattr(item, name, value)
    if changes:
        session.flush()
        audit.record(session, "evidence.item_updated", actor=actor, provider=item.provider,
                     target=item, changes=changes)
    return changes


def delete_item(session: Session, item: EvidenceItem, *, actor: User | None) -> None:
    """Delete a draft item with its files and mappings (their blobs stay, see the module)."""
    if item.is_locked:
        raise ItemLocked(item)
    changes = {
        "title": item.title,
        "kind": item.kind.value,
        "files": [{"name": f.display_name, "sha256": f.blob.sha256} for f in item.files],
        "mappings": len(item.mappings),
    }
    audit.record(session, "evidence.item_deleted", actor=actor, provider=item.provider,
                 target=item, changes=changes)
    session.delete(item)
    session.flush()


# --- Files --------------------------------------------------------------------------------------


def add_file(
    session: Session, item: EvidenceItem, stream: BinaryIO, filename: str | None, *,
    actor: User | None,
) -> EvidenceFile:
    """Store an uploaded file and attach it to a draft item, after the item's other files.

    The bytes go through ``uploads.receive_upload`` (streamed, typed by their
    content, limited, scanned), whose ``UploadError`` passes through unchanged.
    """
    if item.is_locked:
        raise ItemLocked(item)
    display_name = display_name_for(filename or "")
    # The upload pipeline tracks the transaction it stored bytes in, which needs the
    # session itself rather than Flask-SQLAlchemy's per-request proxy.
    real = session() if isinstance(session, scoped_session) else session
    blob = receive_upload(real, stream, display_name, candidate=item.candidate,
                          provider=item.provider)
    position = session.scalar(
        select(func.coalesce(func.max(EvidenceFile.position), 0))
        .where(EvidenceFile.item_id == item.id)
    ) + 1
    evidence_file = EvidenceFile(item=item, blob=blob, display_name=display_name,
                                 position=position)
    session.add(evidence_file)
    session.flush()
    audit.record(session, "evidence.file_added", actor=actor, provider=item.provider,
                 target=evidence_file,
                 changes={"item": item.id, "name": display_name, "sha256": blob.sha256,
                          "size": blob.size, "media_type": blob.media_type})
    return evidence_file


def remove_file(session: Session, evidence_file: EvidenceFile, *, actor: User | None) -> None:
    """Take a file off a draft item (its blob stays, see the module)."""
    item = evidence_file.item
    if item.is_locked:
        raise ItemLocked(item)
    audit.record(session, "evidence.file_removed", actor=actor, provider=item.provider,
                 target=evidence_file,
                 changes={"item": item.id, "name": evidence_file.display_name,
                          "sha256": evidence_file.blob.sha256})
    item.files.remove(evidence_file)
    session.flush()


# --- Mappings -----------------------------------------------------------------------------------


@dataclass
class MappingChanges:
    added: list[Mapping] = field(default_factory=list)
    removed: int = 0
    changed: list[Mapping] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def _describe(enrolment: Enrolment, criterion: Criterion) -> str:
    return f"{enrolment.id}:{criterion.ref}"


def set_mappings(
    session: Session,
    item: EvidenceItem,
    wanted: Iterable[tuple[Enrolment, Criterion, str]],
    actor: User | None,
) -> MappingChanges:
    """Make ``item``'s mappings exactly ``wanted``: (enrolment, criterion, explanation) each.

    Mappings not in ``wanted`` are removed, new ones added, changed explanations
    updated.  Every enrolment must be the item's candidate's in the item's
    provider, and every criterion must belong to that enrolment's unit version;
    otherwise ``MappingError`` is raised and nothing changes.  Allowed on locked
    items: an attempt already submitted keeps the mappings it froze.
    """
    wanted = list(wanted)
    cleaned: dict[tuple[int, int], tuple[Enrolment, Criterion, str]] = {}
    for enrolment, criterion, explanation in wanted:
        if enrolment.candidate_id != item.candidate_id or enrolment.provider_id != item.provider_id:
            raise MappingError("Evidence can only be mapped to your own enrolments at "
                               f"{item.provider.name}.")
        if criterion.unit_id != enrolment.unit_id:
            raise MappingError(
                f"Criterion {criterion.ref} is not part of the unit version of that enrolment."
            )
        explanation = (explanation or "").strip()
        if not explanation:
            raise MappingError(f"Explain how this evidence shows criterion {criterion.ref}.",
                               f"explanation-{enrolment.id}-{criterion.id}")
        if len(explanation) > EXPLANATION_MAX:
            raise MappingError(
                f"The explanation for criterion {criterion.ref} must be at most "
                f"{EXPLANATION_MAX} characters.", f"explanation-{enrolment.id}-{criterion.id}")
        key = (enrolment.id, criterion.id)
        if key in cleaned:
            raise MappingError(f"Criterion {criterion.ref} is chosen twice.")
        cleaned[key] = (enrolment, criterion, explanation)

    result = MappingChanges()
    log: dict[str, Any] = {"added": [], "removed": [], "changed": []}
    for mapping in list(item.mappings):
        key = (mapping.enrolment_id, mapping.criterion_id)
        if key not in cleaned:
            log["removed"].append(_describe(mapping.enrolment, mapping.criterion))
            item.mappings.remove(mapping)
            result.removed += 1
            continue
        _, _, explanation = cleaned.pop(key)
        if mapping.explanation != explanation:
            log["changed"].append(_describe(mapping.enrolment, mapping.criterion))
            mapping.explanation = explanation
            result.changed.append(mapping)
    for enrolment, criterion, explanation in cleaned.values():
        mapping = Mapping(item=item, enrolment=enrolment, criterion=criterion,
                          explanation=explanation)
        session.add(mapping)
        log["added"].append(_describe(enrolment, criterion))
        result.added.append(mapping)
    if result.any:
        session.flush()
        audit.record(session, "evidence.mappings_changed", actor=actor, provider=item.provider,
                     target=item, changes={k: v for k, v in log.items() if v})
    return result


__all__ = [
    "ItemError",
    "ItemLocked",
    "MappingChanges",
    "MappingError",
    "add_file",
    "check_url",
    "create_item",
    "delete_item",
    "remove_file",
    "set_mappings",
    "update_item",
]
