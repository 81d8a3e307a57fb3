"""The sampling plan: an assessor's first N decisions per unit, a percentage of the rest at
random, competent after not yet competent, reworks and flagged decisions; what is not sampled
is confirmed at signing."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from certify.accounts.models import Role
from certify.accounts.operations.authorisations import authorise, today
from certify.accounts.operations.enrolments import enrol_candidate
from certify.assessors.errors import AssessmentError, InvalidMarking
from certify.assessors.models import AssessmentKind, AssessmentStatus, Outcome
from certify.assessors.operations import assignment, conflicts, marking, quality
from certify.evidence.operations.submissions import unit_criteria
from certify.units.models import Unit
from tests.assessors.conftest import ALL_RULES, Always, Never, all_marks, assessment_of
from tests.assessors.test_assign import (
    chain_intact,
    enrol_another,
    entries,
    kinds,
    notices,
    submit_enrolment,
)
from tests.evidence.test_submissions import make_item, map_item
from tests.people import PASSWORD
from tests.units.conftest import SFIA_CEXP


def decision(app, session, team, enrolment, person, *, not_yet=frozenset(), rng=None,
             feedback="Fine.", flag: str | None = None):
    """Submit ``enrolment``, make sure ``person`` assesses it, mark and sign."""
    submission = submit_enrolment(app, session, enrolment)
    assessment = assessment_of(session, submission)
    with app.app_context():
        if assessment.assessor_id != person.id:
            assessment = assignment.assign(session, submission, person, actor=team.admin)
        if flag is not None:
            quality.flag(session, assessment, actor=team.admin, reason=flag)
        criteria = unit_criteria(session, enrolment.unit_id)
        marking.save_marking(session, assessment, marks=all_marks(criteria, not_yet=not_yet),
                             rules=ALL_RULES, feedback=feedback,
                             expected_version=assessment.version, actor=person)
        marking.sign(session, assessment, actor=person, password=PASSWORD, rng=rng or Never())
        session.commit()
    return assessment


def plan(session, team, *, first_n=0, percent=0):
    team.provider.sample_first_n = first_n
    team.provider.sample_percent = percent
    session.commit()


@pytest.fixture
def candidates(session, make_user, team):
    """Enrolments of six more candidates of the team's provider, each ready to submit."""
    return [enrol_another(session, make_user, team, f"c{n}@north.example", f"Cand {n}")
            for n in range(6)]


def test_the_first_n_per_assessor_and_per_unit(app, session, team, candidates, import_seed,
                                               make_user):
    ann, bob = team.assessors
    plan(session, team, first_n=2)
    made = [decision(app, session, team, e, ann) for e in candidates[:3]]
    assert [a.sampled for a in made] == [True, True, False]
    assert [a.sample_reason for a in made] == [
        "Decision 1 of the assessor's first 2 on this unit",
        "Decision 2 of the assessor's first 2 on this unit",
        None,
    ]
    assert [a.status for a in made] == [AssessmentStatus.AWAITING_VERIFICATION] * 2 + [
        AssessmentStatus.CONFIRMED]
    # Counted per assessor: Bob's first is sampled after Ann's three.
    bobs = decision(app, session, team, candidates[3], bob)
    assert bobs.sample_reason == "Decision 1 of the assessor's first 2 on this unit"
    # Counted per unit: Ann's first decision on another unit is sampled.
    other = session.get(Unit, import_seed(SFIA_CEXP).outcomes[0].unit_id)
    authorise(session, team.provider, ann, Role.ASSESSOR, unit=other, valid_from=today(),
              actor=team.admin)
    person = make_user("other-unit@north.example", name="Olga Other", roles=["candidate"],
                       provider=team.provider)
    enrolment = enrol_candidate(session, team.provider, person, other, starts_on=today(),
                                actor=team.admin)
    item = make_item(session, enrolment, "Portfolio")
    for criterion in unit_criteria(session, other.id):
        map_item(session, item, enrolment, criterion)
    session.commit()
    elsewhere = decision(app, session, team, enrolment, ann)
    assert elsewhere.sample_reason == "Decision 1 of the assessor's first 2 on this unit"
    # Back on the first unit Ann's fourth is not sampled.
    assert decision(app, session, team, candidates[4], ann).sampled is False


def test_drafts_and_discarded_drafts_do_not_count_among_the_first_n(app, session, team,
                                                                    candidates):
    ann = team.assessors[0]
    plan(session, team, first_n=1)
    first = decision(app, session, team, candidates[0], ann)
    assert first.sample_reason == "Decision 1 of the assessor's first 1 on this unit"
    with app.app_context():
        quality.verify(session, first, actor=team.verifier, agree=True, comment="")
        correction = marking.start_correction(session, first, actor=ann, reason="Typo")
        marking.discard_draft(session, correction, actor=ann)
        session.commit()
    # One signed decision so far, whatever the drafts: the next one is not among the first 1.
    assert decision(app, session, team, candidates[1], ann).sampled is False


@pytest.mark.parametrize(("percent", "rng", "sampled"), [
    (10, Never(), False), (10, Always(), True), (0, Always(), False), (100, Never(), True)])
