"""Assessment news by mail, through a real SMTP server on 127.0.0.1: each notification is mailed
once its transaction commits, with a link built from CERTIFY_BASE_URL, and nothing is mailed
for work that was rolled back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from certify import create_app
from certify.accounts.operations.authorisations import revoke_authorisation
from certify.assessors.errors import AssessmentError
from certify.assessors.operations import appeals, marking, quality
from certify.core import notifications
from certify.core.models import Notification, OutboxMessage
from certify.evidence.operations import submissions
from certify.extensions import db
from tests.assessors.conftest import ALL_RULES, Always, Never, all_marks, assessment_of
from tests.assessors.test_assign import grant_of
from tests.core.test_mail import Collector, free_port
from tests.people import PASSWORD

BASE = "https://certify.example.org/"


@pytest.fixture
def mailbox() -> Iterator[Collector]:
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=5)
    controller.start()
    try:
        handler.port = controller.port
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def mail_app(app, session, mailbox, tmp_path):
    """The application on the test's database and transaction, mailing through SMTP."""
    other = create_app({
        "ENV": "testing", "DATABASE_URL": app.config["DATABASE_URL"],
        "SMTP_URL": f"smtp://127.0.0.1:{mailbox.port}", "BASE_URL": BASE,
        "INSTANCE_PATH": str(tmp_path), "SERVER_NAME": "certify.test",
    })
    db.bind_session(other, session.bind, join_transaction_mode="create_savepoint")
    yield other
    db.state(other).engine.dispose()


def notices_of(session, user) -> list[str]:
    return list(session.scalars(select(Notification.kind).where(
        Notification.user_id == user.id).order_by(Notification.id)))


def mails(mailbox: Collector) -> list[tuple[str, str, str, str]]:
    """(recipient, subject, plain text, html) of every message received, in order."""
    found = []
    for envelope, message in zip(mailbox.envelopes, mailbox.messages(), strict=True):
        assert envelope.rcpt_tos == [message["To"]]
        # A long subject may be folded right after "Subject:"; unfolded, the parser keeps
        # the space that began the continuation line.
        found.append((message["To"], message["Subject"].lstrip(),
                      message.get_body(("plain",)).get_content(),
                      message.get_body(("html",)).get_content()))
    return found


def submit(mail_app, session, team):
    with mail_app.app_context():
        submission = submissions.submit_attempt(session, team.enrolment,
                                                declaration_text="Mine.", actor=team.candidate)
        session.commit()
    return submission


def decide(mail_app, session, assessment, criteria, *, not_yet=frozenset(), rng=None,
           feedback="Reasons."):
    with mail_app.app_context():
        marking.save_marking(session, assessment, marks=all_marks(criteria, not_yet=not_yet),
                             rules=ALL_RULES, feedback=feedback,
                             expected_version=assessment.version, actor=assessment.assessor)
        marking.sign(session, assessment, actor=assessment.assessor, password=PASSWORD,
                     rng=rng or Never())
        session.commit()
    return assessment


