"""The verifiers' queue, their answer on a sampled decision, and the verifier report (page and
CSV): who sees what, and every refusal."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from certify.accounts.models import Authorisation, Role
from certify.accounts.operations.authorisations import authorise, revoke_authorisation, today
from certify.assessors import reports
from certify.assessors.models import Assessment, AssessmentKind, AssessmentStatus, Verification
from certify.assessors.operations import assignment, quality
from certify.assessors.operations.conflicts import declare_conflict
from tests.assessors.conftest import assessment_of
from tests.assessors.test_assignment_views import (
    add_candidate,
    other_provider_admin,
    submit_enrolment,
    token,
)
from tests.evidence.test_submissions import text


def sample_everything(session, team) -> None:
    """The plan samples every decision of an assessor's first five on a unit."""
    team.provider.sample_first_n = 5
    session.commit()


def sampled_decision(session, team, submit, decide, *, not_yet=frozenset()) -> Assessment:
    sample_everything(session, team)
    decided = decide(assessment_of(session, submit(team)), team.criteria, not_yet=not_yet)
    session.expire_all()
    assert decided.status == AssessmentStatus.AWAITING_VERIFICATION
    return decided


def verify_post(client, assessment_id: int, **data):
    return client.post(f"/assessment/assessments/{assessment_id}/verify",
                       data={"csrf_token": token(client), **data})


def verifications_of(session, assessment: Assessment) -> list[Verification]:
    session.expire_all()
    return list(session.scalars(select(Verification).where(
        Verification.assessment_id == assessment.id)))


# --- the queue ----------------------------------------------------------------------------------


def test_queue_lists_sampled_decisions_oldest_first_with_the_reason(
        app, session, client, login, make_user, team, submit, decide):
    first = sampled_decision(session, team, submit, decide)
    later = add_candidate(session, make_user, team, 30, "Dara Later")
    second = assessment_of(session, submit_enrolment(app, session, later))
    decide(second, team.criteria, not_yet={1})
    login(team.verifier)
    response = client.get("/assessment/verification")
    assert response.status_code == 200
    page = text(response)
    assert "2 decisions waiting for you" in page
    assert page.index(team.candidate.name) < page.index("Dara Later")
    assert "Decision 1 of the assessor's first 5 on this unit" in page
    assert "Competent" in page and "Not yet competent" in page
    assert first.assessor.name in page
    body = response.get_data(as_text=True)
    assert f'href="/assessment/assessments/{first.id}"' in body
    assert f'href="/assessment/assessments/{second.id}"' in body


def test_queue_leaves_out_what_the_verifier_may_not_verify(
        app, session, client, login, make_user, team, submit, decide):
    sampled = sampled_decision(session, team, submit, decide)
    # A candidate the verifier will declare a conflict with.
    conflicted = add_candidate(session, make_user, team, 32, "Cleo Conflict")
    decide(assessment_of(session, submit_enrolment(app, session, conflicted)), team.criteria)
    # Their own decision: a person who is assessor and verifier, who marked this one.
    both = make_user("both@north.example", name="Aaron Both", roles=["assessor", "verifier"],
                     provider=team.provider)
    for role in (Role.ASSESSOR, Role.VERIFIER):
        authorise(session, team.provider, both, role, unit=team.unit,
                  valid_from=today() - timedelta(days=1), actor=team.admin)
    session.commit()
    own = add_candidate(session, make_user, team, 31, "Olga Own")
    own_submission = submit_enrolment(app, session, own)
    if assessment_of(session, own_submission).assessor_id != both.id:
        with app.app_context():
            assignment.assign(session, own_submission, both, actor=team.admin)
            session.commit()
    decide(assessment_of(session, own_submission), team.criteria)
    login(both)
    page = text(client.get("/assessment/verification"))
    assert "Olga Own" not in page
    assert team.candidate.name in page and "Cleo Conflict" in page
    assert "1 other sampled decision is waiting for another verifier" in page
    client.post("/logout", data={"csrf_token": token(client)})
    with app.app_context():
        declare_conflict(session, team.provider, team.verifier, conflicted.candidate,
                         reason="Sister", actor=team.verifier)
        session.commit()
    login(team.verifier)
    page = text(client.get("/assessment/verification"))
    assert team.candidate.name in page and "Olga Own" in page
    assert "Cleo Conflict" not in page
    assert "1 other sampled decision is waiting for another verifier" in page
    # Without an authorisation for the unit today, nothing is listed.
    grant = session.scalar(select(Authorisation).where(Authorisation.user_id == team.verifier.id))
    revoke_authorisation(session, grant, actor=team.admin)
    session.commit()
    page = text(client.get("/assessment/verification"))
    assert "Nothing is waiting for you" in page
    assert "3 other sampled decisions are waiting for another verifier" in page
    session.expire_all()
    assert sampled.status == AssessmentStatus.AWAITING_VERIFICATION


