"""The marking page: reading the evidence beside each criterion, saving a draft, conflicts,
signing, corrections, what changed since the previous attempt, and who may do what."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from certify.accounts.models import Authorisation, Membership, Role
from certify.accounts.operations.authorisations import revoke_authorisation
from certify.accounts.operations.enrolments import enrol_candidate, today
from certify.assessors import queries
from certify.assessors.models import AssessmentKind, AssessmentStatus, Outcome
from certify.assessors.operations import appeals, assignment, quality
from certify.assessors.operations.marking import Mark
from certify.core.models import AuditEntry, Notification
from certify.evidence.models import EvidenceFile, EvidenceItem, Mapping
from certify.evidence.operations import submissions
from tests.assessors.conftest import ALL_RULES, Always, assessment_of
from tests.evidence.test_submissions import make_blob, make_item, map_item
from tests.people import PASSWORD, csrf_token

# --- helpers ------------------------------------------------------------------------------------


def url(assessment, action: str = "") -> str:
    return f"/assessment/assessments/{assessment.id}" + (f"/{action}" if action else "")


def fresh_token(client) -> str:
    """A CSRF token of the signed-in session (signing in starts a new one)."""
    return csrf_token(client.get("/account").get_data(as_text=True))


def open_page(client, assessment):
    response = client.get(url(assessment))
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    return html, csrf_token(html)


def marking_data(token: str, version: int, criteria, *, choices: dict[int, str] | None = None,
                 comments: dict[int, str] | None = None, rules=(), feedback: str = "") -> dict:
    """The marking form as a browser posts it: ``choices`` and ``comments`` by position."""
    data = {"csrf_token": token, "version": str(version), "feedback": feedback}
    for position, criterion in enumerate(criteria):
        data[f"judgement-{criterion.id}"] = (choices or {}).get(position, "")
        data[f"comment-{criterion.id}"] = (comments or {}).get(position, "")
    for rule in rules:
        data[f"rule-{rule}"] = "y"
    return data


def everything_satisfactory(token: str, version: int, criteria, **kwargs) -> dict:
    return marking_data(token, version, criteria,
                        choices=dict.fromkeys(range(len(criteria)), "satisfactory"),
                        rules=tuple(ALL_RULES), **kwargs)


def section(html: str, criterion) -> str:
    """The part of the page about one criterion."""
    start = html.index(f'id="criterion-{criterion.id}"')
    end = html.find('<section class="mark"', start + 1)
    return html[start:end if end != -1 else len(html)]


def plain(markup: str) -> str:
    import html as entities

    return " ".join(entities.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


@pytest.fixture
def sign_in_as(client, login):
    """Sign ``user`` in, signing out whoever was signed in first."""

    def run(user) -> None:
        home = client.get("/account")
        if home.status_code == 200:
            client.post("/logout", data={"csrf_token": csrf_token(home.get_data(as_text=True))})
        assert login(user).status_code in (302, 303)

    return run


@pytest.fixture
def draft(session, team, submit, sign_in_as):
    """Attempt 1 submitted and assigned; its assessor signed in."""
    submission = submit(team)
    assessment = assessment_of(session, submission)
    sign_in_as(assessment.assessor)
    return assessment


def other_assessor(team, assessment):
    return next(a for a in team.assessors if a.id != assessment.assessor_id)


# --- reading the page ---------------------------------------------------------------------------


def test_the_assessor_sees_every_criterion_with_its_evidence_and_the_form(client, session,
                                                                         team, draft):
    html, _ = open_page(client, draft)
    page = plain(html)
    assert "Chen Candidate" in page and "ITCSCR405A" in page
    assert "attempt 1" in page and "Being marked" in page and "Ann Assessor" in page
    assert "waiting under an hour" in page
    # Criteria in the published order, each with the evidence mapped to it in this attempt.
    positions = [html.index(f'id="criterion-{c.id}"') for c in team.criteria]
    assert positions == sorted(positions)
    for criterion in team.criteria:
        part = section(html, criterion)
        assert "Security audit report" in part
        assert f"Shows {criterion.ref}" in plain(part)
        assert f'name="judgement-{criterion.id}"' in part
        assert f"<legend>Judgement on criterion {criterion.ref}</legend>" in part
        assert f'name="comment-{criterion.id}"' in part
    for rule in ALL_RULES:
        assert f'name="rule-{rule}" value="y"' in html
    assert 'name="feedback"' in html and f'name="version" value="{draft.version}"' in html
    assert 'autocomplete="current-password"' in html and "Sign decision" in html
    assert "0 of 18" in page and "18 criteria not judged yet" in page
    # No inline script or style anywhere (the CSP forbids them).
    assert "<script>" not in html and "style=" not in html
    assert "css/assessment.css" in html


def test_files_link_to_this_attempt_only_and_previews_are_offered_for_images_and_pdfs(
        client, session, team, submit, sign_in_as):
    # A ZIP (download only), an image (preview) and a file the candidate never submitted.
    archive = make_item(session, team.enrolment, "Source code", files=0)
    session.add(EvidenceFile(item=archive, blob=make_blob(session, b"zip", "application/zip"),
                             display_name="code.zip"))
    session.add(EvidenceFile(item=archive, blob=make_blob(session, b"png", "image/png"),
                             display_name="screen.png"))
    map_item(session, archive, team.enrolment, team.criteria[0], "The code")
    unsubmitted = make_item(session, team.enrolment, "Private draft", files=1)
    session.commit()
    submission = submit(team)
    assessment = assessment_of(session, submission)
    sign_in_as(assessment.assessor)
    html, _ = open_page(client, assessment)
    links = re.findall(r'href="/evidence/submissions/(\d+)/files/(\d+)(\?preview=1)?"', html)
    assert links, "no file links"
    own = {f.id: f for f in submission.files}
    assert {int(s) for s, _, _ in links} == {submission.id}
    assert {int(f) for _, f, _ in links} == set(own)
    previews = {own[int(f)].display_name for _, f, p in links if p}
    assert "screen.png" in previews and "Security audit report 0.pdf" in previews
    assert "code.zip" not in previews
    assert "code.zip" in html
    assert "/evidence/files/" not in html and "/evidence/items/" not in html
    assert unsubmitted.title not in html
    # The previews open the submission's own file route, which serves them.
    part = section(html, team.criteria[0])
    assert "Preview" in part and "The code" in plain(part)


def test_other_staff_read_the_draft_without_forms(client, session, team, draft, sign_in_as):
    for reader in (other_assessor(team, draft), team.verifier, team.admin):
        sign_in_as(reader)
        html, _ = open_page(client, draft)
        assert 'name="judgement-' not in html and "Sign decision" not in html
        assert "is marking this attempt" in plain(html)
        assert "Security audit report" in html


@pytest.mark.parametrize("who", ["candidate", "other_provider_admin", "other_provider_assessor"])
def test_people_outside_the_providers_staff_get_404(client, session, team, draft, sign_in_as,
                                                    make_provider, make_user, who):
    if who == "candidate":
        person = team.candidate
    else:
        elsewhere = make_provider("South Institute", "south", "SOUTH")
        role = "provider_admin" if who == "other_provider_admin" else "assessor"
        person = make_user(f"{who}@south.example", roles=[role], provider=elsewhere)
    sign_in_as(person)
    token = fresh_token(client)
    assert client.get(url(draft)).status_code == 404
    for action in ("", "sign", "correct", "discard"):
        response = client.post(url(draft, action), data={"csrf_token": token,
                                                         "password": PASSWORD})
        assert response.status_code == 404
    assert client.get("/assessment/assessments/999999").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, session, team, draft):
    client.post("/logout", data={"csrf_token": csrf_token(client.get(url(draft)).get_data(
        as_text=True))})
    response = client.get(url(draft))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- saving a draft -----------------------------------------------------------------------------


def test_saving_a_draft_keeps_judgements_rules_and_feedback(client, session, team, draft):
    _, token = open_page(client, draft)
    version = draft.version
    data = marking_data(token, version, team.criteria,
                        choices={0: "satisfactory", 1: "not_yet", 2: ""},
                        comments={0: "Clear", 1: "Show it at work"},
                        rules=("valid", "authentic"), feedback="Nearly there.")
    response = client.post(url(draft), data=data)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(url(draft))
    session.expire_all()
    saved = {j.criterion_id: (j.satisfactory, j.comment) for j in draft.judgements}
    assert saved == {team.criteria[0].id: (True, "Clear"),
                     team.criteria[1].id: (False, "Show it at work")}
    assert draft.rules == {"valid": True, "sufficient": False, "authentic": True,
                           "current": False}
    assert draft.feedback == "Nearly there." and draft.version == version + 1
    assert draft.status == AssessmentStatus.DRAFT
    page = plain(client.get(url(draft)).get_data(as_text=True))
    assert "Draft saved: 2 of 18 criteria judged." in page
    assert ("Not yet competent: 1 criterion not yet satisfactory, 16 criteria not judged yet, "
            "rules 'sufficient' and 'current' not confirmed.") in page
    html = client.get(url(draft)).get_data(as_text=True)
    part = section(html, team.criteria[1])
    assert 'value="not_yet" checked' in part and "Show it at work" in part
    assert 'id="rule-valid" name="rule-valid" value="y" checked' in html
    audit = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "assessment.draft_saved")).all()
    assert len(audit) == 1


def test_not_yet_satisfactory_without_a_comment_is_refused_next_to_the_criterion(
        client, session, team, draft):
    _, token = open_page(client, draft)
    version = draft.version
    data = marking_data(token, version, team.criteria, choices={0: "satisfactory",
                                                                3: "not_yet"},
                        comments={0: "Good", 3: "   "}, feedback="Kept on the page")
    response = client.post(url(draft), data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    criterion = team.criteria[3]
    part = section(html, criterion)
    error_id = f"comment-{criterion.id}-error"
    assert f'id="{error_id}"' in part
    assert re.search(rf'aria-describedby="[^"]*{error_id}[^"]*"', part)
    assert "a comment is required when a criterion is not yet satisfactory" in plain(part)
    assert f'href="#comment-{criterion.id}"' in html
    # What was typed is still on the page; nothing was saved.
    assert 'value="not_yet" checked' in part and "Kept on the page" in html
    session.expire_all()
    assert draft.judgements == [] and draft.version == version and draft.feedback == ""


@pytest.mark.parametrize(("field", "value", "message"), [
    ("judgement-999999", "satisfactory", "judgement-999999: there is no such criterion"),
    ("judgement-abc", "satisfactory", "judgement-abc: there is no such criterion"),
    ("judgement-{id}", "maybe", "(judgement-{id}): 'maybe' is not a judgement"),
    ("comment-999999", "Hello", "comment-999999: there is no such criterion"),
    ("rule-honest", "y", "rule-honest: there is no such rule of evidence"),
    ("rule-valid", "yes please", "rule-valid: 'yes please' is not a tick"),
    ("version", "abc", "version: the page's version number is missing"),
    ("version", "", "version: the page's version number is missing"),
    ("version", "99999999999", "version: the page's version number is missing"),
])
def test_malformed_fields_are_refused_naming_the_field(client, session, team, draft, field,
                                                       value, message):
    _, token = open_page(client, draft)
    version = draft.version
    data = everything_satisfactory(token, version, team.criteria)
    first = team.criteria[0].id
    data[field.format(id=first)] = value
    response = client.post(url(draft), data=data)
    assert response.status_code == 422
    assert message.format(id=first) in plain(response.get_data(as_text=True))
    session.expire_all()
    assert draft.judgements == [] and draft.version == version


def test_a_comment_without_a_judgement_and_fields_sent_twice_are_refused(client, session,
                                                                        team, draft):
    _, token = open_page(client, draft)
    data = marking_data(token, draft.version, team.criteria, comments={2: "Thinking about it"})
    response = client.post(url(draft), data=data)
    assert response.status_code == 422
    assert f"Criterion {team.criteria[2].ref} (comment-{team.criteria[2].id}): a comment is " \
           "kept with a judgement" in plain(response.get_data(as_text=True))
    assert "Thinking about it" in response.get_data(as_text=True)
    pairs = [*marking_data(token, draft.version, team.criteria).items(),
             (f"judgement-{team.criteria[0].id}", "not_yet")]
    response = client.post(url(draft), data=MultiDict(pairs))
    assert response.status_code == 422
    assert f"judgement-{team.criteria[0].id}: sent 2 times" in plain(
        response.get_data(as_text=True))
    session.expire_all()
    assert draft.judgements == []


def test_too_long_text_is_refused(client, session, team, draft):
    _, token = open_page(client, draft)
    data = marking_data(token, draft.version, team.criteria, choices={0: "not_yet"},
                        comments={0: "x" * 10001}, feedback="y" * 10001)
    response = client.post(url(draft), data=data)
    assert response.status_code == 422
    page = plain(response.get_data(as_text=True))
    assert "keep the comment under 10,000 characters" in page
    assert "Keep the overall feedback under 10,000 characters" in page
    session.expire_all()
    assert draft.judgements == []


def test_a_save_from_an_older_page_is_refused_with_what_differs(client, session, team, draft):
    _, token = open_page(client, draft)
    stale = draft.version
    first = marking_data(token, stale, team.criteria, choices={0: "satisfactory"},
                         rules=("valid",), feedback="Mine, saved first")
    assert client.post(url(draft), data=first).status_code == 303
    # The same page, still showing the old version, is saved again with other answers.
    second = marking_data(token, stale, team.criteria, choices={0: "not_yet", 1: "satisfactory"},
                          comments={0: "Missing the plan"}, feedback="Overwrite?")
    response = client.post(url(draft), data=second)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    page = plain(html)
    assert "your changes were not saved" in page
    assert "Saved now" in page and "Yours (not saved)" in page
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</th>\s*<td>(.*?)</td>\s*<td>(.*?)</td>",
                      html, re.S)
    changes = {plain(f): (plain(s), plain(y)) for f, s, y in rows}
    assert changes[f"Criterion {team.criteria[0].ref}"] == (
        "satisfactory", "not yet satisfactory: Missing the plan")
    assert changes[f"Criterion {team.criteria[1].ref}"] == ("not judged", "satisfactory")
    assert changes["Overall feedback"] == ("Mine, saved first", "Overwrite?")
    assert changes["Valid (rule of evidence)"] == ("confirmed", "not confirmed")
    # The form now shows what is saved, at the saved version.
    session.expire_all()
    assert f'name="version" value="{draft.version}"' in html
    assert draft.version == stale + 1 and draft.feedback == "Mine, saved first"
    assert [(j.criterion_id, j.satisfactory) for j in draft.judgements] == [
        (team.criteria[0].id, True)]


def test_another_assessor_cannot_save_sign_correct_or_discard(client, session, team, draft,
                                                              sign_in_as):
    sign_in_as(other_assessor(team, draft))
    token = fresh_token(client)
    data = everything_satisfactory(token, draft.version, team.criteria)
    assert client.post(url(draft), data=data).status_code == 403
    for action, extra in (("sign", {"password": PASSWORD}), ("correct", {"reason": "x"}),
                          ("discard", {})):
        assert client.post(url(draft, action),
                           data={"csrf_token": token, **extra}).status_code == 403
    sign_in_as(team.verifier)
    data["csrf_token"] = fresh_token(client)
    assert client.post(url(draft), data=data).status_code == 403
    session.expire_all()
    assert draft.judgements == [] and draft.signed_at is None


def test_an_assessor_who_is_no_longer_authorised_or_no_longer_staff_cannot_save(
        app, client, session, team, draft):
    _, token = open_page(client, draft)
    data = everything_satisfactory(token, draft.version, team.criteria)
    grant = session.scalar(select(Authorisation).where(
        Authorisation.user_id == draft.assessor_id, Authorisation.role == Role.ASSESSOR))
    with app.app_context():
        revoke_authorisation(session, grant, actor=team.admin)
        session.commit()
    response = client.post(url(draft), data=data)
    assert response.status_code == 409
    assert "is not authorised to assess ITCSCR405A" in plain(response.get_data(as_text=True))
    session.execute(Membership.__table__.delete().where(
        Membership.user_id == draft.assessor_id, Membership.role == Role.ASSESSOR))
    session.commit()
    # Without a staff role the page is not theirs to read at all.
    assert client.post(url(draft), data=data).status_code == 404
    session.expire_all()
    assert draft.judgements == []


# --- signing ------------------------------------------------------------------------------------


def save_everything(client, draft, team, **kwargs):
    _, token = open_page(client, draft)
    response = client.post(url(draft), data=everything_satisfactory(token, draft.version,
                                                                    team.criteria, **kwargs))
    assert response.status_code == 303
    return token


def test_signing_a_fully_satisfactory_marking_confirms_it_and_tells_the_candidate(
        client, session, team, draft):
    save_everything(client, draft, team, feedback="Well evidenced.")
    html, token = open_page(client, draft)
    assert "Competent: every criterion is satisfactory" in plain(html)
    session.expire_all()
    response = client.post(url(draft, "sign"), data={
        "csrf_token": token, "password": PASSWORD, "version": str(draft.version)})
    assert response.status_code == 303
    session.expire_all()
    assert draft.status == AssessmentStatus.CONFIRMED
    assert draft.outcome == Outcome.COMPETENT and draft.signed_at is not None
    assert draft.signature_method == "password"
    notes = session.scalars(select(Notification).where(
        Notification.user_id == team.candidate.id)).all()
    assert [n.kind for n in notes] == ["decision_released"]
    html = client.get(url(draft)).get_data(as_text=True)
    page = plain(html)
    assert "Decision signed and confirmed: competent." in page
    # Read-only now: judgements as text, the decision's facts, no forms to change it.
    assert 'name="judgement-' not in html and "Sign decision" not in html
    assert "Decision: Competent: every criterion is satisfactory" in page
    assert "Not sampled: confirmed at signing" in page
    assert "password re-entered" in page and "Correct this decision" in page


def test_a_sampled_decision_says_why_it_waits_for_verification(client, session, team, draft):
    team.provider.sample_first_n = 5
    session.commit()
    save_everything(client, draft, team)
    _, token = open_page(client, draft)
    response = client.post(url(draft, "sign"), data={"csrf_token": token, "password": PASSWORD},
                           follow_redirects=True)
    page = plain(response.get_data(as_text=True))
    assert "It was sampled for internal verification (Decision 1 of the assessor's first 5 on " \
           "this unit)" in page
    session.expire_all()
    assert draft.status == AssessmentStatus.AWAITING_VERIFICATION
    assert "Sampled for internal verification: Decision 1" in page
    assert not session.scalars(select(Notification).where(
        Notification.user_id == team.candidate.id)).all()


def test_a_wrong_password_signs_nothing(client, session, team, draft):
    save_everything(client, draft, team)
    _, token = open_page(client, draft)
    response = client.post(url(draft, "sign"), data={"csrf_token": token,
                                                     "password": "not my password"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "That is not your password" in plain(html)
    # The message sits with the sign form, which is offered again.
    assert html.index('id="sign-error"') > html.index('id="sign-heading"')
    assert "Sign decision" in html
    session.expire_all()
    assert draft.signed_at is None and draft.status == AssessmentStatus.DRAFT
    assert draft.outcome is None


def test_signing_needs_every_criterion_judged_and_feedback_for_not_yet_competent(
        client, session, team, draft):
    _, token = open_page(client, draft)
    partial = marking_data(token, draft.version, team.criteria, choices={0: "satisfactory"})
    assert client.post(url(draft), data=partial).status_code == 303
    response = client.post(url(draft, "sign"), data={"csrf_token": token, "password": PASSWORD})
    assert response.status_code == 409
    assert "Judge every criterion before signing" in plain(response.get_data(as_text=True))
    session.expire_all()
    choices = dict.fromkeys(range(len(team.criteria)), "satisfactory")
    choices[4] = "not_yet"
    data = marking_data(token, draft.version, team.criteria, choices=choices,
                        comments={4: "Not shown"}, rules=tuple(ALL_RULES))
    assert client.post(url(draft), data=data).status_code == 303
    response = client.post(url(draft, "sign"), data={"csrf_token": token, "password": PASSWORD})
    assert response.status_code == 409
    assert "Write overall feedback for the candidate" in plain(response.get_data(as_text=True))
    assert 'href="#feedback"' in response.get_data(as_text=True)
    response = client.post(url(draft, "sign"), data={"csrf_token": token, "password": ""})
    assert response.status_code == 422
    assert "Enter your password to sign." in plain(response.get_data(as_text=True))
    session.expire_all()
    assert draft.signed_at is None


def test_signing_from_an_older_page_is_refused(client, session, team, draft):
    _, token = open_page(client, draft)
    old = draft.version
    save_everything(client, draft, team)
    response = client.post(url(draft, "sign"), data={"csrf_token": token, "password": PASSWORD,
                                                     "version": str(old)})
    assert response.status_code == 409
    assert "your changes were not saved" in plain(response.get_data(as_text=True))
    response = client.post(url(draft, "sign"), data={"csrf_token": token, "password": PASSWORD,
                                                     "version": "x"})
    assert response.status_code == 422
    session.expire_all()
    assert draft.signed_at is None


def test_a_signed_decision_cannot_be_saved_or_signed_again(client, session, team, draft):
    token = save_everything(client, draft, team)
    client.post(url(draft, "sign"), data={"csrf_token": token, "password": PASSWORD})
    session.expire_all()
    signed_at = draft.signed_at
    data = marking_data(token, draft.version, team.criteria, choices={0: "not_yet"},
                        comments={0: "Changed my mind"})
    response = client.post(url(draft), data=data)
    assert response.status_code == 409
    assert "can no longer be changed" in plain(response.get_data(as_text=True))
    response = client.post(url(draft, "sign"), data={"csrf_token": token, "password": PASSWORD})
    assert response.status_code == 409
    session.expire_all()
    assert draft.signed_at == signed_at
    assert all(j.satisfactory for j in draft.judgements)


# --- corrections --------------------------------------------------------------------------------


def test_a_correction_starts_from_the_decision_and_can_be_discarded(client, session, team,
                                                                    draft, sign_in_as):
    token = save_everything(client, draft, team, feedback="Good.")
    client.post(url(draft, "sign"), data={"csrf_token": token, "password": PASSWORD})
    response = client.post(url(draft, "correct"), data={"csrf_token": token, "reason": ""})
    assert response.status_code == 422
    assert "Say why the decision needs correcting." in plain(response.get_data(as_text=True))
    sign_in_as(other_assessor(team, draft))
    assert client.post(url(draft, "correct"), data={"csrf_token": fresh_token(client),
                                                    "reason": "Mine"}).status_code == 403
    sign_in_as(draft.assessor)
    token = fresh_token(client)
    response = client.post(url(draft, "correct"), data={
        "csrf_token": token, "reason": "Criterion i was judged on the wrong file."})
    assert response.status_code == 303
    correction_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    session.expire_all()
    correction = session.get(type(draft), correction_id)
    assert correction.kind == AssessmentKind.CORRECTION and correction.replaces_id == draft.id
    html, token = open_page(client, correction)
    page = plain(html)
    assert "Why this decision is being corrected" in page
    assert "Criterion i was judged on the wrong file." in page
    assert "Correction started from your decision" in page
    # It starts from the decision's judgements.
    assert section(html, team.criteria[0]).count('value="satisfactory" checked') == 1
    assert "Discard correction" in html
    # A second correction while one is open is refused.
    response = client.post(url(draft, "correct"), data={"csrf_token": token, "reason": "Again"})
    assert response.status_code == 409
    assert "already has a decision in progress" in plain(response.get_data(as_text=True))
    response = client.post(url(correction, "discard"), data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith(url(draft))
    session.expire_all()
    assert correction.status == AssessmentStatus.DISCARDED
    assert draft.status == AssessmentStatus.CONFIRMED
    page = plain(client.get(url(draft)).get_data(as_text=True))
    assert "The draft correction was discarded" in page
    assert "Every decision on attempt 1" in page


def test_only_a_draft_correction_can_be_discarded(client, session, team, draft):
    _, token = open_page(client, draft)
    response = client.post(url(draft, "discard"), data={"csrf_token": token})
    assert response.status_code == 409
    assert "Only a correction that is not signed yet can be discarded" in plain(
        response.get_data(as_text=True))
    session.expire_all()
    assert draft.status == AssessmentStatus.DRAFT


def test_verifiers_and_admins_find_their_forms_on_the_page(client, session, team, draft,
                                                         sign_in_as):
    # A provider admin may flag a draft for sampling; the assessor may not.
    html, _ = open_page(client, draft)
    assert f'action="{url(draft, "flag")}"' not in html
    sign_in_as(team.admin)
    html, _ = open_page(client, draft)
    assert f'action="{url(draft, "flag")}"' in html and 'name="judgement-' not in html
    # Signed and sampled: a verifier of the provider answers it from the same page.
    team.provider.sample_first_n = 5
    session.commit()
    sign_in_as(draft.assessor)
    token = save_everything(client, draft, team)
    client.post(url(draft, "sign"), data={"csrf_token": token, "password": PASSWORD})
    sign_in_as(team.verifier)
    html, _ = open_page(client, draft)
    assert f'action="{url(draft, "verify")}"' in html
    assert "Sampled for internal verification" in plain(html)
    sign_in_as(team.admin)
    html, _ = open_page(client, draft)
    assert f'action="{url(draft, "verify")}"' not in html
    assert f'action="{url(draft, "flag")}"' not in html


# --- rework and appeals -------------------------------------------------------------------------


def test_a_rework_shows_the_verifiers_comments(app, client, session, team, submit, decide,
                                               sign_in_as):
    team.provider.sample_percent = 100
    session.commit()
    submission = submit(team)
    first = assessment_of(session, submission)
    decide(first, team.criteria, rng=Always())
    with app.app_context():
        quality.verify(session, first, actor=team.verifier, agree=False,
                       comment="Criterion 6.2.3 is not shown by the audit report.")
        session.commit()
    rework = assessment_of(session, submission)
    assert rework.kind == AssessmentKind.REWORK
    sign_in_as(rework.assessor)
    html, _ = open_page(client, rework)
    page = plain(html)
    assert "Why this decision is being remade" in page
    assert "Criterion 6.2.3 is not shown by the audit report." in page
    assert "Vera Verifier, disagreed" in page
    # The sent-back decision reads its verification.
    sign_in_as(team.verifier)
    page = plain(client.get(url(first)).get_data(as_text=True))
    assert "Internal verification of this decision" in page and "Disagreed" in page


def test_an_appeal_shows_the_candidates_statement(app, client, session, team, submit, decide,
                                                  sign_in_as):
    submission = submit(team)
    first = assessment_of(session, submission)
    decide(first, team.criteria, not_yet={0}, feedback="Show the plan in use.")
    other = other_assessor(team, first)
    with app.app_context():
        appeal = appeals.lodge_appeal(session, first, actor=team.candidate,
                                      statement="The plan was used at work; see page 3.")
        reassessment = appeals.assign_appeal(session, appeal, other, actor=team.admin)
        session.commit()
    sign_in_as(other)
    html, _ = open_page(client, reassessment)
    page = plain(html)
    assert "The candidate's appeal" in page
    assert "The plan was used at work; see page 3." in page
    assert "Judgement on criterion" in html


# --- attempt n+1 --------------------------------------------------------------------------------


def test_attempt_two_shows_what_changed_and_the_previous_judgements(client, session, team,
                                                                   submit, decide, sign_in_as):
    c = team.criteria
    notes = make_item(session, team.enrolment, "Old notes", files=1)
    map_item(session, notes, team.enrolment, c[3], "My notes")
    photos = make_item(session, team.enrolment, "Site photos", files=1)
    photos_mapping = map_item(session, photos, team.enrolment, c[4], "Photos of the launch")
    session.commit()
    first_submission = submit(team)
    decide(assessment_of(session, first_submission), c, not_yet={0},
           feedback="Show the programme in use at work.")
    # The candidate reworks the portfolio for attempt 2.
    observation = make_item(session, team.enrolment, "Workplace observation", files=1)
    map_item(session, observation, team.enrolment, c[0], "Observed by my manager")
    report = session.scalar(select(EvidenceItem).where(
        EvidenceItem.title == "Security audit report"))
    mappings = {m.criterion_id: m for m in session.scalars(select(Mapping).where(
        Mapping.enrolment_id == team.enrolment.id, Mapping.item_id == report.id))}
    mappings[c[1].id].explanation = "Section 2 shows the investigation"
    session.delete(mappings[c[2].id])
    session.execute(Mapping.__table__.delete().where(Mapping.item_id == notes.id))
    photos_mapping.criterion_id = c[5].id
    session.commit()
    second = assessment_of(session, submit(team))
    sign_in_as(second.assessor)
    html, _ = open_page(client, second)
    page = plain(html)
    assert "What changed since attempt 1" in page
    assert "Attempt 1 was decided not yet competent" in page
    assert "Show the programme in use at work." in page
    overview = plain(html[html.index('class="facts changes-overview"'):])
    assert "New evidence Workplace observation" in overview
    assert "Removed Old notes" in overview
    assert "Remapped or explained differently Security audit report, Site photos" in overview

    def since(criterion) -> str:
        part = section(html, criterion)
        return plain(part[part.index('class="since"'):])

    assert "Not yet satisfactory" in since(c[0])
    assert "Show this in a workplace setting" in since(c[0])
    assert "New evidence: Workplace observation" in since(c[0])
    assert "Explanation changed: Security audit report" in since(c[1])
    assert "Section 2 shows the investigation" in since(c[1])
    assert f"Shows {c[1].ref}" in since(c[1])
    assert "No longer mapped here: Security audit report" in since(c[2])
    assert "Removed: Old notes" in since(c[3])
    assert "No longer mapped here: Site photos" in since(c[4])
    assert "Now mapped here: Site photos" in since(c[5])
    assert "Same evidence as attempt 1" in since(c[6])
    assert "Satisfactory" in since(c[6])
    # The at-a-glance table lists every criterion with its judgement then.
    assert html.count('<a href="#criterion-') == len(c)


def test_compare_attempts_by_item_and_file_content():
    """The comparison is a pure function of two attempts' entries and files."""

    def entry(item, criterion, title, explanation=""):
        return SimpleNamespace(item_id=item, criterion_id=criterion, item_title=title,
                               explanation=explanation)

    def file(file_id, item, sha, name):
        return SimpleNamespace(id=file_id, item_id=item, sha256=sha, display_name=name)

    criteria = [SimpleNamespace(id=n) for n in (1, 2, 3)]
    previous = SimpleNamespace(
        attempt=1,
        entries=[entry(10, 1, "Report", "p1"), entry(10, 2, "Report", "p2"),
                 entry(20, 3, "Gone")],
        files=[file(1, 10, "aaa", "report.pdf"), file(2, 10, "bbb", "old-appendix.pdf"),
               file(3, 20, "ccc", "gone.pdf")],
    )
    current = SimpleNamespace(
        attempt=2,
        entries=[entry(10, 1, "Report", "p1"), entry(10, 3, "Report", "now here"),
                 entry(30, 2, "Fresh")],
        files=[file(4, 10, "aaa", "report (renamed).pdf"), file(5, 10, "ddd", "appendix.pdf"),
               file(6, 30, "eee", "fresh.pdf")],
    )
    decision = SimpleNamespace(judgements=[
        SimpleNamespace(criterion_id=1, satisfactory=True, comment=""),
        SimpleNamespace(criterion_id=2, satisfactory=False, comment="Not shown")])
    result = queries.compare_attempts(previous, current, criteria, decision)
    kinds = {cid: [(c.kind, c.title) for c in ch.evidence] for cid, ch in result.criteria.items()}
    assert kinds == {
        1: [],
        2: [("new", "Fresh"), ("unmapped_here", "Report")],
        3: [("mapped_here", "Report"), ("removed", "Gone")],
    }
    assert result.new_items == ["Fresh"] and result.removed_items == ["Gone"]
    assert result.remapped_items == ["Report"]
    # Files by content: the renamed file is the same file; one added, one removed.
    assert [(f.display_name, f.file_id) for f in result.files_added] == [("appendix.pdf", 5)]
    assert [(f.display_name, f.file_id) for f in result.files_removed] == [
        ("old-appendix.pdf", 2)]
    # Each criterion the kept item was (or is) mapped to lists its file changes.
    assert {cid: len(ch.files) for cid, ch in result.criteria.items()} == {1: 2, 2: 2, 3: 2}
    assert result.for_criterion(2).previous.comment == "Not shown"
    assert result.for_criterion(3).previous is None
    assert result.for_criterion(99).changed is False
    assert not result.unchanged
    same = queries.compare_attempts(previous, previous, criteria)
    assert same.unchanged and not any(ch.changed for ch in same.criteria.values())
    explained = SimpleNamespace(attempt=2, files=previous.files, entries=[
        entry(10, 1, "Report", "p1 but longer"), entry(10, 2, "Report", "p2"),
        entry(20, 3, "Gone")])
    changed = queries.compare_attempts(previous, explained, criteria)
    assert [(c.kind, c.before, c.explanation) for c in changed.for_criterion(1).evidence] == [
        ("explanation_changed", "p1", "p1 but longer")]


