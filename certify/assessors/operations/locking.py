"""Claiming an assessment before changing it, so that a change made from an older version is
refused cleanly instead of failing in the middle of a flush.

The version column alone makes the database refuse a stale UPDATE, but only at
flush, and a failed flush leaves the whole transaction unusable (nothing left to
read what the other person saved).  ``claim`` is therefore the first write of an
operation: a no-op UPDATE guarded by the version.  On PostgreSQL it takes the row
lock, waiting for a transaction that changed the row to end; on SQLite it is the
write that takes the database's write lock (BEGIN IMMEDIATE, see core.database)
and then reads what was committed.  Either way it matches no row when somebody
else saved first, and the transaction is still fine to read from and explain.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from certify.assessors.models import Assessment


def claim(session: Session, assessment: Assessment, version: int) -> bool:
    """Lock ``assessment``'s row for this transaction; False when its saved version is no
    longer ``version`` (someone saved it since), and then nothing is locked or changed."""
    result = session.execute(
        update(Assessment)
        .where(Assessment.id == assessment.id, Assessment.version == version)
        # Both set to themselves: no change, and no onupdate timestamp either.
        .values(version=Assessment.version, updated_at=Assessment.updated_at)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
