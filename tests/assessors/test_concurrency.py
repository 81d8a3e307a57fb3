"""Optimistic locking of assessments: a save or signature made from an older version is
refused with what differs, and nothing is overwritten.

The first tests use the ordinary rolled-back session.  ``TestRealRace`` runs two
independent sessions on two connections to a real, committed database (one fresh
database per test, made by the migrations), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from certify.accounts.models import Role, User
from certify.accounts.operations.authorisations import authorise, today
from certify.assessors.errors import AssessmentConflict, AssessmentError
from certify.assessors.models import Assessment, AssessmentStatus, Judgement
from certify.assessors.operations import marking, quality
from certify.assessors.operations.locking import claim as real_claim
from certify.core import audit
from certify.core.models import AuditEntry
from certify.extensions import db
from tests.assessors.conftest import ALL_RULES, Always, all_marks, assessment_of
from tests.people import PASSWORD


def save(session, assessment, criteria, *, not_yet=frozenset(), rules=None,
         feedback="Mine.", expected_version=None, actor=None):
    return marking.save_marking(
        session, assessment, marks=all_marks(criteria, not_yet=not_yet),
        rules=ALL_RULES if rules is None else rules, feedback=feedback,
        expected_version=assessment.version if expected_version is None else expected_version,
        actor=actor or assessment.assessor)


def changed_fields(error: AssessmentConflict) -> dict[str, tuple[str, str]]:
    return {c.label: (c.saved, c.yours) for c in error.details.changes}


def label(criterion) -> str:
    return f"Criterion {criterion.ref}"


# --- a stale page, in one session ----------------------------------------------------------------


def test_a_stale_version_is_refused_with_exactly_what_differs(app, session, team, submit):
    assessment = assessment_of(session, submit(team))
    criteria = team.criteria
    with app.app_context():
        save(session, assessment, criteria, not_yet={1}, feedback="Saved first.")
        session.commit()
    assert assessment.version == 2
    before = session.scalar(select(func.count()).select_from(AuditEntry))
    # The page was loaded at version 1; it differs in criterion 0 (now not yet), criterion 1
    # (now satisfactory), the "current" rule and the feedback.
    rules = {**ALL_RULES, "current": False}
    with app.app_context(), pytest.raises(AssessmentConflict) as refused:
        save(session, assessment, criteria, not_yet={0}, rules=rules, feedback="Stale page.",
             expected_version=1)
    error = refused.value
    assert error.details.saved_version == 2
    changes = changed_fields(error)
    assert set(changes) == {label(criteria[0]), label(criteria[1]),
                            "Current (rule of evidence)", "Overall feedback"}
    assert changes[label(criteria[0])] == ("satisfactory",
                                           "not yet satisfactory: Show this in a workplace "
                                           "setting")
    assert changes[label(criteria[1])] == ("not yet satisfactory: Show this in a workplace "
                                           "setting", "satisfactory")
    assert changes["Current (rule of evidence)"] == ("confirmed", "not confirmed")
    assert changes["Overall feedback"] == ("Saved first.", "Stale page.")
    assert "saved by someone else" in str(error)
    assert error.details.saved_at
    # Nothing was overwritten, nothing was audited.
    session.rollback()
    session.expire_all()
    assert assessment.version == 2
    assert assessment.feedback == "Saved first."
    assert assessment.rule_current is True
    saved = {j.criterion_id: j.satisfactory for j in assessment.judgements}
    assert saved[criteria[0].id] is True and saved[criteria[1].id] is False
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_a_stale_page_that_says_the_same_is_still_refused_with_no_differences(
        app, session, team, submit):
    assessment = assessment_of(session, submit(team))
    with app.app_context():
        save(session, assessment, team.criteria)
        session.commit()
        with pytest.raises(AssessmentConflict) as refused:
            save(session, assessment, team.criteria, expected_version=1)
    assert refused.value.details.changes == []
    # A version from the future is as wrong as one from the past.
    with app.app_context(), pytest.raises(AssessmentConflict):
        save(session, assessment, team.criteria, expected_version=99)


def test_unjudged_criteria_and_an_empty_feedback_are_shown_as_such(app, session, team, submit):
    assessment = assessment_of(session, submit(team))
    criteria = team.criteria
    with app.app_context():
        save(session, assessment, criteria, feedback="")
        session.commit()
        # The stale page had judged nothing and confirmed no rule.
        with pytest.raises(AssessmentConflict) as refused:
            marking.save_marking(session, assessment, marks={}, rules={}, feedback="",
                                 expected_version=1, actor=assessment.assessor)
    changes = changed_fields(refused.value)
    assert len(changes) == len(criteria) + 4
    assert all(changes[label(c)] == ("satisfactory", "not judged") for c in criteria)
    assert changes["Valid (rule of evidence)"] == ("confirmed", "not confirmed")
    assert "Overall feedback" not in changes


def test_signing_from_a_stale_page_is_refused(app, session, team, submit):
    assessment = assessment_of(session, submit(team))
    with app.app_context():
        save(session, assessment, team.criteria)
        session.commit()
        with pytest.raises(AssessmentConflict):
            marking.sign(session, assessment, actor=assessment.assessor, password=PASSWORD,
                         expected_version=1)
    session.rollback()
    session.expire_all()
    assert assessment.status == AssessmentStatus.DRAFT
    assert assessment.signed_at is None


def test_every_save_raises_the_version_even_when_only_a_judgement_changes(
        app, session, team, submit):
    assessment = assessment_of(session, submit(team))
    with app.app_context():
        save(session, assessment, team.criteria)
        save(session, assessment, team.criteria, not_yet={2})
        save(session, assessment, team.criteria, not_yet={2})
        session.commit()
    assert assessment.version == 4
    assert [e.changes["version"] for e in session.scalars(
        select(AuditEntry).where(AuditEntry.action == "assessment.draft_saved")
        .order_by(AuditEntry.seq))] == [2, 3, 4]


# --- two sessions on a real database -------------------------------------------------------------


class TestRealRace:
    """Two people on two connections, each with their own transaction, as two requests."""

    @pytest.fixture
    def app(self, real_app):
        return real_app

    @pytest.fixture
    def session(self, real_session):
        """A plain session whose commits are real (the fresh database is dropped after)."""
        return real_session

    @pytest.fixture
    def two(self, app, session, team, submit):
        """The assessment to race on, and two fresh sessions each holding it at version 1."""
        assessment = assessment_of(session, submit(team))
        engine = db.state(app).engine
        first, second = Session(engine), Session(engine)
        loaded = []
        for each in (first, second):
            mine = each.get(Assessment, assessment.id)
            assert mine.version == 1 and mine.judgements == []
            loaded.append(mine)
        try:
            yield assessment, first, second, loaded
        finally:
            first.close()
            second.close()

    def read_back(self, app, assessment_id):
        with Session(db.state(app).engine) as check:
            saved = check.get(Assessment, assessment_id)
            return (saved.version, saved.feedback,
                    {j.criterion_id: j.satisfactory for j in saved.judgements},
                    check.scalar(select(func.count()).select_from(Judgement)),
                    audit.verify(check).ok)

    def test_the_second_save_from_version_one_is_refused(self, app, team, two):
        assessment, first, second, (mine, theirs) = two
        criteria_ids = [c.id for c in team.criteria]
        with app.app_context():
            criteria = marking.unit_criteria(first, assessment.unit_id)
            save(first, mine, criteria, not_yet={0}, feedback="First.",
                 actor=first.get(User, assessment.assessor_id))
            first.commit()
            with pytest.raises(AssessmentConflict) as refused:
                save(second, theirs, marking.unit_criteria(second, assessment.unit_id),
                     feedback="Second.", expected_version=1,
                     actor=second.get(User, assessment.assessor_id))
            second.rollback()
        changes = changed_fields(refused.value)
        assert refused.value.details.saved_version == 2
        assert set(changes) == {label(team.criteria[0]), "Overall feedback"}
        assert changes["Overall feedback"] == ("First.", "Second.")
        version, feedback, judgements, rows, chain_ok = self.read_back(app, assessment.id)
        assert (version, feedback) == (2, "First.")
        assert judgements == {cid: i != 0 for i, cid in enumerate(criteria_ids)}
        assert rows == len(criteria_ids)
        assert chain_ok

    def test_a_signature_from_a_page_saved_over_meanwhile_is_refused(self, app, session, team,
                                                                     submit):
        """Two windows hold the fully marked version 2; one saves a change, the other signs
        what it showed: the signature is refused and the draft stays unsigned."""
        assessment = assessment_of(session, submit(team))
        with app.app_context():
            save(session, assessment, team.criteria)
            session.commit()
        engine = db.state(app).engine
        with Session(engine) as first, Session(engine) as second, app.app_context():
            mine, theirs = first.get(Assessment, assessment.id), second.get(Assessment,
                                                                             assessment.id)
            assert mine.version == theirs.version == 2 and len(mine.judgements) > 0
            save(second, theirs, marking.unit_criteria(second, assessment.unit_id),
                 not_yet={0}, feedback="Changed my mind.",
                 actor=second.get(User, assessment.assessor_id))
            second.commit()
            with pytest.raises(AssessmentConflict) as refused:
                marking.sign(first, mine, actor=first.get(User, assessment.assessor_id),
                             password=PASSWORD)
            first.rollback()
        assert label(team.criteria[0]) in changed_fields(refused.value)
        version, feedback, _, _, chain_ok = self.read_back(app, assessment.id)
        assert (version, feedback) == (3, "Changed my mind.")
        with Session(engine) as check:
            saved = check.get(Assessment, assessment.id)
            assert saved.status == AssessmentStatus.DRAFT and saved.signed_at is None
        assert chain_ok

    def test_the_second_waits_for_the_first_still_open_then_is_refused(self, app, team, two,
                                                                      monkeypatch):
        """The first transaction is still open when the second flushes: the second waits (for
        the row lock on PostgreSQL, for the write lock on SQLite), then sees the first's
        version once it commits, and is refused."""
        assessment, first, second, (mine, theirs) = two
        engine = db.state(app).engine
        outcome: dict[str, object] = {}
        with app.app_context():
            save(first, mine, marking.unit_criteria(first, assessment.unit_id),
                 feedback="First.", actor=first.get(User, assessment.assessor_id))
        criteria = marking.unit_criteria(second, assessment.unit_id)
        actor = second.get(User, assessment.assessor_id)
        second_pid = (second.scalar(text("SELECT pg_backend_pid()"))
                      if engine.dialect.name == "postgresql" else None)
        claiming = threading.Event()

        def claim(session, *args):
            if session is second:
                claiming.set()
            return real_claim(session, *args)

        monkeypatch.setattr(marking, "claim", claim)

        def race():
            with app.app_context():
                try:
                    save(second, theirs, criteria, not_yet={3}, feedback="Second.",
                         expected_version=1, actor=actor)
                    outcome["saved"] = True
                except AssessmentConflict as error:
                    outcome["conflict"] = error
                except Exception as error:  # reported by the assertion below
                    outcome["error"] = error
                finally:
                    second.rollback()

        racer = threading.Thread(target=race)
        racer.start()
        try:
            assert claiming.wait(10), "the second save never reached its claim"
            if second_pid is not None:
                with engine.connect() as watch:
                    for _ in range(200):
                        waiting = watch.execute(text(
                            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                            {"pid": second_pid}).scalar()
                        if waiting == "Lock":
                            break
                        time.sleep(0.05)
                assert waiting == "Lock", "the second save did not wait for the first"
            else:
                # SQLite: waiting for the write lock (busy_timeout) at its first write.
                time.sleep(0.5)
            assert racer.is_alive(), "the second save did not wait for the first"
            assert outcome == {}
            first.commit()
        finally:
            first.rollback()  # lets the second go on when an assertion above failed
            racer.join(timeout=30)
        assert not racer.is_alive()
        assert set(outcome) == {"conflict"}, outcome
        changes = changed_fields(outcome["conflict"])
        assert set(changes) == {label(team.criteria[3]), "Overall feedback"}
        version, feedback, judgements, _, chain_ok = self.read_back(app, assessment.id)
        assert (version, feedback) == (2, "First.")
        assert all(judgements.values())
        assert chain_ok

    def test_two_verifiers_answering_at_once_the_second_is_refused(self, app, session, team,
                                                                   submit, decide, make_user):
        second_verifier = make_user("verifier2@north.example", name="Val Verifier",
                                    roles=["verifier"], provider=team.provider)
        authorise(session, team.provider, second_verifier, Role.VERIFIER, unit=team.unit,
                  valid_from=today() - timedelta(days=1), actor=team.admin)
        team.provider.sample_percent = 100
        session.commit()
        assessment = decide(assessment_of(session, submit(team)), team.criteria, rng=Always())
        assert assessment.status == AssessmentStatus.AWAITING_VERIFICATION
        engine = db.state(app).engine
        with Session(engine) as first, Session(engine) as second, app.app_context():
            mine, theirs = (first.get(Assessment, assessment.id),
                            second.get(Assessment, assessment.id))
            quality.verify(first, mine, actor=first.get(User, team.verifier.id), agree=True,
                           comment="")
            first.commit()
            with pytest.raises(AssessmentError, match="now confirmed"):
                quality.verify(second, theirs, actor=second.get(User, second_verifier.id),
                               agree=False, comment="I would not agree.")
            second.rollback()
        with Session(engine) as check:
            saved = check.get(Assessment, assessment.id)
            assert saved.status == AssessmentStatus.CONFIRMED
            assert [(v.verifier_id, v.agreed) for v in saved.verifications] == [
                (team.verifier.id, True)]
            assert check.scalar(select(func.count()).select_from(Assessment)) == 1
            assert audit.verify(check).ok
