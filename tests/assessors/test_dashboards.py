"""The provider dashboard: statistics with known numbers, SVG charts that are well-formed and
escaped, CSV exports that no spreadsheet evaluates, and who may read them."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from certify.accounts.operations.enrolments import enrol_candidate, today
from certify.assessors import charts, statistics
from certify.assessors.models import Assessment, AssessmentStatus
from certify.assessors.operations import conflicts, quality
from certify.assessors.reports import safe_cell as csv_cell
from certify.assessors.reports import write_csv as csv_text
from certify.evidence.operations import submissions
from tests.assessors.conftest import assessment_of
from tests.evidence.test_submissions import make_item, map_item, text
from tests.people import PASSWORD, csrf_token


@pytest.fixture
def browser(app, session):
    """A new signed-in client for ``user``."""

    def open_as(user):
        client = app.test_client()
        page = client.get("/login")
        answer = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                             "csrf_token": csrf_token(page.get_data(
                                                 as_text=True))})
        assert answer.status_code in (302, 303), answer.status_code
        return client

    return open_as


SVG = "{http://www.w3.org/2000/svg}"
HOSTILE_TITLE = 'Secure <script>alert("x")</script> & systems'

# --- percentiles and the arithmetic, with known numbers -----------------------------------------


def test_percentile_interpolates_between_the_closest_ranks():
    ten = list(range(1, 11))
    assert statistics.median(ten) == pytest.approx(5.5)
    assert statistics.percentile(ten, 90) == pytest.approx(9.1)
    assert statistics.percentile(ten, 0) == 1
    assert statistics.percentile(ten, 100) == 10
    assert statistics.median([4, 1, 3, 2]) == pytest.approx(2.5)
    assert statistics.median([7, 1, 3]) == 3
    assert statistics.percentile([5.0], 90) == 5.0
    assert statistics.percentile([], 50) is None
    for wrong in (-1, 101):
        with pytest.raises(ValueError, match="between 0 and 100"):
            statistics.percentile(ten, wrong)


def at(day: float) -> datetime:
    return datetime(2025, 3, 1, tzinfo=UTC) + timedelta(days=day)


def test_turnaround_per_unit_and_overall():
    a = statistics.UnitKey(1, "AAA101", 1, "Alpha")
    b = statistics.UnitKey(2, "BBB202", 1, "Beta")
    rows = [(a, at(0), at(1)), (a, at(2), at(4)), (a, at(0), at(3)), (a, at(5), at(9)),
            (b, at(0), at(10))]
    result = statistics.summarise_turnaround(rows)
    assert [r.label for r in result] == ["AAA101 v1", "BBB202 v1", "All units"]
    alpha, beta, overall = result
    # AAA101: 1, 2, 3, 4 days.
    assert alpha.decisions == 4
    assert alpha.median_days == pytest.approx(2.5)
    assert alpha.p90_days == pytest.approx(3.7)
    assert beta.median_days == beta.p90_days == pytest.approx(10)
    # All: 1, 2, 3, 4, 10 -> median 3; rank 0.9 * 4 = 3.6 -> 4 + 0.6 * (10 - 4) = 7.6.
    assert overall.decisions == 5
    assert overall.median_days == pytest.approx(3)
    assert overall.p90_days == pytest.approx(7.6)
    empty = statistics.summarise_turnaround([])
    assert len(empty) == 1 and empty[0].median_days is None and empty[0].decisions == 0


def test_competence_per_unit_and_overall():
    a = statistics.UnitKey(1, "AAA101", 1, "Alpha")
    b = statistics.UnitKey(2, "AAA101", 2, "Alpha revised")
    result = statistics.summarise_competence([(b, 4, 1), (a, 5, 4)])
    assert [(r.label, r.decisions, r.competent) for r in result] == [
        ("AAA101 v1", 5, 4), ("AAA101 v2", 4, 1), ("All units", 9, 5)]
    assert result[0].rate == pytest.approx(0.8)
    assert result[1].percent == pytest.approx(25)
    assert result[2].rate == pytest.approx(5 / 9)
    assert statistics.CompetenceRow(None, 0, 0).rate is None


def test_waiting_is_most_first_with_the_unassigned_last():
    rows = statistics.summarise_waiting([(1, "Zed", "z@x", 2), (2, "amy", "a@x", 5),
                                         (3, "Bob", "b@x", 2)], unassigned=3)
    assert [(r.name, r.waiting) for r in rows] == [
        ("amy", 5), ("Bob", 2), ("Zed", 2), (statistics.UNASSIGNED_LABEL, 3)]
    assert rows[-1].assessor_id is None


# --- charts --------------------------------------------------------------------------------------


def parse(svg: str) -> ET.Element:
    """The application's own SVG, parsed strictly: it must be well-formed XML."""
    return ET.fromstring(svg)  # noqa: S314 - markup this test's application just produced