def test_the_random_percentage_uses_the_injected_source(app, session, team, candidates, percent,
                                                       rng, sampled):
    plan(session, team, percent=percent)
    made = decision(app, session, team, candidates[0], team.assessors[0], rng=rng)
    assert made.sampled is sampled
    if sampled:
        assert made.sample_reason == (f"Chosen at random ({percent}% of the other "
                                      "decisions)")
        assert made.status == AssessmentStatus.AWAITING_VERIFICATION
        assert made.confirmed_at is None
    else:
        assert made.sample_reason is None
        assert made.status == AssessmentStatus.CONFIRMED
        assert made.confirmed_at >= made.signed_at


def test_a_seeded_source_samples_about_the_percentage_of_a_thousand(app, session, team,
                                                                    candidates):
    plan(session, team, percent=10)
    made = decision(app, session, team, candidates[0], team.assessors[0])
    source = random.Random(20240607)
    chosen = sum(quality.sample_reason(session, made, source) is not None for _ in range(1000))
    assert 70 <= chosen <= 130, chosen
    # The same seed draws the same sample.
    again = random.Random(20240607)
    assert sum(quality.sample_reason(session, made, again) is not None
               for _ in range(1000)) == chosen


def test_competent_after_not_yet_competent_is_always_sampled(app, session, team, submit,
                                                             decide):
    plan(session, team)
    first = decide(assessment_of(session, submit(team)), team.criteria, not_yet={0},
                   feedback="Show it at work.")
    assert (first.outcome, first.sampled) == (Outcome.NOT_YET_COMPETENT, False)
    # Not yet competent twice: not sampled by this rule.
    second = decide(assessment_of(session, submit(team)), team.criteria, not_yet={1},
                    feedback="Closer.")
    assert (second.outcome, second.sampled) == (Outcome.NOT_YET_COMPETENT, False)
    third = decide(assessment_of(session, submit(team)), team.criteria)
    assert third.outcome == Outcome.COMPETENT
    assert third.status == AssessmentStatus.AWAITING_VERIFICATION
    assert third.sample_reason == "Competent after a not yet competent decision"
    (signed,) = [e for e in entries(session, "assessment.signed")
                 if e.object_id == str(third.id)]
    assert signed.changes["sampled"] is True
    assert signed.changes["sample_reason"] == "Competent after a not yet competent decision"


def test_another_candidates_earlier_result_does_not_make_it_sampled(app, session, team,
                                                                    candidates, submit,
                                                                    decide):
    plan(session, team)
    ann = team.assessors[0]
    decision(app, session, team, candidates[0], ann, not_yet={0}, feedback="Not yet.")
    mine = decide(assessment_of(session, submit(team)), team.criteria)
    assert mine.sampled is False and mine.status == AssessmentStatus.CONFIRMED


def test_a_flagged_decision_is_always_sampled(app, session, team, candidates):
    plan(session, team)
    made = decision(app, session, team, candidates[0], team.assessors[0],
                    flag="New to this unit")
    assert made.sample_reason == "Flagged for sampling by a provider admin"
    assert made.flag_reason == "New to this unit"
    assert made.flagged_by_id == team.admin.id
    (entry,) = entries(session, "assessment.flagged")
    assert entry.changes == {"reason": "New to this unit"}
    # The flag wins over the other reasons.
    plan(session, team, first_n=5)
    assert decision(app, session, team, candidates[1], team.assessors[0],
                    flag="Again").sample_reason == "Flagged for sampling by a provider admin"


def test_what_a_flag_refuses(app, session, team, submit, decide):
    plan(session, team, percent=100)
    draft = assessment_of(session, submit(team))
    with app.app_context():
        for reason, message in (("", "Say why"), ("   ", "Say why"),
                                ("r" * 2001, "under 2,000 characters")):
            with pytest.raises(AssessmentError, match=message) as refused:
                quality.flag(session, draft, actor=team.admin, reason=reason)
            assert refused.value.field == "reason"
        quality.flag(session, draft, actor=team.admin, reason="Check it")
        with pytest.raises(AssessmentError, match="already flagged"):
            quality.flag(session, draft, actor=team.admin, reason="Twice")
        session.commit()
    decide(draft, team.criteria, rng=Never())
    with app.app_context(), pytest.raises(AssessmentError, match="not yet signed"):
        quality.flag(session, draft, actor=team.admin, reason="Too late")