def test_queue_is_for_verifiers_only(client, login, team):
    assert client.get("/assessment/verification").status_code == 302
    for person in (team.admin, team.assessors[0], team.candidate):
        login(person)
        assert client.get("/assessment/verification").status_code == 403
        client.post("/logout", data={"csrf_token": token(client)})
    login(team.verifier)
    response = client.get("/assessment/verification")
    assert response.status_code == 200
    assert "Nothing is waiting for you" in text(response)


def test_queue_query_count_stays_flat(app, session, client, login, make_user, team, submit,
                                      decide, count_queries):
    sampled_decision(session, team, submit, decide)
    login(team.verifier)
    client.get("/assessment/verification")
    with count_queries() as few:
        client.get("/assessment/verification")
    for n in range(40, 44):
        enrolment = add_candidate(session, make_user, team, n)
        decide(assessment_of(session, submit_enrolment(app, session, enrolment)),
               team.criteria, not_yet={0} if n % 2 else frozenset())
    with count_queries() as many:
        response = client.get("/assessment/verification")
    assert "5 decisions waiting for you" in text(response)
    assert few.count == many.count


# --- answering ----------------------------------------------------------------------------------


def test_verifier_agrees_and_the_decision_is_confirmed(session, client, login, team, submit,
                                                       decide):
    sampled = sampled_decision(session, team, submit, decide)
    login(team.verifier)
    response = verify_post(client, sampled.id, decision="agree", comment="")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/assessment/verification")
    session.expire_all()
    assert sampled.status == AssessmentStatus.CONFIRMED
    [answer] = verifications_of(session, sampled)
    assert answer.agreed and answer.verifier_id == team.verifier.id
    page = text(client.get("/assessment/verification"))
    assert f"Confirmed: {sampled.assessor.name}'s decision on" in page
    assert "Nothing is waiting for you" in page


def test_verifier_disagrees_with_a_comment_and_it_goes_back(session, client, login, team,
                                                            submit, decide):
    sampled = sampled_decision(session, team, submit, decide)
    login(team.verifier)
    response = verify_post(client, sampled.id, decision="disagree",
                           comment="Criterion 6.1 is not shown in the workplace.")
    assert response.status_code == 303
    session.expire_all()
    assert sampled.status == AssessmentStatus.SENT_BACK
    rework = assessment_of(session, sampled.submission)
    assert rework.kind == AssessmentKind.REWORK and rework.assessor_id == sampled.assessor_id
    assert "Sent back to the assessor" in text(client.get("/assessment/verification"))


def test_disagreeing_without_a_comment_is_refused_and_keeps_the_choice(
        session, client, login, team, submit, decide):
    sampled = sampled_decision(session, team, submit, decide)
    login(team.verifier)
    response = verify_post(client, sampled.id, decision="disagree", comment="   ")
    assert response.status_code == 422
    page = text(response)
    assert "a comment is required when you disagree" in page
    body = response.get_data(as_text=True)
    assert 'value="disagree" required checked' in body
    assert f'action="/assessment/assessments/{sampled.id}/verify"' in body
    assert verifications_of(session, sampled) == []
    assert sampled.status == AssessmentStatus.AWAITING_VERIFICATION
    # No choice at all, an unknown one, or a comment far too long.
    for data, message in (({}, "Choose whether you agree with the decision."),
                          ({"decision": "maybe"}, "Not a valid choice"),
                          ({"decision": "agree", "comment": "x" * 10001},
                           "Keep the comment under 10,000 characters.")):
        response = verify_post(client, sampled.id, **data)
        assert response.status_code == 422, data
        assert message in text(response)
    # What was typed is shown again.
    response = verify_post(client, sampled.id, decision="maybe", comment="<b>kept</b>")
    assert "&lt;b&gt;kept&lt;/b&gt;</textarea>" in response.get_data(as_text=True)
    assert verifications_of(session, sampled) == []