def test_a_chart_is_well_formed_accessible_svg():
    svg = charts.bar_chart("c1", "Waiting & more", "Two bars", [
        charts.Bar("Ann", 3, "ann@example.org"), charts.Bar("Bob", 0), charts.Bar("None", None)])
    root = parse(str(svg))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.get("id") == "c1-title" and title.text == "Waiting & more"
    assert desc.get("id") == "c1-desc"
    bars = root.findall(f".//{SVG}rect")
    assert len(bars) == 1  # a bar of 0 or of no data is not drawn
    assert float(bars[0].get("width")) == pytest.approx(charts.BAR_AREA)
    values = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "chart__value"]
    assert values == ["3", "0", "no data"]


def test_bars_are_scaled_to_the_maximum_and_never_overflow():
    root = parse(str(charts.bar_chart("c", "t", "d", [charts.Bar("a", 50), charts.Bar("b", 150)],
                                      maximum=100)))
    widths = [float(r.get("width")) for r in root.iter(f"{SVG}rect")]
    assert widths == [pytest.approx(charts.BAR_AREA / 2), pytest.approx(charts.BAR_AREA)]
    # Small values are not stretched to a full bar.
    root = parse(str(charts.bar_chart("c", "t", "d", [charts.Bar("a", 0.25)])))
    assert float(next(root.iter(f"{SVG}rect")).get("width")) == pytest.approx(
        charts.BAR_AREA / 4, abs=0.1)


def test_chart_text_is_escaped():
    svg = str(charts.bar_chart("x", HOSTILE_TITLE, "<b>desc</b>", [
        charts.Bar('<script>alert(1)</script>"', 2, HOSTILE_TITLE)]))
    assert "<script>" not in svg and "<b>" not in svg
    root = parse(svg)
    assert root.find(f"{SVG}title").text == HOSTILE_TITLE
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))
    tooltip = root.find(f".//{SVG}g/{SVG}title").text
    assert '<script>alert(1)</script>"' in tooltip and HOSTILE_TITLE in tooltip


# --- CSV ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("Ann", "Ann"), ("a=b", "a=b"), (3, "3"), (None, ""), ("", ""),
])
def test_csv_cells_never_start_a_formula(value, expected):
    assert csv_cell(value) == expected


def test_csv_text_quotes_and_protects_every_cell():
    out = csv_text(["=Head"], [["a,b", '=1+1'], ['say "hi"', "@x"]])
    rows = list(csv.reader(io.StringIO(out)))
    assert rows == [["'=Head"], ["a,b", "'=1+1"], ['say "hi"', "'@x"]]


# --- the page and the files, with data made through the operations ------------------------------


def extra_candidate(session, team, make_user, email: str):
    """Another candidate of the team's provider, enrolled on its unit, evidence mapped."""
    person = make_user(email, roles=["candidate"], provider=team.provider)
    enrolment = enrol_candidate(session, team.provider, person, team.unit, starts_on=today(),
                                actor=team.admin)
    item = make_item(session, enrolment, "Report")
    for criterion in team.criteria:
        map_item(session, item, enrolment, criterion)
    session.commit()
    return person, enrolment


