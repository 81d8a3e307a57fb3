"""The whole assessment flow through the operations, end to end."""

from __future__ import annotations

from certify.accounts.models import EnrolmentStatus
from certify.assessors.models import AssessmentStatus, Outcome
from certify.assessors.operations import quality
from certify.core.models import Notification
from certify.evidence.models import SubmissionStatus
from tests.assessors.conftest import assessment_of


def test_submit_assign_mark_sign_resubmit_competent(app, session, team, submit, decide):
    first = submit(team)
    assessment = assessment_of(session, first)
    assert assessment.assessor_id in {a.id for a in team.assessors}
    decide(assessment, team.criteria, not_yet={0}, feedback="Add a workplace example.")
    session.expire_all()
    assert assessment.status == AssessmentStatus.CONFIRMED
    assert assessment.outcome == Outcome.NOT_YET_COMPETENT
    assert first.status == SubmissionStatus.RETURNED
    second = submit(team)
    again = assessment_of(session, second)
    decide(again, team.criteria)
    session.expire_all()
    assert again.outcome == Outcome.COMPETENT
    # Competent after not yet competent: always sampled.
    assert again.status == AssessmentStatus.AWAITING_VERIFICATION
    assert again.sample_reason == "Competent after a not yet competent decision"
    assert team.enrolment.status == EnrolmentStatus.ACTIVE
    with app.app_context():
        quality.verify(session, again, actor=team.verifier, agree=True, comment="")
        session.commit()
    session.expire_all()
    assert again.status == AssessmentStatus.CONFIRMED
    assert team.enrolment.status == EnrolmentStatus.COMPLETED
    kinds = [n.kind for n in session.query(Notification).filter_by(user_id=team.candidate.id)]
    assert kinds == ["resubmission_requested", "decision_released"]