def test_submission_received_is_mailed_to_the_assessor_after_commit(mail_app, mailbox,
                                                                    session, team):
    with mail_app.app_context():
        submission = submissions.submit_attempt(session, team.enrolment,
                                                declaration_text="Mine.", actor=team.candidate)
        session.flush()
        # Written, not yet committed: nothing is sent.
        assert mailbox.envelopes == []
        session.commit()
    assessment = assessment_of(session, submission)
    ((to, subject, text, html),) = mails(mailbox)
    assert to == "assessor1@north.example"
    title = f"{team.unit.code} attempt 1 of Chen Candidate is waiting for your assessment"
    assert subject == f"certify: {title}"
    link = f"https://certify.example.org/assessment/assessments/{assessment.id}"
    assert "Hello Ann Assessor," in text
    assert f"{title} (North College)" in text
    assert link in text
    assert f'<a href="{link}">' in html
    # The same news in the application, with a path (never an outside address).
    (notice,) = session.scalars(select(Notification).where(
        Notification.user_id == team.assessors[0].id)).all()
    assert notice.url == f"/assessment/assessments/{assessment.id}"
    # Mailed, so nothing waits in the outbox.
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_resubmission_requested_reaches_the_candidate_and_a_sample_the_verifier(
        mail_app, mailbox, session, team):
    decide(mail_app, session, assessment_of(session, submit(mail_app, session, team)),
           team.criteria, not_yet={0}, feedback="Show it at work.")
    decide(mail_app, session, assessment_of(session, submit(mail_app, session, team)),
           team.criteria, feedback="All there.")
    to_candidate = [m for m in mails(mailbox) if m[0] == "cand@north.example"]
    link = f"https://certify.example.org/assessment/enrolments/{team.enrolment.id}/decisions"
    assert [m[1] for m in to_candidate] == [
        f"certify: {team.unit.code} attempt 1: not yet competent; please resubmit",
    ]
    (resubmit,) = to_candidate
    assert "You have 2 more attempts." in resubmit[2]
    assert link in resubmit[2] and f'href="{link}"' in resubmit[3]
    # Attempt 2 was competent after not yet competent: sampled, so not released yet; the
    # verifier is mailed instead, and the candidate once the verifier agrees.
    waiting = [m for m in mails(mailbox) if m[0] == "verifier@north.example"]
    assert [m[1] for m in waiting] == [
        f"certify: A sampled decision on {team.unit.code} is waiting for verification"]
    assert "Competent after a not yet competent decision" in waiting[0][2]
    assert "https://certify.example.org/assessment/assessments/" in waiting[0][2]


def test_a_competent_decision_released_after_verification(mail_app, mailbox, session, team):
    team.provider.sample_percent = 100
    session.commit()
    made = decide(mail_app, session, assessment_of(session, submit(mail_app, session, team)),
                  team.criteria, rng=Always())
    ((_, subject, text, _),) = [m for m in mails(mailbox) if m[0] == "verifier@north.example"]
    assert f"https://certify.example.org/assessment/assessments/{made.id}" in text
    assert [m for m in mails(mailbox) if m[0] == "cand@north.example"] == []
    with mail_app.app_context():
        quality.verify(session, made, actor=team.verifier, agree=True, comment="")
        session.commit()
    ((_, subject, text, _),) = [m for m in mails(mailbox) if m[0] == "cand@north.example"]
    assert subject == f"certify: {team.unit.code} attempt 1: competent"
    assert "Your assessor's feedback on every criterion is ready to read." in text


def test_a_disagreement_mails_the_assessor_and_not_the_candidate(mail_app, mailbox, session,
                                                                 team):
    team.provider.sample_percent = 100
    session.commit()
    made = decide(mail_app, session, assessment_of(session, submit(mail_app, session, team)),
                  team.criteria, rng=Always())
    before = len(mailbox.envelopes)
    with mail_app.app_context():
        quality.verify(session, made, actor=team.verifier, agree=False,
                       comment="Criterion 2 is not shown.")
        session.commit()
    new = mails(mailbox)[before:]
    assert [m[0] for m in new] == ["assessor1@north.example"] * 2
    assert {m[1] for m in new} == {
        f"certify: Internal verification disagreed with your decision on {team.unit.code}",
        f"certify: {team.unit.code} attempt 1 of Chen Candidate was sent back by internal "
        "verification"}


