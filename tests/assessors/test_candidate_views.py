"""The candidate's assessment pages: decision history with per-criterion feedback, appeals,
and progress per unit; what staff see of the same history; who is refused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from certify.accounts.models import Role
from certify.accounts.operations.authorisations import authorise
from certify.accounts.operations.enrolments import enrol_candidate, today
from certify.assessors.models import (
    Appeal,
    AppealStatus,
    AssessmentKind,
    AssessmentStatus,
    Outcome,
)
from certify.assessors.operations import appeals, marking, quality
from certify.core.models import Notification
from certify.evidence.operations import submissions
from certify.evidence.operations.submissions import unit_criteria
from certify.units.models import Unit
from tests.assessors.conftest import assessment_of
from tests.evidence.test_submissions import make_item, map_item, text
from tests.people import PASSWORD, csrf_token
from tests.units.conftest import HKQF, SFIA_CELO_EN


@pytest.fixture
def browser(app, session):
    """A new signed-in client for ``user`` (several people can be signed in in one test)."""

    def open_as(user):
        client = app.test_client()
        page = client.get("/login")
        answer = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                             "csrf_token": csrf_token(page.get_data(
                                                 as_text=True))})
        assert answer.status_code in (302, 303), answer.status_code
        return client

    return open_as


def decisions_url(team) -> str:
    return f"/assessment/enrolments/{team.enrolment.id}/decisions"


def appeal_url(assessment) -> str:
    return f"/assessment/assessments/{assessment.id}/appeal"


def confirm_if_sampled(app, session, team, assessment) -> None:
    session.refresh(assessment)
    if assessment.status == AssessmentStatus.AWAITING_VERIFICATION:
        with app.app_context():
            quality.verify(session, assessment, actor=team.verifier, agree=True, comment="")
            session.commit()


def post_appeal(client, assessment, statement: str):
    # The account bar's forms carry the session's token on every page.
    token = csrf_token(client.get("/account").get_data(as_text=True))
    return client.post(appeal_url(assessment), data={"csrf_token": token,
                                                      "statement": statement})


STATEMENT = "The workplace example is on page 3 of the audit report I submitted."


# --- the decision history ----------------------------------------------------------------------


def test_candidate_reads_a_released_decision_criterion_by_criterion(
        session, team, submit, decide, browser):
    submission = submit(team)
    assessment = assessment_of(session, submission)
    decide(assessment, team.criteria, not_yet={0}, feedback="Add a workplace example.\nThanks.")
    session.expire_all()
    assert assessment.status == AssessmentStatus.CONFIRMED
    client = browser(team.candidate)
    response = client.get(decisions_url(team))
    assert response.status_code == 200
    page = text(response)
    assert "Attempt 1" in page
    assert "Assessment: Not yet competent" in page
    assert assessment.assessor.name in page
    assert "Add a workplace example." in page
    assert "Show this in a workplace setting" in page
    assert page.count("Not yet satisfactory") == 1
    assert page.count("Satisfactory") == len(team.criteria) - 1
    for label in ("Valid:", "Sufficient:", "Authentic:", "Current:"):
        assert label in page
    assert f"{len(team.criteria) - 1} of {len(team.criteria)}" in page
    # Criteria in the unit's order.
    first, last = team.criteria[0].text, team.criteria[-1].text
    assert page.index(first) < page.index(last)
    assert "Attempts used: 1 of 3" in page
    html = response.get_data(as_text=True)
    assert f'href="/evidence/enrolments/{team.enrolment.id}/submit"' in html
    assert f'href="{appeal_url(assessment)}"' in html
    deadline = appeals.appeal_deadline(assessment)
    assert f"You can appeal until {deadline:%d %b %Y}" in page
    # The table of judgements is captioned and its rows are headed.
    assert "<caption" in html and 'scope="row"' in html


def test_a_sampled_decision_awaiting_verification_tells_the_candidate_nothing(
        session, team, submit, decide, browser):
    team.provider.sample_first_n = 5
    session.commit()
    assessment = assessment_of(session, submit(team))
    decide(assessment, team.criteria, not_yet={0}, feedback="Secret overall feedback")
    session.expire_all()
    assert assessment.status == AssessmentStatus.AWAITING_VERIFICATION
    candidate = browser(team.candidate)
    response = candidate.get(decisions_url(team))
    assert response.status_code == 200
    page = text(response)
    assert "Attempt 1 is being assessed." in page
    for secret in ("Not yet competent", "Competent", "Secret overall feedback",
                   "Show this in a workplace setting", "Satisfactory", "satisfactory",
                   assessment.assessor.name, "Appeal this decision", "Waiting for verification"):
        assert secret not in page, secret
    # Its appeal page does not exist for the candidate, and posting to it changes nothing.
    assert candidate.get(appeal_url(assessment)).status_code == 404
    token = csrf_token(candidate.get("/account").get_data(as_text=True))
    assert candidate.post(appeal_url(assessment), data={"csrf_token": token,
                                                        "statement": STATEMENT}
                          ).status_code == 404
    assert session.scalar(select(func.count()).select_from(Appeal)) == 0
    # Progress: nothing satisfied yet, no outcome.
    progress = text(candidate.get("/assessment/progress"))
    assert f"0 of {len(team.criteria)} criteria satisfied" in progress
    assert "Being assessed" in progress and "Not yet competent" not in progress
    # Staff read it, marked as not released.
    staff = text(browser(team.verifier).get(decisions_url(team)))
    assert "Not yet competent" in staff and "Secret overall feedback" in staff
    assert "Waiting for verification" in staff
    assert "not told this result" in staff


def test_staff_see_drafts_as_being_marked_and_every_attempt_newest_first(
        session, team, submit, decide, browser):
    first = assessment_of(session, submit(team))
    decide(first, team.criteria, not_yet={1}, feedback="Not yet.")
    second = assessment_of(session, submit(team))
    response = browser(team.admin).get(decisions_url(team))
    assert response.status_code == 200
    page = text(response)
    assert page.index("Attempt 2") < page.index("Attempt 1")
    assert f"Being marked Assessment by {second.assessor.name}" in page
    assert f'href="/assessment/assessments/{second.id}"' in response.get_data(as_text=True)
    assert "Attempts used: 2 of 3" in page
    # Staff do not get the candidate's resubmit or appeal links.
    assert "Submit again" not in page and "Appeal this decision" not in page
    # The candidate sees attempt 2 as being assessed, attempt 1 in full.
    mine = text(browser(team.candidate).get(decisions_url(team)))
    assert "Attempt 2 is being assessed." in mine
    assert "Being marked" not in mine and second.assessor.name not in mine.split("Attempt 1")[0]
    assert "Assessment: Not yet competent" in mine
    # The earlier attempt cannot be appealed once a later one is submitted.
    assert "Appeal this decision" not in mine


def test_a_decision_the_verifier_sent_back_is_never_shown_to_the_candidate(
        app, session, team, submit, decide, browser):
    team.provider.sample_first_n = 5
    session.commit()
    assessment = assessment_of(session, submit(team))
    decide(assessment, team.criteria, feedback="Sent back feedback")
    with app.app_context():
        quality.verify(session, assessment, actor=team.verifier, agree=False,
                       comment="Check criterion i again.")
        session.commit()
    session.expire_all()
    assert assessment.status == AssessmentStatus.SENT_BACK
    staff = text(browser(team.admin).get(decisions_url(team)))
    assert "Sent back by the verifier." in staff and "never told this result" in staff
    assert f"Being marked {AssessmentKind.REWORK.label} by" in staff
    mine = text(browser(team.candidate).get(decisions_url(team)))
    assert "Attempt 1 is being assessed." in mine
    assert "Sent back feedback" not in mine and "Competent" not in mine
    assert "Sent back" not in mine


def test_no_attempt_yet_is_an_empty_state(team, browser):
    page = text(browser(team.candidate).get(decisions_url(team)))
    assert "Nothing submitted yet" in page
    assert "Attempts used: 0 of 3" in page


def test_the_last_attempt_allowed_offers_no_resubmission(session, team, submit, decide,
                                                         browser):
    team.provider.max_attempts = 1
    session.commit()
    decide(assessment_of(session, submit(team)), team.criteria, not_yet={0}, feedback="No.")
    page = text(browser(team.candidate).get(decisions_url(team)))
    assert "Attempts used: 1 of 1" in page
    assert "Submit again" not in page
    assert "You have used all 1 attempts" in page


def test_a_competent_decision_offers_no_resubmission(session, team, submit, decide, browser):
    decide(assessment_of(session, submit(team)), team.criteria)
    page = text(browser(team.candidate).get(decisions_url(team)))
    assert "Assessment: Competent" in page
    assert "Submit again" not in page


def test_another_candidate_and_another_provider_get_404(
        session, team, submit, decide, browser, make_user, make_provider):
    assessment = assessment_of(session, submit(team))
    decide(assessment, team.criteria, not_yet={0}, feedback="No.")
    other = make_user("other@north.example", roles=["candidate"], provider=team.provider)
    south = make_provider("South Institute", "south", "STH")
    south_admin = make_user("admin@south.example", roles=["provider_admin"], provider=south)
    for person in (other, south_admin):
        client = browser(person)
        assert client.get(decisions_url(team)).status_code == 404
        assert client.get(appeal_url(assessment)).status_code == 404
    # Staff of the provider may read the history, never appeal for the candidate.
    admin = browser(team.admin)
    assert admin.get(decisions_url(team)).status_code == 200
    assert admin.get(appeal_url(assessment)).status_code == 404
    candidate = browser(team.candidate)
    assert candidate.get("/assessment/enrolments/999999/decisions").status_code == 404
    assert candidate.get("/assessment/assessments/999999/appeal").status_code == 404
    assert candidate.get("/assessment/enrolments/abc/decisions").status_code == 404
    # Beyond the range of an id: not found, on every database.
    assert candidate.get("/assessment/enrolments/99999999999/decisions").status_code == 404
    assert candidate.get("/assessment/assessments/99999999999/appeal").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, team):
    for url in (decisions_url(team), "/assessment/progress", "/assessment/assessments/1/appeal"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- superseded decisions ----------------------------------------------------------------------


def test_a_correction_supersedes_the_decision_and_both_stay(app, session, team, submit, decide,
                                                             browser):
    original = assessment_of(session, submit(team))
    decide(original, team.criteria, not_yet={0}, feedback="Not yet.")
    with app.app_context():
        correction = marking.start_correction(session, original, actor=original.assessor,
                                              reason="I misread the audit report.")
        session.commit()
    decide(correction, team.criteria, feedback="Corrected: all shown.")
    confirm_if_sampled(app, session, team, correction)
    session.expire_all()
    assert original.status == AssessmentStatus.SUPERSEDED
    assert correction.status == AssessmentStatus.CONFIRMED
    page = text(browser(team.candidate).get(decisions_url(team)))
    assert "Correction: Competent" in page
    assert "Assessment: Not yet competent" in page
    assert page.index("Correction: Competent") < page.index("Assessment: Not yet competent")
    assert f"Superseded by the correction of {correction.confirmed_at:%d %B %Y}" in page
    assert "I misread the audit report." in page
    assert "Submit again" not in page


# --- appeals -----------------------------------------------------------------------------------


def test_the_candidate_appeals_and_the_appeal_decision_supersedes(
        app, session, team, submit, decide, browser):
    original = assessment_of(session, submit(team))
    decide(original, team.criteria, not_yet={0}, feedback="Not yet.")
    candidate = browser(team.candidate)
    page = candidate.get(appeal_url(original))
    assert page.status_code == 200
    shown = text(page)
    deadline = appeals.appeal_deadline(original)
    assert f"{deadline:%d %b %Y}" in shown
    assert "Assessment: Not yet competent" in shown
    assert 'for="statement"' in page.get_data(as_text=True)
    response = post_appeal(candidate, original, STATEMENT)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(decisions_url(team))
    session.expire_all()
    appeal = session.scalar(select(Appeal).where(Appeal.assessment_id == original.id))
    assert appeal is not None and appeal.statement == STATEMENT
    assert session.scalar(select(func.count()).select_from(Notification)
                          .where(Notification.user_id == team.admin.id,
                                 Notification.kind == "appeal_lodged")) == 1
    history = text(candidate.get(decisions_url(team)))
    assert STATEMENT in history and AppealStatus.LODGED.label in history
    assert "Appeal this decision" not in history
    # Appealing twice is refused and says why.
    again = post_appeal(candidate, original, STATEMENT + " Again.")
    assert again.status_code == 409
    assert "You have already appealed this decision." in text(again)
    # A different assessor decides the appeal; the new decision replaces the old one.
    other = next(a for a in team.assessors if a.id != original.assessor_id)
    with app.app_context():
        reassessment = appeals.assign_appeal(session, appeal, other, actor=team.admin)
        session.commit()
    decide(reassessment, team.criteria, feedback="On appeal: shown on page 3.")
    confirm_if_sampled(app, session, team, reassessment)
    session.expire_all()
    assert reassessment.kind == AssessmentKind.APPEAL
    assert reassessment.status == AssessmentStatus.CONFIRMED
    history = text(candidate.get(decisions_url(team)))
    assert "Appeal: Competent" in history
    assert (f"Superseded by the appeal decision of {reassessment.confirmed_at:%d %B %Y}"
            in history)
    assert AppealStatus.DECIDED.label in history


@pytest.mark.parametrize(("statement", "message"), [
    ("Too short.", "Write between 20 and 10,000 characters"),
    ("   \n   ", "Write between 20 and 10,000 characters"),
    ("x" * 10001, "Write between 20 and 10,000 characters"),
])
def test_an_appeal_statement_of_the_wrong_length_is_refused(
        session, team, submit, decide, browser, statement, message):
    original = assessment_of(session, submit(team))
    decide(original, team.criteria, not_yet={0}, feedback="Not yet.")
    response = post_appeal(browser(team.candidate), original, statement)
    assert response.status_code == 422
    assert message in text(response)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Appeal)) == 0


def test_an_appeal_without_its_csrf_token_is_refused(session, team, submit, decide, browser):
    original = assessment_of(session, submit(team))
    decide(original, team.criteria, not_yet={0}, feedback="Not yet.")
    response = browser(team.candidate).post(appeal_url(original), data={"statement": STATEMENT})
    assert response.status_code == 400
    assert session.scalar(select(func.count()).select_from(Appeal)) == 0


def test_after_the_window_the_appeal_is_refused_with_its_date(
        session, team, submit, decide, browser):
    original = assessment_of(session, submit(team))
    decide(original, team.criteria, not_yet={0}, feedback="Not yet.")
    original.confirmed_at = original.confirmed_at - timedelta(days=15)
    session.commit()
    deadline = appeals.appeal_deadline(original)
    expected = (f"The time to appeal this decision ended on {deadline:%d %B %Y} "
                "(14 days after it was confirmed).")
    candidate = browser(team.candidate)
    page = candidate.get(appeal_url(original))
    assert page.status_code == 200
    assert expected in text(page)
    assert 'name="statement"' not in page.get_data(as_text=True)
    response = post_appeal(candidate, original, STATEMENT)
    assert response.status_code == 409
    assert expected in text(response)
    assert session.scalar(select(func.count()).select_from(Appeal)) == 0
    history = text(candidate.get(decisions_url(team)))
    assert "Appeal this decision" not in history
    assert expected in history


# --- progress ----------------------------------------------------------------------------------


def test_progress_per_unit_from_the_latest_released_decision(
        session, team, submit, decide, browser):
    decide(assessment_of(session, submit(team)), team.criteria, not_yet={0, 1}, feedback="No.")
    response = browser(team.candidate).get("/assessment/progress")
    assert response.status_code == 200
    page = text(response)
    total = len(team.criteria)
    unit = team.unit
    assert unit.code in page and unit.title in page
    if unit.level is not None:
        assert f"QF level {unit.level}" in page
    if unit.credits is not None:
        assert f"{unit.credits} credit" in page
    assert f"{total - 2} of {total} criteria satisfied" in page
    assert "1 of 3 used" in page
    assert "Not yet competent on" in page
    html = response.get_data(as_text=True)
    assert re.search(rf'<progress id="progress-{team.enrolment.id}" class="coverage__bar" '
                     rf'max="{total}" value="{total - 2}">', html)
    assert f'for="progress-{team.enrolment.id}"' in html
    assert f'href="{decisions_url(team)}"' in html


def test_progress_has_an_empty_state_and_is_for_candidates_only(team, browser, make_user):
    newcomer = make_user("new@north.example", roles=["candidate"], provider=team.provider)
    page = text(browser(newcomer).get("/assessment/progress"))
    assert "No units yet" in page
    for person in (team.admin, team.assessors[0], team.verifier):
        assert browser(person).get("/assessment/progress").status_code == 403


# --- queries per page --------------------------------------------------------------------------


def count_get(count_queries, client, url: str) -> int:
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    return counter.count


def test_the_decisions_page_sends_the_same_queries_for_one_attempt_or_three(
        session, team, submit, decide, browser, count_queries):
    team.provider.max_attempts = 5
    session.commit()
    decide(assessment_of(session, submit(team)), team.criteria, not_yet={0}, feedback="No.")
    candidate, admin = browser(team.candidate), browser(team.admin)
    few = (count_get(count_queries, candidate, decisions_url(team)),
           count_get(count_queries, admin, decisions_url(team)))
    for n in (2, 3):
        decide(assessment_of(session, submit(team)), team.criteria, not_yet={0, n},
               feedback=f"Attempt {n}: not yet.")
    many = (count_get(count_queries, candidate, decisions_url(team)),
            count_get(count_queries, admin, decisions_url(team)))
    assert "Attempt 3" in text(candidate.get(decisions_url(team)))
    assert many == few


def test_the_decisions_page_sends_the_same_queries_however_many_criteria(
        app, session, team, submit, decide, browser, count_queries, seeds, import_bytes,
        make_user):
    decide(assessment_of(session, submit(team)), team.criteria, not_yet={0}, feedback="No.")
    small = count_get(count_queries, browser(team.candidate), decisions_url(team))
    # Version 2 of the unit with 25 more criteria; another candidate's attempt at it, decided
    # the same way.
    extra = b"".join(f"\u25cf Keep record {n} of the programme ".encode() for n in range(25))
    marker = "\u25cf Understand that the ability".encode()
    bigger = (seeds / HKQF).read_bytes().replace(marker, extra + marker, 1)
    unit = session.get(Unit, import_bytes(bigger, "bigger.txt").outcomes[0].unit_id)
    assert unit.version == 2
    for person in team.assessors:
        authorise(session, team.provider, person, Role.ASSESSOR, unit=unit,
                  valid_from=today() - timedelta(days=1), actor=team.admin)
    other = make_user("big@north.example", roles=["candidate"], provider=team.provider)
    enrolment = enrol_candidate(session, team.provider, other, unit, starts_on=today(),
                                actor=team.admin)
    criteria = unit_criteria(session, unit.id)
    assert len(criteria) == len(team.criteria) + 25
    item = make_item(session, enrolment, "Programme records")
    for criterion in criteria:
        map_item(session, item, enrolment, criterion)
    session.commit()
    with app.app_context():
        submission = submissions.submit_attempt(session, enrolment, declaration_text="Mine.",
                                                actor=other)
        session.commit()
    decide(assessment_of(session, submission), criteria, not_yet={0}, feedback="No.")
    client = browser(other)
    url = f"/assessment/enrolments/{enrolment.id}/decisions"
    large = count_get(count_queries, client, url)
    assert "Keep record 24 of the programme" in text(client.get(url))
    assert large == small


def test_the_progress_page_sends_the_same_queries_for_one_unit_or_two(
        session, team, submit, decide, browser, count_queries, import_seed):
    decide(assessment_of(session, submit(team)), team.criteria, not_yet={0}, feedback="No.")
    client = browser(team.candidate)
    few = count_get(count_queries, client, "/assessment/progress")
    report = import_seed(SFIA_CELO_EN)
    other = session.get(Unit, report.outcomes[0].unit_id)
    enrolment = enrol_candidate(session, team.provider, team.candidate, other,
                                starts_on=today(), actor=team.admin)
    item = make_item(session, enrolment, "Customer survey")
    map_item(session, item, enrolment, other.criteria[0])
    session.commit()
    assert count_get(count_queries, client, "/assessment/progress") == few
    page = text(client.get("/assessment/progress"))
    assert other.code in page and "Nothing submitted yet" in page


def test_outcomes_on_the_progress_page_follow_the_latest_decision(
        app, session, team, submit, decide, browser):
    first = assessment_of(session, submit(team))
    decide(first, team.criteria, not_yet={0}, feedback="No.")
    second = assessment_of(session, submit(team))
    decide(second, team.criteria)
    confirm_if_sampled(app, session, team, second)
    session.expire_all()
    assert second.outcome == Outcome.COMPETENT
    page = text(browser(team.candidate).get("/assessment/progress"))
    total = len(team.criteria)
    assert f"{total} of {total} criteria satisfied" in page
    assert "Competent on" in page and "2 of 3 used" in page
