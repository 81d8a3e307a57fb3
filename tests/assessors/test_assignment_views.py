"""The assignments page and its assign action, flagging a decision for sampling, and the
provider's assessment settings: what admins see and do, and every refusal."""

from __future__ import annotations

from sqlalchemy import func, select

from certify.accounts.models import Enrolment, Provider, Role
from certify.accounts.operations.authorisations import authorise, today
from certify.accounts.operations.enrolments import enrol_candidate
from certify.assessors.models import Assessment, AssessmentStatus
from certify.assessors.operations import appeals, assignment
from certify.assessors.operations.conflicts import declare_conflict, withdraw_conflict
from certify.core.models import AuditEntry
from certify.evidence.models import Submission, SubmissionStatus
from certify.evidence.operations import submissions
from tests.assessors.conftest import assessment_of
from tests.evidence.test_submissions import make_item, map_item, text
from tests.people import csrf_token

# --- building blocks ---------------------------------------------------------------------------


def add_candidate(session, make_user, team, n: int, name: str | None = None) -> Enrolment:
    """Another candidate of the team's provider, enrolled on its unit with evidence mapped to
    every criterion (not submitted)."""
    person = make_user(f"cand{n}@north.example", name=name or f"Cara Candidate {n}",
                       roles=["candidate"], provider=team.provider)
    enrolment = enrol_candidate(session, team.provider, person, team.unit, starts_on=today(),
                                actor=team.admin)
    item = make_item(session, enrolment, f"Evidence of {person.name}")
    for criterion in team.criteria:
        map_item(session, item, enrolment, criterion)
    session.commit()
    return enrolment


def submit_enrolment(app, session, enrolment: Enrolment) -> Submission:
    """Submit as the candidate; an allowed assessor is given it automatically."""
    with app.app_context():
        submission = submissions.submit_attempt(session, enrolment, declaration_text="Mine.",
                                                actor=enrolment.candidate)
        session.commit()
    return submission


def submit_unassigned(app, session, team, enrolment: Enrolment) -> Submission:
    """Submit while every assessor has a conflict with the candidate, so nobody is given the
    attempt, then withdraw the conflicts: the attempt waits for an admin."""
    with app.app_context():
        declared = [declare_conflict(session, team.provider, person, enrolment.candidate,
                                     reason="Neighbour", actor=team.admin)
                    for person in team.assessors]
        submission = submissions.submit_attempt(session, enrolment, declaration_text="Mine.",
                                                actor=enrolment.candidate)
        for conflict in declared:
            withdraw_conflict(session, conflict, actor=team.admin)
        session.commit()
    assert assignment.open_assessment(session, submission) is None
    return submission


def token(client) -> str:
    return csrf_token(client.get("/account").get_data(as_text=True))


def assessments_of(session, submission: Submission) -> list[Assessment]:
    session.expire_all()
    return list(session.scalars(select(Assessment).where(
        Assessment.submission_id == submission.id).order_by(Assessment.id)))


def other_provider_admin(make_provider, make_user):
    south = make_provider("South Institute", "south", "STH")
    return make_user("admin@south.example", name="Sam South", roles=["provider_admin"],
                     provider=south)


def audit_actions(session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                .order_by(AuditEntry.seq)))


# --- the page -----------------------------------------------------------------------------------


def test_assignments_lists_waiting_and_marked_work_with_the_people_allowed(
        app, session, client, login, make_user, team, submit):
    ann, bob = team.assessors
    marked = submit(team)
    draft = assessment_of(session, marked)
    other = add_candidate(session, make_user, team, 1, "Dara Waiting")
    waiting = submit_unassigned(app, session, team, other)
    login(team.admin)
    response = client.get("/assessment/assignments")
    assert response.status_code == 200
    page = text(response)
    assert "Waiting for an assessor" in page and "Being marked" in page
    body = response.get_data(as_text=True)
    # The waiting row offers both assessors with their open work, and the automatic choice.
    owner = ann if draft.assessor_id == ann.id else bob
    free = bob if owner is ann else ann
    waiting_form = body.split(f'/assessment/submissions/{waiting.id}/assign')[1].split("</form>")[0]
    assert "Automatic (fewest open)" in waiting_form
    assert f"{owner.name} (1 open)" in waiting_form
    assert f"{free.name} (0 open)" in waiting_form
    # The draft's row names its assessor and offers only the other one.
    marking_form = body.split(f'/assessment/submissions/{marked.id}/assign')[1].split("</form>")[0]
    assert f"{free.name} (0 open)" in marking_form
    assert owner.name not in marking_form
    assert f"{owner.name} (1 open)" in page
    assert "Dara Waiting" in page and team.candidate.name in page
    assert f"/assessment/assessments/{draft.id}" in body