def submit_for(app, session, person, enrolment):
    with app.app_context():
        submission = submissions.submit_attempt(session, enrolment, declaration_text="Mine.",
                                                actor=person)
        session.commit()
    return submission


@pytest.fixture
def busy(app, session, team, submit, decide, make_user):
    """Attempt 1 not yet competent (2 days), attempt 2 competent (4 days, verified); another
    candidate's submission being marked; a third's that nobody may assess (unassigned)."""
    first = submit(team)
    decide(assessment_of(session, first), team.criteria, not_yet={0}, feedback="Not yet.")
    second = submit(team)
    decided = decide(assessment_of(session, second), team.criteria)
    with app.app_context():
        quality.verify(session, decided, actor=team.verifier, agree=True, comment="")
        session.commit()
    session.expire_all()
    for submission, days in ((first, 2), (second, 4)):
        confirmed = session.scalar(select(Assessment.confirmed_at).where(
            Assessment.submission_id == submission.id, Assessment.confirmed_at.is_not(None)))
        submission.submitted_at = confirmed - timedelta(days=days)
    session.commit()
    person, enrolment = extra_candidate(session, team, make_user, "second@north.example")
    marking = assessment_of(session, submit_for(app, session, person, enrolment))
    loner, lone_enrolment = extra_candidate(session, team, make_user, "third@north.example")
    for assessor in team.assessors:
        conflicts.declare_conflict(session, team.provider, assessor, loner, reason="Family",
                                   actor=team.admin)
    session.commit()
    unassigned = submit_for(app, session, loner, lone_enrolment)
    return {"marking": marking, "unassigned": unassigned}


def test_the_dashboard_numbers_from_real_decisions(session, team, busy):
    data = statistics.dashboard(session, team.provider)
    waiting = {r.name: r.waiting for r in data.waiting}
    assert waiting[busy["marking"].assessor.name] == 1
    assert waiting[statistics.UNASSIGNED_LABEL] == 1
    assert sum(waiting.values()) == 2
    unit_row, overall = data.turnaround
    assert unit_row.unit.code == team.unit.code
    assert unit_row.decisions == overall.decisions == 2
    assert unit_row.median_days == pytest.approx(3, abs=0.01)
    assert unit_row.p90_days == pytest.approx(3.8, abs=0.01)
    unit_competence, total = data.competence
    assert (unit_competence.decisions, unit_competence.competent) == (2, 1)
    assert unit_competence.percent == pytest.approx(50)
    assert total.decisions == 2


def test_superseded_and_unconfirmed_decisions_do_not_count_towards_competence(
        app, session, team, submit, decide):
    team.provider.sample_first_n = 5
    session.commit()
    waiting = decide(assessment_of(session, submit(team)), team.criteria)
    session.expire_all()
    assert waiting.status == AssessmentStatus.AWAITING_VERIFICATION
    data = statistics.dashboard(session, team.provider)
    assert data.competence[-1].decisions == 0
    assert data.turnaround[-1].decisions == 0


def svgs_of(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, flags=re.S)


def test_the_dashboard_page_draws_each_chart_with_its_table(session, team, busy, browser):
    response = browser(team.admin).get("/assessment/dashboard")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    drawn = svgs_of(html)
    assert len(drawn) == 3
    for svg in drawn:
        root = parse(svg)
        assert root.get("role") == "img"
        labelled = root.get("aria-labelledby").split()
        assert [e.get("id") for e in root if e.tag in (f"{SVG}title", f"{SVG}desc")] == labelled
    # Each chart is followed by its table, and each table by its CSV link.
    for table in ("waiting", "turnaround", "competence"):
        chart_at = html.index(f'aria-labelledby="chart-{table}-title')
        caption_at = html.index(f'id="{table}-caption"')
        link_at = html.index(f'href="/assessment/dashboard/{table}.csv"')
        assert chart_at < caption_at < link_at
    page = text(response)
    assert "3.0" in page and "3.8" in page and "50 %" in page
    assert statistics.UNASSIGNED_LABEL in page
    assert "<script" not in html.split("<main", 1)[1]