def test_appeal_lodged_reaches_the_admins_and_decided_the_candidate(mail_app, mailbox, session,
                                                                    team):
    original = decide(mail_app, session,
                      assessment_of(session, submit(mail_app, session, team)), team.criteria,
                      not_yet={0}, feedback="Not yet.")
    statement = "My <b>second</b> report & its appendix show criterion one."
    with mail_app.app_context():
        appeal = appeals.lodge_appeal(session, original, actor=team.candidate,
                                      statement=statement)
        session.commit()
    ((_, subject, text, html),) = [m for m in mails(mailbox) if m[0] == "admin@north.example"]
    assert subject == f"certify: Chen Candidate appealed the decision on {team.unit.code}"
    assert statement in text
    # The candidate's words are escaped in the HTML part.
    assert "My &lt;b&gt;second&lt;/b&gt; report &amp; its appendix" in html
    assert "<b>second</b>" not in html
    assert 'href="https://certify.example.org/assessment/appeals"' in html
    with mail_app.app_context():
        reassessment = appeals.assign_appeal(session, appeal, team.assessors[1],
                                             actor=team.admin)
        session.commit()
    assigned = [m for m in mails(mailbox) if m[0] == "assessor2@north.example"]
    assert [m[1] for m in assigned] == [
        f"certify: {team.unit.code} attempt 1 of Chen Candidate is appealed and assigned to "
        "you for reassessment"]
    decide(mail_app, session, reassessment, team.criteria, not_yet={0, 1}, feedback="Upheld.")
    decided = [m for m in mails(mailbox) if m[0] == "cand@north.example"][-1]
    assert decided[1] == f"certify: Your appeal on {team.unit.code} is decided: not yet competent"
    assert "both stay in your history" in decided[2]
    assert (f"https://certify.example.org/assessment/enrolments/{team.enrolment.id}/decisions"
            in decided[2])


def test_nothing_is_mailed_when_the_transaction_rolls_back(mail_app, mailbox, session, team):
    with mail_app.app_context():
        submission = submissions.submit_attempt(session, team.enrolment,
                                                declaration_text="Mine.", actor=team.candidate)
        session.rollback()
    assert mailbox.envelopes == []
    assert session.scalar(select(func.count()).select_from(Notification)) == 0
    # The same work committed is mailed: the harness itself works.
    assert submission.attempt == 1
    submit(mail_app, session, team)
    assert [m[0] for m in mails(mailbox)] == ["assessor1@north.example"]


def test_a_verification_rolled_back_mails_nothing(mail_app, mailbox, session, team):
    """The verifier agrees (the candidate's mail is queued), then the request fails and
    rolls back: the candidate is mailed nothing; a refused answer queues nothing either."""
    team.provider.sample_percent = 100
    session.commit()
    made = decide(mail_app, session, assessment_of(session, submit(mail_app, session, team)),
                  team.criteria, rng=Always())
    before = len(mailbox.envelopes)
    with mail_app.app_context():
        quality.verify(session, made, actor=team.verifier, agree=True, comment="")
        assert notices_of(session, team.candidate) == ["decision_released"]
        session.rollback()
        for person in team.assessors:
            revoke_authorisation(session, grant_of(session, team, person), actor=team.admin)
        session.commit()
        with pytest.raises(AssessmentError):
            quality.verify(session, made, actor=team.verifier, agree=False, comment="Redo.")
        session.rollback()
    assert len(mailbox.envelopes) == before
    assert notices_of(session, team.candidate) == []
    session.expire_all()
    assert made.status.value == "awaiting_verification"


def test_a_mail_queued_in_a_savepoint_that_is_undone_is_not_sent(mail_app, mailbox, session,
                                                                 team):
    with mail_app.app_context():
        kept = notifications.notify(session, team.candidate, "decision_released", "Kept",
                                    endpoint="assessors.decisions",
                                    enrolment_id=team.enrolment.id, provider=team.provider)
        nested = session.begin_nested()
        notifications.notify(session, team.candidate, "decision_released", "Undone",
                             provider=team.provider)
        nested.rollback()
        session.commit()
    assert kept.id is not None
    assert [m[1] for m in mails(mailbox)] == ["certify: Kept"]
    assert session.scalars(select(Notification.title)).all() == ["Kept"]


def test_an_unknown_kind_is_a_programming_error(mail_app, session, team):
    with mail_app.app_context(), pytest.raises(ValueError, match="unknown notification kind"):
        notifications.notify(session, team.candidate, "made_up", "Nope")