def test_the_summary_sentence_says_why():
    criteria = [SimpleNamespace(id=n) for n in range(4)]
    marks = {0: Mark(True), 1: Mark(False, "a"), 2: Mark(False, "b"), 3: Mark(True)}
    rules = {"valid": True, "sufficient": True, "authentic": True, "current": False}
    summary = queries.summarise(criteria, marks, rules)
    assert (summary.judged, summary.satisfactory, summary.not_yet) == (4, 2, 2)
    assert summary.outcome == Outcome.NOT_YET_COMPETENT
    assert summary.sentence == ("Not yet competent: 2 criteria not yet satisfactory, "
                                "rule 'current' not confirmed.")
    everything = queries.summarise(criteria, dict.fromkeys(range(4), Mark(True)), ALL_RULES)
    assert everything.outcome == Outcome.COMPETENT and everything.complete
    assert everything.sentence.startswith("Competent: every criterion is satisfactory")
    nothing = queries.summarise(criteria, {0: Mark(None), 99: Mark(True)}, {})
    assert nothing.judged == 0
    assert nothing.sentence == ("Not yet competent: 4 criteria not judged yet, rules 'valid', "
                                "'sufficient', 'authentic' and 'current' not confirmed.")
    assert queries.summarise([], {}, ALL_RULES).sentence == (
        "Not yet competent: the unit has no criteria to judge.")