def test_assignments_filters_by_unit_and_assessor(app, session, client, login, make_user, team,
                                                  submit):
    marked = submit(team)
    draft = assessment_of(session, marked)
    other = add_candidate(session, make_user, team, 2, "Dara Waiting")
    submit_unassigned(app, session, team, other)
    login(team.admin)
    nobody = next(a for a in team.assessors if a.id != draft.assessor_id)
    page = text(client.get(f"/assessment/assignments?assessor={nobody.id}"))
    assert "Nothing is being marked" in page
    assert "Dara Waiting" in page  # waiting work has no assessor to filter by
    page = text(client.get(f"/assessment/assignments?assessor={draft.assessor_id}"))
    assert team.candidate.name in page
    page = text(client.get("/assessment/assignments?unit=999999"))
    assert "Nothing is waiting" in page and "Nothing is being marked" in page
    page = text(client.get(f"/assessment/assignments?unit={team.unit.id}"))
    assert "Dara Waiting" in page and team.candidate.name in page
    # Nonsense filters and page numbers are ignored, not errors.
    response = client.get("/assessment/assignments?unit=abc&assessor=-1&waiting_page=x"
                          "&marking_page=99999999")
    assert response.status_code == 200


def test_assignments_page_is_for_admins_of_the_provider(client, login, team):
    assert client.get("/assessment/assignments").status_code == 302
    for person in (team.assessors[0], team.verifier, team.candidate):
        login(person)
        assert client.get("/assessment/assignments").status_code == 403
        client.post("/logout", data={"csrf_token": token(client)})


def test_assignments_query_count_stays_flat(app, session, client, login, make_user, team,
                                            submit, count_queries):
    submit(team)
    first = add_candidate(session, make_user, team, 10)
    submit_unassigned(app, session, team, first)
    login(team.admin)
    client.get("/assessment/assignments")
    with count_queries() as few:
        assert client.get("/assessment/assignments").status_code == 200
    for n in range(11, 15):
        enrolment = add_candidate(session, make_user, team, n)
        if n % 2:
            submit_unassigned(app, session, team, enrolment)
        else:
            submit_enrolment(app, session, enrolment)
    extra = make_user("assessor3@north.example", name="Cy Assessor", roles=["assessor"],
                      provider=team.provider)
    authorise(session, team.provider, extra, Role.ASSESSOR, unit=team.unit,
              valid_from=today(), actor=team.admin)
    session.commit()
    with count_queries() as many:
        response = client.get("/assessment/assignments")
    assert response.status_code == 200
    assert text(response).count("Cy Assessor (") >= 4
    assert few.count == many.count


def test_batched_choice_agrees_with_allowed_people(app, session, make_user, team, submit):
    marked = submit(team)
    other = add_candidate(session, make_user, team, 20)
    waiting = submit_unassigned(app, session, team, other)
    with app.app_context():
        declare_conflict(session, team.provider, team.assessors[1], other.candidate,
                         reason="Sister", actor=team.admin)
    session.commit()
    batch = assignment.allowed_people_for(session, [marked, waiting], Role.ASSESSOR)
    for submission in (marked, waiting):
        one = assignment.allowed_people(session, submission, Role.ASSESSOR)
        assert [p.id for p in batch[submission.id]] == [p.id for p in one]
    assert [p.id for p in batch[waiting.id]] == [team.assessors[0].id]
    assert assignment.allowed_people_for(session, [], Role.ASSESSOR) == {}


