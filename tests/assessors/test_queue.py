"""The assessor's queue: their own drafts in the provider they act for, oldest first, with
filters, waiting times, pagination, an empty state, and a flat query count."""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import count

import pytest

from certify.accounts.models import Role
from certify.accounts.operations import people
from certify.accounts.operations.authorisations import authorise
from certify.accounts.operations.enrolments import enrol_candidate, today
from certify.assessors import queries
from certify.assessors.models import AssessmentKind, AssessmentStatus
from certify.assessors.operations import appeals, assignment, marking, quality
from certify.assessors.operations.marking import Mark
from certify.core.types import utcnow
from certify.evidence.operations.submissions import submit_attempt
from certify.units.models import Unit
from tests.assessors.conftest import Always, assessment_of
from tests.evidence.test_submissions import make_item, map_item, text
from tests.people import csrf_token
from tests.units.conftest import SFIA_CEXP

_people = count(1)


@pytest.fixture
def make_draft(app, session, team, make_user):
    """A draft for ``assessor``: a new candidate of ``provider`` who mapped one item to one
    criterion of ``unit`` and submitted ``days_ago`` days ago."""

    def make(assessor, *, name: str | None = None, email: str | None = None, unit=None,
             days_ago: float = 0, provider=None, admin=None):
        provider = provider or team.provider
        unit = unit or team.unit
        n = next(_people)
        person = make_user(email or f"queue{n}@example.org", name=name or f"Queue Person {n}",
                           roles=["candidate"], provider=provider)
        enrolment = enrol_candidate(session, provider, person, unit, starts_on=today(),
                                    actor=admin or team.admin)
        item = make_item(session, enrolment, f"Item {n}", files=1)
        map_item(session, item, enrolment, unit.criteria[0], "It shows this")
        session.commit()
        with app.app_context():
            submission = submit_attempt(session, enrolment, declaration_text="Mine.",
                                        actor=person)
            draft = assessment_of(session, submission)
            if draft.assessor_id != assessor.id:
                draft = assignment.assign(session, submission, assessor,
                                          actor=admin or team.admin)
            submission.submitted_at = utcnow() - timedelta(days=days_ago)
            session.commit()
        return draft

    return make


@pytest.fixture
def ann(team, login):
    login(team.assessors[0])
    return team.assessors[0]


def rows(response) -> list[str]:
    """The queue table's rows as text, in order."""
    html = response.get_data(as_text=True)
    body = html[html.index("<tbody>"):html.index("</tbody>")] if "<tbody>" in html else ""
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split())
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_the_queue_lists_the_assessors_drafts_oldest_first_with_waiting_times(
        client, session, team, ann, make_draft):
    recent = make_draft(ann, name="Recent Rita", days_ago=0)
    oldest = make_draft(ann, name="Oldest Omar", days_ago=10.2)
    middle = make_draft(ann, name="Middle Mia", days_ago=3.5)
    make_draft(team.assessors[1], name="Bob's Ben", days_ago=20)
    response = client.get("/assessment/queue")
    assert response.status_code == 200
    found = rows(response)
    assert [r.split(" ")[0] + " " + r.split(" ")[1] for r in found] == [
        "Oldest Omar", "Middle Mia", "Recent Rita"]
    assert "10 days" in found[0] and "3 days" in found[1] and "under an hour" in found[2]
    assert "New" in found[0] and "0 of 18" in found[0]
    html = response.get_data(as_text=True)
    for draft in (oldest, middle, recent):
        assert f'href="/assessment/assessments/{draft.id}"' in html
    assert "Bob's Ben" not in html
    assert "Showing 1–3 of 3 submissions" in text(response)
    assert 'href="/assessment/conflicts"' in html


def test_signed_decisions_and_other_providers_work_are_not_in_the_queue(
        app, client, session, team, ann, make_draft, make_provider, make_user, decide,
        import_seed):
    signed = make_draft(ann, name="Signed Sam")
    decide(signed, team.criteria)
    # Ann also assesses at South; her South work shows only when she acts for South.
    south = make_provider("South Institute", "south", "SOUTH")
    south_admin = make_user("admin@south.example", roles=["provider_admin"], provider=south)
    people.add_role(session, ann, south, Role.ASSESSOR)
    authorise(session, south, ann, Role.ASSESSOR, unit=team.unit,
              valid_from=today() - timedelta(days=1), actor=south_admin)
    session.commit()
    make_draft(ann, name="Southern Sue", provider=south, admin=south_admin)
    north = make_draft(ann, name="Northern Nel")
    html = client.get("/assessment/queue").get_data(as_text=True)
    assert "Northern Nel" in html and "Southern Sue" not in html and "Signed Sam" not in html
    assert f'href="/assessment/assessments/{north.id}"' in html
    token = csrf_token(html)
    client.post("/provider", data={"csrf_token": token, "provider_id": south.id})
    html = client.get("/assessment/queue").get_data(as_text=True)
    assert "Your queue at South Institute" in html
    assert "Southern Sue" in html and "Northern Nel" not in html