# --- queries ------------------------------------------------------------------------------------


def _page_queries(client, count_queries, assessment) -> int:
    client.get(url(assessment))  # the first request of a client loads its session once
    with count_queries() as counter:
        response = client.get(url(assessment))
    assert response.status_code == 200
    return counter.count


def test_the_page_reads_in_the_same_number_of_queries_however_much_evidence(
        app, client, session, team, submit, sign_in_as, make_user, count_queries):
    full = assessment_of(session, submit(team))
    # A second candidate who mapped one item (one file) to one criterion.
    other = make_user("other@north.example", name="Olu Other", roles=["candidate"],
                      provider=team.provider)
    enrolment = enrol_candidate(session, team.provider, other, team.unit, starts_on=today(),
                                actor=team.admin)
    item = make_item(session, enrolment, "One thing", files=1)
    map_item(session, item, enrolment, team.criteria[0], "Just this")
    session.commit()
    with app.app_context():
        submission = submissions.submit_attempt(session, enrolment, declaration_text="Mine.",
                                                actor=other)
        slim = assessment_of(session, submission)
        if slim.assessor_id != full.assessor_id:
            slim = assignment.assign(session, submission, full.assessor, actor=team.admin)
        session.commit()
    sign_in_as(full.assessor)
    assert len(full.submission.entries) == len(team.criteria) == 18
    assert len(slim.submission.entries) == 1
    assert _page_queries(client, count_queries, full) == _page_queries(client, count_queries,
                                                                       slim)


def test_attempt_two_reads_in_a_fixed_number_of_queries(client, session, team, submit, decide,
                                                        sign_in_as, count_queries):
    first = assessment_of(session, submit(team))
    decide(first, team.criteria, not_yet={0, 1}, feedback="More please.")
    extra = make_item(session, team.enrolment, "More", files=3)
    for criterion in team.criteria:
        map_item(session, extra, team.enrolment, criterion, "More")
    session.commit()
    second = assessment_of(session, submit(team))
    sign_in_as(second.assessor)
    first_count = _page_queries(client, count_queries, first)
    second_count = _page_queries(client, count_queries, second)
    # The comparison adds a fixed handful of queries, not one per criterion or file.
    assert second_count - first_count <= 5