def test_verifier_who_made_the_decision_is_refused(app, session, client, login, make_user, team,
                                                   submit, decide):
    both = make_user("both@north.example", name="Aaron Both", roles=["assessor", "verifier"],
                     provider=team.provider)
    for role in (Role.ASSESSOR, Role.VERIFIER):
        authorise(session, team.provider, both, role, unit=team.unit,
                  valid_from=today() - timedelta(days=1), actor=team.admin)
    sample_everything(session, team)
    submission = submit(team)
    if assessment_of(session, submission).assessor_id != both.id:
        with app.app_context():
            assignment.assign(session, submission, both, actor=team.admin)
            session.commit()
    own = decide(assessment_of(session, submission), team.criteria)
    session.expire_all()
    assert own.assessor_id == both.id
    assert own.status == AssessmentStatus.AWAITING_VERIFICATION
    login(both)
    response = verify_post(client, own.id, decision="agree")
    assert response.status_code == 409
    assert "You made this decision; another verifier must verify it." in text(response)
    # The form is not offered to them again.
    assert 'name="decision"' not in response.get_data(as_text=True)
    # Also when what they posted was incomplete: the refusal, not the fields, is explained.
    response = verify_post(client, own.id)
    assert response.status_code == 422
    assert "You made this decision; another verifier must verify it." in text(response)
    assert verifications_of(session, own) == []


def test_verify_refusals_for_state_and_conflicts(app, session, client, login, team, submit,
                                                  decide):
    draft = assessment_of(session, submit(team))
    login(team.verifier)
    response = verify_post(client, draft.id, decision="agree")
    assert response.status_code == 409
    assert "only a sampled decision waiting for verification can be verified" in text(response)
    response = verify_post(client, draft.id)
    assert response.status_code == 422
    assert "This decision is being marked; only a sampled decision" in text(response)
    sample_everything(session, team)
    sampled = decide(draft, team.criteria)
    session.expire_all()
    assert sampled.status == AssessmentStatus.AWAITING_VERIFICATION
    with app.app_context():
        declare_conflict(session, team.provider, team.verifier, team.candidate,
                         reason="Flatmate", actor=team.verifier)
        session.commit()
    response = verify_post(client, sampled.id, decision="agree")
    assert response.status_code == 409
    assert "has declared a conflict of interest" in text(response)
    assert verifications_of(session, sampled) == []


def test_verify_is_404_for_anyone_but_the_providers_verifiers(
        session, client, login, make_user, make_provider, team, submit, decide):
    sampled = sampled_decision(session, team, submit, decide)
    outsider = other_provider_admin(make_provider, make_user)
    for person in (team.admin, team.assessors[0], team.candidate, outsider):
        login(person)
        assert verify_post(client, sampled.id, decision="agree").status_code == 404
        client.post("/logout", data={"csrf_token": token(client)})
    login(team.verifier)
    assert verify_post(client, 999999, decision="agree").status_code == 404
    assert verifications_of(session, sampled) == []


def test_verify_form_partial_shows_only_to_those_who_may_answer(app, session, team, submit,
                                                                decide, client, login):
    sampled = sampled_decision(session, team, submit, decide)
    login(team.verifier)
    # The refused page includes the partial; a valid form is shown to the verifier.
    body = verify_post(client, sampled.id, decision="disagree").get_data(as_text=True)
    assert 'name="comment"' in body and 'id="verify-comment-error"' in body
    assert "Internal verification" in body
    assert "Sampled: Decision 1 of the assessor&#39;s first 5 on this unit." in body


# --- the report ---------------------------------------------------------------------------------


def test_report_shows_figures_per_assessor_and_the_plan(session, client, login, team, submit,
                                                        decide):
    sampled = sampled_decision(session, team, submit, decide)
    login(team.verifier)
    verify_post(client, sampled.id, decision="disagree", comment="Look again at 6.1.")
    response = client.get("/assessment/report")
    assert response.status_code == 200
    page = text(response)
    assert f"{sampled.assessor.name} 1 1 0 1 0.0 %" in page
    assert "All assessors 1 1 0 1 0.0 %" in page
    assert "Every decision among each assessor's first 5 on each unit." in page
    assert "Change the sampling plan" not in page  # verifiers do not change it
    client.post("/logout", data={"csrf_token": token(client)})
    login(team.admin)
    page = text(client.get("/assessment/report"))
    assert "Change the sampling plan" in page