def test_filters_by_unit_candidate_status_and_age(app, client, session, team, ann,
                                                  make_draft, import_seed):
    report = import_seed(SFIA_CEXP)
    skill = session.get(Unit, report.outcomes[0].unit_id)
    authorise(session, team.provider, ann, Role.ASSESSOR, unit=skill,
              valid_from=today() - timedelta(days=1), actor=team.admin)
    session.commit()
    make_draft(ann, name="Alice Alpha", email="alice@north.example", days_ago=8)
    started = make_draft(ann, name="Bruno Beta", email="bruno@elsewhere.example", days_ago=2)
    make_draft(ann, name="Carla 100% Gamma", email="carla@north.example", unit=skill)
    with app.app_context():
        marking.save_marking(session, started, marks={team.criteria[0].id: Mark(True)},
                             rules={}, feedback="", expected_version=started.version,
                             actor=ann)
        session.commit()

    def names(query: str) -> list[str]:
        response = client.get(f"/assessment/queue?{query}")
        assert response.status_code == 200, (query, response.status_code)
        return [" ".join(r.split(" ")[:2]) for r in rows(response)]

    assert names("") == ["Alice Alpha", "Bruno Beta", "Carla 100%"]
    assert names(f"unit={skill.code}") == ["Carla 100%"]
    assert names(f"unit={team.unit.code}") == ["Alice Alpha", "Bruno Beta"]
    assert names("candidate=BRUNO") == ["Bruno Beta"]
    assert names("candidate=elsewhere.example") == ["Bruno Beta"]
    assert names("candidate=100%25") == ["Carla 100%"]
    assert names("candidate=_") == []
    assert names("status=new") == ["Alice Alpha", "Carla 100%"]
    assert names("status=in_progress") == ["Bruno Beta"]
    assert names("status=rework") == []
    assert names("older_than=5") == ["Alice Alpha"]
    assert names("older_than=1&status=in_progress&candidate=bruno") == ["Bruno Beta"]
    assert names("unit=NOPE") == ["Alice Alpha", "Bruno Beta", "Carla 100%"]
    page = client.get("/assessment/queue?status=in_progress").get_data(as_text=True)
    assert "1 of 18" in page
    assert '<option selected value="in_progress">' in page or \
        '<option value="in_progress" selected>' in page


@pytest.mark.parametrize(("query", "message"), [
    ("older_than=abc", "Waiting longer than (days)"),
    ("older_than=-3", "Use a number of days from 0 to 3650."),
    ("older_than=99999999", "Use a number of days from 0 to 3650."),
    ("status=finished", "Status"),
    ("candidate=" + "x" * 201, "Candidate (name or email)"),
])
def test_a_broken_filter_is_named_and_left_out(client, session, team, ann, make_draft, query,
                                               message):
    make_draft(ann, name="Alice Alpha", days_ago=8)
    response = client.get(f"/assessment/queue?{query}&unit={team.unit.code}")
    assert response.status_code == 422
    page = text(response)
    assert "Some filters were left out" in page and message in page
    assert [" ".join(r.split(" ")[:2]) for r in rows(response)] == ["Alice Alpha"]