# --- assigning -----------------------------------------------------------------------------------


def test_admin_assigns_waiting_work_to_a_chosen_assessor(app, session, client, login, make_user,
                                                         team):
    enrolment = add_candidate(session, make_user, team, 3, "Dara Waiting")
    waiting = submit_unassigned(app, session, team, enrolment)
    bob = team.assessors[1]
    login(team.admin)
    response = client.post(f"/assessment/submissions/{waiting.id}/assign?unit={team.unit.id}",
                           data={"csrf_token": token(client), "assessor_id": str(bob.id)})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/assessment/assignments?unit={team.unit.id}")
    [made] = assessments_of(session, waiting)
    assert made.assessor_id == bob.id and made.status == AssessmentStatus.DRAFT
    assert made.assigned_via == "admin" and made.assigned_by_id == team.admin.id
    entry = audit_actions(session, "assessment.assigned")[-1]
    assert entry.actor_id == team.admin.id and entry.changes["assessor"] == bob.email
    page = text(client.get(response.headers["Location"]))
    assert f"attempt 1 of Dara Waiting is assigned to {bob.name}" in page


def test_automatic_gives_waiting_work_to_the_assessor_with_fewest_open(app, session, client,
                                                                       login, make_user, team,
                                                                       submit):
    marked = submit(team)
    busy = assessment_of(session, marked).assessor_id
    enrolment = add_candidate(session, make_user, team, 4)
    waiting = submit_unassigned(app, session, team, enrolment)
    login(team.admin)
    response = client.post(f"/assessment/submissions/{waiting.id}/assign",
                           data={"csrf_token": token(client), "assessor_id": "automatic"})
    assert response.status_code == 303
    [made] = assessments_of(session, waiting)
    assert made.assessor_id != busy


def test_moving_a_draft_discards_its_judgements_and_automatic_never_keeps_it(
        app, session, client, login, team, submit):
    marked = submit(team)
    draft = assessment_of(session, marked)
    first = draft.assessor_id
    login(team.admin)
    response = client.post(f"/assessment/submissions/{marked.id}/assign",
                           data={"csrf_token": token(client), "assessor_id": "automatic"})
    assert response.status_code == 303
    [moved] = assessments_of(session, marked)
    assert moved.id == draft.id and moved.assessor_id != first
    assert audit_actions(session, "assessment.reassigned")[-1].changes["assessor"][1] == \
        moved.assessor.email
    # Giving it to the person who has it already is refused.
    response = client.post(f"/assessment/submissions/{marked.id}/assign",
                           data={"csrf_token": token(client),
                                 "assessor_id": str(moved.assessor_id)})
    assert response.status_code == 409
    assert "is already assessing this submission" in text(response)


def test_assign_refusals_are_409_with_the_reason_and_change_nothing(
        app, session, client, login, make_user, team, submit, decide):
    enrolment = add_candidate(session, make_user, team, 5, "Dara Waiting")
    waiting = submit_unassigned(app, session, team, enrolment)
    ann = team.assessors[0]
    unauthorised = make_user("assessor9@north.example", name="Una Unauthorised",
                             roles=["assessor"], provider=team.provider)
    with app.app_context():
        declare_conflict(session, team.provider, ann, enrolment.candidate, reason="Cousin",
                         actor=team.admin)
    session.commit()
    login(team.admin)
    cases = [
        (enrolment.candidate, "Dara Waiting is the candidate of this submission and cannot "
                              "assess it."),
        (ann, "Ann Assessor has declared a conflict of interest with Dara Waiting"),
        (unauthorised, f"Una Unauthorised is not authorised to assess {team.unit.code}"),
    ]
    for person, message in cases:
        response = client.post(f"/assessment/submissions/{waiting.id}/assign",
                               data={"csrf_token": token(client), "assessor_id": str(person.id)})
        assert response.status_code == 409, person
        page = text(response)
        assert message in page
        assert "was not assigned" in page
        assert assessments_of(session, waiting) == []
    # A submission that is no longer waiting (returned after a not yet competent decision).
    returned = submit(team)
    decide(assessment_of(session, returned), team.criteria, not_yet={0})
    session.expire_all()
    assert returned.status == SubmissionStatus.RETURNED
    before = len(assessments_of(session, returned))
    for choice in (str(team.assessors[1].id), "automatic"):
        response = client.post(f"/assessment/submissions/{returned.id}/assign",
                               data={"csrf_token": token(client), "assessor_id": choice})
        assert response.status_code == 409
        assert "only a submission waiting for assessment can be assigned" in text(response)
    assert len(assessments_of(session, returned)) == before