def test_report_says_dash_when_nothing_was_answered(session, client, login, team, submit,
                                                    decide):
    sampled_decision(session, team, submit, decide)
    login(team.admin)
    page = text(client.get("/assessment/report"))
    assert "1 1 0 0 —" in page
    response = client.get("/assessment/report.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[1][1:] == ["1", "1", "0", "0", ""]


def test_report_empty_state(client, login, team):
    login(team.admin)
    page = text(client.get("/assessment/report"))
    assert "No assessor at North College has signed a decision yet." in page
    response = client.get("/assessment/report.csv")
    assert response.get_data(as_text=True) == ",".join(reports.REPORT_HEADER) + "\r\n"


def test_report_csv_download(session, client, login, team, submit, decide):
    sampled = sampled_decision(session, team, submit, decide)
    login(team.verifier)
    verify_post(client, sampled.id, decision="agree")
    response = client.get("/assessment/report.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="verifier-report-north-college-{today().isoformat()}.csv"' in disposition
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [list(reports.REPORT_HEADER),
                    [sampled.assessor.name, "1", "1", "1", "0", "100.0"]]


def test_report_csv_is_safe_from_formula_injection(app, session, client, login, make_user, team,
                                                   decide):
    hostile = make_user("evil@north.example", name='=HYPERLINK("http://evil.example","x")',
                        roles=["assessor"], provider=team.provider)
    authorise(session, team.provider, hostile, Role.ASSESSOR, unit=team.unit,
              valid_from=today(), actor=team.admin)
    session.commit()
    submission = submit_enrolment(app, session, team.enrolment)
    with app.app_context():
        if assessment_of(session, submission).assessor_id != hostile.id:
            assignment.assign(session, submission, hostile, actor=team.admin)
        session.commit()
    decide(assessment_of(session, submission), team.criteria)
    login(team.admin)
    rows = list(csv.reader(io.StringIO(client.get("/assessment/report.csv").get_data(
        as_text=True))))
    assert rows[1][0] == '\'=HYPERLINK("http://evil.example","x")'
    # On the page the name is escaped text.
    body = client.get("/assessment/report").get_data(as_text=True)
    assert "=HYPERLINK(&#34;http://evil.example&#34;,&#34;x&#34;)" in body


def test_safe_cell_prefixes_every_formula_start():
    for value in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"):
        assert reports.safe_cell(value) == "'" + value
    for value, shown in (("Ann", "Ann"), (12, "12"), (None, ""), ("", ""), ("a=b", "a=b")):
        assert reports.safe_cell(value) == shown
    document = reports.write_csv(["=x"], [["-y", 3]])
    assert document == "'=x\r\n'-y,3\r\n"


def test_report_is_for_verifiers_and_admins(client, login, make_user, make_provider, team):
    assert client.get("/assessment/report").status_code == 302
    for person in (team.assessors[0], team.candidate):
        login(person)
        assert client.get("/assessment/report").status_code == 403
        assert client.get("/assessment/report.csv").status_code == 403
        client.post("/logout", data={"csrf_token": token(client)})
    # Another provider's admin reads their own provider's report, never North's names.
    outsider = other_provider_admin(make_provider, make_user)
    login(outsider)
    page = text(client.get("/assessment/report"))
    assert "South Institute" in page and "North College" not in page


def test_verifier_report_operation_matches_the_page(session, team, submit, decide):
    sampled_decision(session, team, submit, decide)
    [row] = quality.verifier_report(session, team.provider)
    assert (row.decisions, row.sampled, row.agreed, row.disagreed) == (1, 1, 0, 0)
    assert reports.percent(row.agreement_rate) == "—"
    assert reports.percent(2 / 3) == "66.7 %"


def test_assessment_page_offers_verify_and_flag_forms_to_those_who_may_use_them(
        session, client, login, team, submit, decide):
    draft = assessment_of(session, submit(team))
    login(team.admin)
    body = client.get(f"/assessment/assessments/{draft.id}").get_data(as_text=True)
    assert f'action="/assessment/assessments/{draft.id}/flag"' in body
    assert f'action="/assessment/assessments/{draft.id}/verify"' not in body
    client.post("/logout", data={"csrf_token": token(client)})
    sample_everything(session, team)
    signed = decide(draft, team.criteria)
    login(team.verifier)
    body = client.get(f"/assessment/assessments/{signed.id}").get_data(as_text=True)
    assert f'action="/assessment/assessments/{signed.id}/verify"' in body
    assert f'action="/assessment/assessments/{signed.id}/flag"' not in body
    client.post("/logout", data={"csrf_token": token(client)})
    login(signed.assessor)
    body = client.get(f"/assessment/assessments/{signed.id}").get_data(as_text=True)
    assert f'action="/assessment/assessments/{signed.id}/verify"' not in body