def test_rework_appeal_and_correction_have_their_own_status(app, client, session, team, ann,
                                                            make_draft, decide, submit):
    # Rework: a verifier disagreed with Ann's sampled decision.
    team.provider.sample_percent = 100
    session.commit()
    reworked = make_draft(ann, name="Rework Rex")
    decide(reworked, team.criteria, rng=Always())
    with app.app_context():
        quality.verify(session, reworked, actor=team.verifier, agree=False, comment="Look again")
        session.commit()
    team.provider.sample_percent = 0
    session.commit()
    # Appeal: Bob's confirmed decision, appealed and given to Ann.
    appealed = make_draft(team.assessors[1], name="Appeal Ada")
    decide(appealed, team.criteria, not_yet={0}, feedback="Not yet.")
    with app.app_context():
        appeal = appeals.lodge_appeal(session, appealed,
                                      actor=appealed.submission.enrolment.candidate,
                                      statement="I showed this on page 2 of the report.")
        appeals.assign_appeal(session, appeal, ann, actor=team.admin)
        session.commit()
    # Correction: Ann corrects her own confirmed decision.
    corrected = make_draft(ann, name="Correct Cleo")
    decide(corrected, team.criteria)
    with app.app_context():
        marking.start_correction(session, corrected, actor=ann, reason="Wrong file judged")
        session.commit()
    response = client.get("/assessment/queue")
    labels = {" ".join(r.split(" ")[:2]): r for r in rows(response)}
    assert set(labels) == {"Rework Rex", "Appeal Ada", "Correct Cleo"}
    assert "Rework after verification" in labels["Rework Rex"]
    assert "Appeal" in labels["Appeal Ada"] and "Correction" in labels["Correct Cleo"]
    for status, name in (("rework", "Rework Rex"), ("appeal", "Appeal Ada"),
                         ("correction", "Correct Cleo")):
        found = rows(client.get(f"/assessment/queue?status={status}"))
        assert [" ".join(r.split(" ")[:2]) for r in found] == [name]
    assert rows(client.get("/assessment/queue?status=new")) == []
    kinds = {a.kind for a in session.query(type(reworked)).filter_by(
        assessor_id=ann.id, status=AssessmentStatus.DRAFT)}
    assert kinds == {AssessmentKind.REWORK, AssessmentKind.APPEAL, AssessmentKind.CORRECTION}


def test_pages_keep_the_filters(app, client, session, team, ann, make_draft, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    for n in range(5):
        make_draft(ann, name=f"Person P{n}", days_ago=10 - n)
    first = client.get("/assessment/queue?status=new")
    assert [" ".join(r.split(" ")[:2]) for r in rows(first)] == ["Person P0", "Person P1"]
    page = text(first)
    assert "Page 1 of 3" in page and "Showing 1–2 of 5 submissions" in page
    html = first.get_data(as_text=True)
    assert re.search(r'href="/assessment/queue\?(status=new&amp;page=2|page=2&amp;status=new)"',
                     html)
    last = client.get("/assessment/queue?status=new&page=3")
    assert [" ".join(r.split(" ")[:2]) for r in rows(last)] == ["Person P4"]
    beyond = client.get("/assessment/queue?status=new&page=99")
    assert [" ".join(r.split(" ")[:2]) for r in rows(beyond)] == ["Person P4"]


def test_an_empty_queue_says_so(client, session, team, ann, make_draft):
    response = client.get("/assessment/queue")
    assert response.status_code == 200
    assert "Nothing to assess" in text(response) and "Your queue is empty" in text(response)
    make_draft(ann, name="Alice Alpha")
    response = client.get("/assessment/queue?candidate=nobody")
    assert "Nothing matches these filters" in text(response)
    assert 'href="/assessment/queue"' in response.get_data(as_text=True)


@pytest.mark.parametrize("who", ["verifier", "admin", "candidate", "other_admin"])
def test_only_assessors_have_a_queue(client, session, team, login, make_provider, make_user,
                                     who):
    person = {"verifier": team.verifier, "admin": team.admin,
              "candidate": team.candidate}.get(who)
    if person is None:
        south = make_provider("South Institute", "south", "SOUTH")
        person = make_user("admin@south.example", roles=["provider_admin"], provider=south)
    login(person)
    assert client.get("/assessment/queue").status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client, session):
    response = client.get("/assessment/queue")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_queue_reads_in_the_same_number_of_queries_however_long(
        client, session, team, ann, make_draft, count_queries):
    def measure() -> int:
        client.get("/assessment/queue")
        with count_queries() as counter:
            response = client.get("/assessment/queue?status=new")
        assert response.status_code == 200
        return counter.count

    for _ in range(2):
        make_draft(ann)
    few = measure()
    for _ in range(5):
        make_draft(ann)
    assert len(rows(client.get("/assessment/queue"))) == 7
    assert measure() == few


def test_waited_reads_as_people_say_it():
    now = utcnow()
    assert queries.waited(now - timedelta(minutes=5), now) == "under an hour"
    assert queries.waited(now - timedelta(hours=1, minutes=2), now) == "1 hour"
    assert queries.waited(now - timedelta(hours=23), now) == "23 hours"
    assert queries.waited(now - timedelta(days=1, hours=2), now) == "1 day"
    assert queries.waited(now - timedelta(days=3, hours=5), now) == "3 days"
    # A clock that moved backwards never shows a negative wait.
    assert queries.waited(now + timedelta(hours=3), now) == "under an hour"