def test_automatic_with_nobody_allowed_is_refused(app, session, client, login, make_user, team):
    enrolment = add_candidate(session, make_user, team, 6)
    waiting = submit_unassigned(app, session, team, enrolment)
    with app.app_context():
        for person in team.assessors:
            declare_conflict(session, team.provider, person, enrolment.candidate,
                             reason="Family", actor=team.admin)
    session.commit()
    login(team.admin)
    response = client.post(f"/assessment/submissions/{waiting.id}/assign",
                           data={"csrf_token": token(client), "assessor_id": "automatic"})
    assert response.status_code == 409
    assert "Nobody is authorised to assess" in text(response)
    assert assessments_of(session, waiting) == []
    # The page says so on the row instead of offering an empty list.
    assert "Nobody is authorised to assess this unit for this candidate today" in text(
        client.get("/assessment/assignments"))


def test_an_appealed_attempt_is_assigned_from_the_appeals_page_only(app, session, client, login,
                                                                     team, submit, decide):
    submission = submit(team)
    decided = decide(assessment_of(session, submission), team.criteria, not_yet={0})
    with app.app_context():
        appeals.lodge_appeal(session, decided, actor=team.candidate,
                             statement="Criterion one is shown on page three of my plan.")
        session.commit()
    login(team.admin)
    for choice in (str(team.assessors[1].id), "automatic"):
        response = client.post(f"/assessment/submissions/{submission.id}/assign",
                               data={"csrf_token": token(client), "assessor_id": choice})
        assert response.status_code == 409
        assert "This is an appeal; assign it from the appeals page." in text(response)
    assert [a.id for a in assessments_of(session, submission)] == [decided.id]


def test_assign_bad_input_is_422(app, session, client, login, make_user, make_provider, team):
    enrolment = add_candidate(session, make_user, team, 7)
    waiting = submit_unassigned(app, session, team, enrolment)
    south = make_provider("South Institute", "south", "STH")
    stranger = make_user("assessor@south.example", name="Secret Southerner",
                         roles=["assessor"], provider=south)
    login(team.admin)
    for data, message in (
        ({}, "Choose an assessor, or the automatic choice."),
        ({"assessor_id": "abc"}, "Choose an assessor from the list."),
        ({"assessor_id": "9" * 30}, "Choose an assessor from the list."),
        ({"assessor_id": str(stranger.id)}, "Choose an assessor from the list."),
        ({"assessor_id": "999999"}, "Choose an assessor from the list."),
    ):
        response = client.post(f"/assessment/submissions/{waiting.id}/assign",
                               data={"csrf_token": token(client), **data})
        assert response.status_code == 422, data
        page = text(response)
        assert message in page
        assert "Secret Southerner" not in page
    assert assessments_of(session, waiting) == []
    # Without the CSRF token nothing happens either.
    response = client.post(f"/assessment/submissions/{waiting.id}/assign",
                           data={"assessor_id": "automatic"})
    assert response.status_code in (400, 422)
    assert assessments_of(session, waiting) == []


