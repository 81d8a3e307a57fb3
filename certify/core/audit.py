"""The append-only audit trail.  Every entry stores the hash of the one before it.

``record`` is called by operations (it flushes, the caller commits); ``verify``
walks the chain and names the first entry whose contents or links do not match,
so that an edit or a deletion made behind the application's back is found.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from certify.core.models import AuditEntry, AuditHead
from certify.core.types import utcnow

GENESIS = "0" * 64


def _canonical(value: Any) -> Any:
    """What JSON will store, so that the hash is computed over what is read back."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False, sort_keys=True))


def entry_hash(entry: AuditEntry) -> str:
    payload = {
        "seq": entry.seq,
        "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": entry.actor_id,
        "actor_email": entry.actor_email,
        "provider_id": entry.provider_id,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "changes": entry.changes,
        "ip": entry.ip,
        "prev_hash": entry.prev_hash,
    }
    data = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def record(
    session: Session,
    action: str,
    *,
    actor: Any = None,
    provider: Any = None,
    target: Any = None,
    changes: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Append an entry: ``actor`` did ``action`` to ``target``, acting for ``provider``.

    ``changes`` holds the values that changed ({"field": [old, new]} or plain
    values).  The head row is updated first, which locks it on every database, so
    concurrent appends take their turn and the chain never forks.
    """
    if target is not None and getattr(target, "id", None) is None:
        session.flush()
    head = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.last_hash)
    ).one()
    entry = AuditEntry(
        seq=head.seq,
        at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_email=getattr(actor, "email", None),
        provider_id=getattr(provider, "id", None),
        action=action,
        object_type=type(target).__name__ if target is not None else None,
        object_id=str(target.id) if target is not None else None,
        changes=_canonical(changes or {}),
        ip=ip,
        prev_hash=head.last_hash,
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=entry.hash))
    session.flush()
    return entry


@dataclass
class ChainReport:
    checked: int
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify(session: Session) -> ChainReport:
    """Check every entry's hash and link, oldest first; stop at the first that fails."""
    entries = session.scalars(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=500)
    )
    # A server-side cursor on PostgreSQL: closed even when the walk stops early.
    try:
        return _walk(session, entries)
    finally:
        entries.close()


def _walk(session: Session, entries) -> ChainReport:
    previous_hash, expected_seq, checked = GENESIS, 1, 0
    for entry in entries:
        if entry.seq != expected_seq:
            return ChainReport(checked, expected_seq, f"entry {expected_seq} is missing")
        if entry.prev_hash != previous_hash:
            return ChainReport(
                checked, entry.seq, "its link to the previous entry does not match"
            )
        if entry_hash(entry) != entry.hash:
            return ChainReport(checked, entry.seq, "its contents do not match its hash")
        previous_hash, expected_seq, checked = entry.hash, expected_seq + 1, checked + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != checked or head.last_hash != previous_hash):
        return ChainReport(
            checked, checked + 1, f"the chain ends at entry {checked} but {head.seq} were written"
        )
    return ChainReport(checked)