def test_a_unit_title_with_markup_is_drawn_as_text(session, team, busy, browser):
    team.unit.title = HOSTILE_TITLE
    session.commit()
    html = browser(team.admin).get("/assessment/dashboard").get_data(as_text=True)
    assert '<script>alert("x")' not in html
    assert "&lt;script&gt;" in html
    titles = []
    for svg in svgs_of(html):
        root = parse(svg)
        assert not list(root.iter(f"{SVG}script"))
        titles += [t.text for t in root.iter(f"{SVG}title")]
    assert any(HOSTILE_TITLE in (t or "") for t in titles)


def test_an_empty_dashboard_says_so(team, browser):
    page = text(browser(team.admin).get("/assessment/dashboard"))
    assert page.count("No confirmed decisions yet") == 2
    assert statistics.UNASSIGNED_LABEL in page


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_each_table_downloads_as_csv(session, team, busy, browser):
    client = browser(team.admin)
    waiting = client.get("/assessment/dashboard/waiting.csv")
    assert waiting.status_code == 200
    assert waiting.mimetype == "text/csv"
    assert waiting.headers["Content-Disposition"] == (
        f'attachment; filename="{team.provider.slug}-waiting.csv"')
    rows = read_csv(waiting)
    assert rows[0] == ["Assessor", "Email", "Submissions waiting"]
    assert [statistics.UNASSIGNED_LABEL, "", "1"] in rows
    turnaround = read_csv(client.get("/assessment/dashboard/turnaround.csv"))
    assert turnaround[1][:5] == [team.unit.code, "1", team.unit.title, "2", "3.0"]
    assert turnaround[1][5] == "3.8"
    assert turnaround[-1][0] == "All units"
    competence = read_csv(client.get("/assessment/dashboard/competence.csv"))
    assert competence[1][3:] == ["2", "1", "50.0"]
    for wrong in ("other", "waiting.csv", "WAITING", "..%2Fwaiting"):
        assert client.get(f"/assessment/dashboard/{wrong}.csv").status_code == 404


def test_csv_files_are_safe_from_formula_injection(session, team, busy, browser):
    assessor = busy["marking"].assessor
    assessor.name = "=HYPERLINK(\"http://evil.example\",\"Click\")"
    team.unit.title = "+SUM(1,2)"
    session.commit()
    client = browser(team.admin)
    waiting = read_csv(client.get("/assessment/dashboard/waiting.csv"))
    assert ["'=HYPERLINK(\"http://evil.example\",\"Click\")", assessor.email, "1"] in waiting
    competence = read_csv(client.get("/assessment/dashboard/competence.csv"))
    assert competence[1][2] == "'+SUM(1,2)"
    for row in waiting + competence:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_only_provider_admins_read_the_dashboard(team, browser, make_user, make_provider):
    for person in (team.candidate, team.assessors[0], team.verifier):
        client = browser(person)
        assert client.get("/assessment/dashboard").status_code == 403
        assert client.get("/assessment/dashboard/waiting.csv").status_code == 403
    south = make_provider("South Institute", "south", "STH")
    south_admin = make_user("admin@south.example", roles=["provider_admin"], provider=south)
    # South's admin reads South's (empty) dashboard, never North's numbers.
    page = text(browser(south_admin).get("/assessment/dashboard"))
    assert "South Institute" in page and team.assessors[0].name not in page


def test_the_dashboard_sends_the_same_queries_however_much_data(
        app, session, team, submit, decide, make_user, browser, count_queries):
    decide(assessment_of(session, submit(team)), team.criteria, not_yet={0}, feedback="No.")
    client = browser(team.admin)

    def count(url: str) -> int:
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    urls = ["/assessment/dashboard", "/assessment/dashboard/turnaround.csv"]
    few = [count(url) for url in urls]
    for n in range(3):
        person, enrolment = extra_candidate(session, team, make_user, f"more{n}@north.example")
        assessment = assessment_of(session, submit_for(app, session, person, enrolment))
        if n:
            decide(assessment, team.criteria, not_yet={n}, feedback="No.")
    assert [count(url) for url in urls] == few
