"""What assessment does when something happens elsewhere: a new attempt gets an assessor."""

from __future__ import annotations

from certify.assessors.operations.assignment import assign_automatically
from certify.evidence.operations.submissions import submission_created


@submission_created.connect
def assign_new_submission(submission, *, session, actor=None) -> None:
    """Give a new attempt to the allowed assessor with the fewest open assessments; when nobody
    is allowed it waits, unassigned, for a provider admin."""
    assign_automatically(session, submission, actor=actor)