def test_assign_is_404_for_other_providers_and_people_without_the_role(
        app, session, client, login, make_user, make_provider, team):
    enrolment = add_candidate(session, make_user, team, 8)
    waiting = submit_unassigned(app, session, team, enrolment)
    outsider = other_provider_admin(make_provider, make_user)
    for person in (outsider, team.assessors[0]):
        login(person)
        response = client.post(f"/assessment/submissions/{waiting.id}/assign",
                               data={"csrf_token": token(client), "assessor_id": "automatic"})
        assert response.status_code == 404
        client.post("/logout", data={"csrf_token": token(client)})
    login(team.admin)
    response = client.post("/assessment/submissions/999999/assign",
                           data={"csrf_token": token(client), "assessor_id": "automatic"})
    assert response.status_code == 404
    assert client.get(f"/assessment/submissions/{waiting.id}/assign").status_code == 405
    assert assessments_of(session, waiting) == []


# --- flags -----------------------------------------------------------------------------------


def test_admin_flags_a_draft_for_sampling(app, session, client, login, team, submit, decide):
    draft = assessment_of(session, submit(team))
    login(team.admin)
    response = client.post(f"/assessment/assessments/{draft.id}/flag",
                           data={"csrf_token": token(client),
                                 "reason": "  New workplace, check the evidence  "})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/assessment/assessments/{draft.id}")
    session.expire_all()
    assert draft.flagged_at is not None and draft.flagged_by_id == team.admin.id
    assert draft.flag_reason == "New workplace, check the evidence"
    assert audit_actions(session, "assessment.flagged")[-1].actor_id == team.admin.id
    # Flagging twice is refused; the reason given first stays.
    response = client.post(f"/assessment/assessments/{draft.id}/flag",
                           data={"csrf_token": token(client), "reason": "Again"})
    assert response.status_code == 409
    assert "already flagged" in text(response)
    session.expire_all()
    assert draft.flag_reason == "New workplace, check the evidence"
    # The flag makes the plan sample it when it is signed.
    decide(draft, team.criteria)
    session.expire_all()
    assert draft.status == AssessmentStatus.AWAITING_VERIFICATION
    assert draft.sample_reason == "Flagged for sampling by a provider admin"
    response = client.post(f"/assessment/assessments/{draft.id}/flag",
                           data={"csrf_token": token(client), "reason": "Late"})
    assert response.status_code == 409
    assert "Only a decision that is not yet signed can be flagged" in text(response)
    response = client.post(f"/assessment/assessments/{draft.id}/flag",
                           data={"csrf_token": token(client), "reason": ""})
    assert response.status_code == 422
    assert "Only a decision that is not yet signed can be flagged" in text(response)


def test_flag_needs_a_reason_of_sensible_length(session, client, login, team, submit):
    draft = assessment_of(session, submit(team))
    login(team.admin)
    for reason, message in (("", "Say why this decision should be sampled."),
                            ("   ", "Say why this decision should be sampled."),
                            ("x" * 2001, "Keep the reason under 2,000 characters.")):
        response = client.post(f"/assessment/assessments/{draft.id}/flag",
                               data={"csrf_token": token(client), "reason": reason})
        assert response.status_code == 422
        page = text(response)
        assert message in page
        # The form is shown again, posting to the same place.
        assert f'action="/assessment/assessments/{draft.id}/flag"' in response.get_data(
            as_text=True)
    session.expire_all()
    assert draft.flagged_at is None


def test_flag_is_404_for_other_providers_and_non_admins(session, client, login, make_user,
                                                        make_provider, team, submit):
    draft = assessment_of(session, submit(team))
    outsider = other_provider_admin(make_provider, make_user)
    for person in (outsider, team.verifier, draft.assessor):
        login(person)
        response = client.post(f"/assessment/assessments/{draft.id}/flag",
                               data={"csrf_token": token(client), "reason": "Check it"})
        assert response.status_code == 404
        client.post("/logout", data={"csrf_token": token(client)})
    login(team.admin)
    assert client.post("/assessment/assessments/999999/flag",
                       data={"csrf_token": token(client), "reason": "x"}).status_code == 404
    session.expire_all()
    assert draft.flagged_at is None


# --- settings --------------------------------------------------------------------------------