def test_a_rework_is_always_sampled_and_keeps_the_flag(app, session, team, candidates):
    ann = team.assessors[0]
    plan(session, team)
    made = decision(app, session, team, candidates[0], ann, flag="Spot check")
    with app.app_context():
        quality.verify(session, made, actor=team.verifier, agree=False,
                       comment="Criterion 2 is not shown.")
        session.commit()
    rework = assessment_of(session, made.submission)
    assert rework.kind == AssessmentKind.REWORK and rework.flag_reason == "Spot check"
    with app.app_context():
        marking.sign(session, rework, actor=ann, password=PASSWORD, rng=Never())
        session.commit()
    assert rework.sample_reason == "Flagged for sampling by a provider admin"
    # Without a flag, a rework is sampled because it is a rework.
    plan(session, team, percent=100)
    third = decision(app, session, team, candidates[2], ann, rng=Always())
    with app.app_context():
        quality.verify(session, third, actor=team.verifier, agree=False, comment="Redo.")
        session.commit()
    plan(session, team)
    again = assessment_of(session, third.submission)
    with app.app_context():
        marking.sign(session, again, actor=ann, password=PASSWORD, rng=Never())
        session.commit()
    assert again.sample_reason == "Remade after an internal verifier disagreed"
    assert again.status == AssessmentStatus.AWAITING_VERIFICATION


def test_the_allowed_verifiers_are_told_of_a_sample(app, session, team, candidates, make_user):
    ann = team.assessors[0]
    plan(session, team, first_n=1)
    # A second verifier with a conflict with the candidate, and Ann's colleague who also
    # verifies but is not authorised: neither is told.
    conflicted = make_user("v2@north.example", name="Vic Verifier", roles=["verifier"],
                           provider=team.provider)
    idle = make_user("v3@north.example", name="Una Unauthorised", roles=["verifier"],
                     provider=team.provider)
    authorise(session, team.provider, conflicted, Role.VERIFIER, unit=team.unit,
              valid_from=today() - timedelta(days=1), actor=team.admin)
    with app.app_context():
        conflicts.declare_conflict(session, team.provider, conflicted,
                                   candidates[0].candidate, reason="Neighbour",
                                   actor=conflicted)
    session.commit()
    made = decision(app, session, team, candidates[0], ann)
    (notice,) = notices(session, team.verifier)
    assert notice.kind == "sample_waiting"
    assert notice.title == f"A sampled decision on {team.unit.code} is waiting for verification"
    assert notice.body == ("Ann Assessor's decision on attempt 1 (Decision 1 of the assessor's "
                           "first 1 on this unit).")
    assert notice.url == f"/assessment/assessments/{made.id}"
    assert kinds(session, conflicted) == kinds(session, idle) == []
    # The candidate is told nothing yet.
    assert kinds(session, candidates[0].candidate) == []
    assert chain_intact(session)


def test_the_sample_reason_is_kept_within_its_column(app, session, team, submit):
    draft = assessment_of(session, submit(team))
    with app.app_context():
        quality.send_to_verification(session, draft, "x" * 300)
        session.flush()
    assert draft.sample_reason == "x" * 200
    assert draft.sampled is True


def test_nothing_sampled_means_confirmed_at_signing(app, session, team, candidates):
    plan(session, team)
    made = [decision(app, session, team, e, team.assessors[0]) for e in candidates[:3]]
    assert all(a.status == AssessmentStatus.CONFIRMED and not a.sampled
               and a.sample_reason is None for a in made)
    assert [e.changes["sampled"] for e in entries(session, "assessment.signed")] == [False] * 3
    assert len(entries(session, "assessment.confirmed")) == 3


# --- the settings ------------------------------------------------------------------------------


def test_settings_are_checked_together_and_audited_when_changed(app, session, team):
    provider = team.provider
    with app.app_context():
        quality.update_settings(session, provider, actor=team.admin, sample_first_n=3,
                                sample_percent=25, max_attempts=4, appeal_window_days=21)
        session.commit()
    assert (provider.sample_first_n, provider.sample_percent, provider.max_attempts,
            provider.appeal_window_days) == (3, 25, 4, 21)
    (entry,) = entries(session, "provider.assessment_settings_changed")
    assert entry.changes == {"sample_first_n": [0, 3], "sample_percent": [0, 25],
                             "max_attempts": [3, 4], "appeal_window_days": [14, 21]}
    # The same values again change nothing and write nothing.
    with app.app_context():
        quality.update_settings(session, provider, actor=team.admin, sample_first_n=3,
                                sample_percent=25)
    assert len(entries(session, "provider.assessment_settings_changed")) == 1
    # Every wrong value is named; nothing changes, not even the right ones.
    with app.app_context(), pytest.raises(InvalidMarking) as refused:
        quality.update_settings(session, provider, actor=team.admin, sample_first_n=2,
                                sample_percent=101, max_attempts=0, appeal_window_days=True)
    assert set(refused.value.errors) == {"sample_percent", "max_attempts", "appeal_window_days"}
    assert refused.value.errors["max_attempts"] == ("Attempts allowed per enrolment must be a "
                                                    "whole number from 1 to 20.")
    for wrong in (-1, 1001, "5", 2.5, None):
        with app.app_context(), pytest.raises(InvalidMarking):
            quality.update_settings(session, provider, actor=team.admin, sample_first_n=wrong)
    with app.app_context(), pytest.raises(ValueError, match="unknown setting"):
        quality.update_settings(session, provider, actor=team.admin, colour=3)
    session.rollback()
    assert (provider.sample_first_n, provider.sample_percent, provider.max_attempts,
            provider.appeal_window_days) == (3, 25, 4, 21)
    assert chain_intact(session)