SETTINGS = {"sample_first_n": "3", "sample_percent": "25", "max_attempts": "4",
            "appeal_window_days": "21"}


def settings_of(session, provider) -> tuple[int, int, int, int]:
    session.expire_all()
    found = session.get(Provider, provider.id)
    return (found.sample_first_n, found.sample_percent, found.max_attempts,
            found.appeal_window_days)


def test_settings_show_the_current_values_and_save_new_ones(session, client, login, team):
    login(team.admin)
    response = client.get("/assessment/settings")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'name="max_attempts"' in body and 'value="3"' in body
    assert 'type="number"' in body
    page = text(response)
    assert "How many times a candidate may submit a unit" in page
    assert "now 14 days" in page
    response = client.post("/assessment/settings", data={"csrf_token": token(client), **SETTINGS})
    assert response.status_code == 303
    assert settings_of(session, team.provider) == (3, 25, 4, 21)
    entry = audit_actions(session, "provider.assessment_settings_changed")[-1]
    assert entry.actor_id == team.admin.id
    assert entry.changes["max_attempts"] == [3, 4]
    assert "The assessment settings are saved." in text(client.get("/assessment/settings"))
    # Saving the same values again writes no audit entry.
    client.post("/assessment/settings", data={"csrf_token": token(client), **SETTINGS})
    assert len(audit_actions(session, "provider.assessment_settings_changed")) == 1


def test_invalid_settings_are_422_and_change_nothing(session, client, login, team):
    login(team.admin)
    before = settings_of(session, team.provider)
    cases = [
        ({"max_attempts": "0"}, "Attempts allowed per enrolment must be a whole number from 1 "
                                "to 20."),
        ({"sample_percent": "101"}, "Percentage of the other decisions sampled must be a whole "
                                    "number from 0 to 100."),
        ({"appeal_window_days": "ten"}, "Days to appeal a decision must be a whole number from "
                                        "1 to 365."),
        ({"sample_first_n": "-1"}, "First decisions sampled per assessor and unit must be a "
                                   "whole number from 0 to 1000."),
        ({"sample_first_n": "2.5"}, "must be a whole number from 0 to 1000."),
        ({"max_attempts": ""}, "Attempts allowed per enrolment must be a whole number"),
        ({"max_attempts": "9" * 40}, "Attempts allowed per enrolment must be a whole number"),
        ({"max_attempts": "٣"}, "Attempts allowed per enrolment must be a whole number"),
    ]
    for change, message in cases:
        response = client.post("/assessment/settings",
                               data={"csrf_token": token(client), **SETTINGS, **change})
        assert response.status_code == 422, change
        assert message in text(response)
        assert settings_of(session, team.provider) == before
    # A field left out altogether.
    data = {k: v for k, v in SETTINGS.items() if k != "sample_percent"}
    response = client.post("/assessment/settings", data={"csrf_token": token(client), **data})
    assert response.status_code == 422
    assert settings_of(session, team.provider) == before
    assert audit_actions(session, "provider.assessment_settings_changed") == []


def test_settings_are_for_admins_only(session, client, login, team):
    for person in (team.verifier, team.assessors[0], team.candidate):
        login(person)
        assert client.get("/assessment/settings").status_code == 403
        response = client.post("/assessment/settings",
                               data={"csrf_token": token(client), **SETTINGS})
        assert response.status_code == 403
        client.post("/logout", data={"csrf_token": token(client)})
    assert settings_of(session, team.provider)[2] == 3


def test_settings_of_one_provider_leave_the_other_alone(session, client, login, make_user,
                                                        make_provider, team):
    outsider = other_provider_admin(make_provider, make_user)
    login(outsider)
    response = client.post("/assessment/settings", data={"csrf_token": token(client), **SETTINGS})
    assert response.status_code == 303
    session.expire_all()
    south = session.scalar(select(Provider).where(Provider.slug == "south"))
    assert south.max_attempts == 4
    assert settings_of(session, team.provider)[2] == 3
    assert session.scalar(select(func.count()).select_from(Assessment)) == 0
