"""`certify assessment`: assign, report and settings on the command line, with the same rules
and messages as the pages."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from certify.accounts.models import Provider, Role
from certify.accounts.operations.authorisations import authorise, today
from certify.assessors import reports
from certify.assessors.models import AssessmentStatus
from certify.assessors.operations.conflicts import declare_conflict
from certify.core.models import AuditEntry
from tests.assessors.conftest import assessment_of
from tests.assessors.test_assignment_views import (
    add_candidate,
    assessments_of,
    submit_unassigned,
)


def settings_of(session, provider) -> tuple[int, int, int, int]:
    session.expire_all()
    found = session.get(Provider, provider.id)
    return (found.sample_first_n, found.sample_percent, found.max_attempts,
            found.appeal_window_days)


# --- assign ----------------------------------------------------------------------------------


def test_assign_to_an_assessor_by_email(app, session, cli, make_user, team):
    enrolment = add_candidate(session, make_user, team, 60, "Dara Waiting")
    waiting = submit_unassigned(app, session, team, enrolment)
    bob = team.assessors[1]
    result = cli("assessment", "assign", str(waiting.id), "--to", "Assessor2@North.example")
    assert result.exit_code == 0, result.output
    assert result.output == (f"{team.unit.code} attempt 1 of Dara Waiting (North College) is "
                             f"assigned to Bob Assessor <{bob.email}>.\n")
    [made] = assessments_of(session, waiting)
    assert made.assessor_id == bob.id and made.assigned_via == "admin"
    assert made.assigned_by_id is None
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "assessment.assigned")
                            .order_by(AuditEntry.seq.desc())).first()
    assert entry.actor_id is None and entry.changes["assessor"] == bob.email


def test_assign_automatically_and_move_a_draft(app, session, cli, make_user, team, submit):
    marked = submit(team)
    busy = assessment_of(session, marked).assessor_id
    enrolment = add_candidate(session, make_user, team, 61)
    waiting = submit_unassigned(app, session, team, enrolment)
    result = cli("assessment", "assign", str(waiting.id), "--automatic")
    assert result.exit_code == 0, result.output
    [made] = assessments_of(session, waiting)
    assert made.assessor_id != busy
    # Automatic on a draft moves it to someone else.
    result = cli("assessment", "assign", str(marked.id), "--automatic")
    assert result.exit_code == 0, result.output
    [moved] = assessments_of(session, marked)
    assert moved.assessor_id != busy and moved.status == AssessmentStatus.DRAFT


def test_assign_refusals_exit_1_with_the_reason_and_change_nothing(app, session, cli, make_user,
                                                                    team):
    enrolment = add_candidate(session, make_user, team, 62, "Dara Waiting")
    waiting = submit_unassigned(app, session, team, enrolment)
    ann = team.assessors[0]
    with app.app_context():
        declare_conflict(session, team.provider, ann, enrolment.candidate, reason="Cousin",
                         actor=team.admin)
        session.commit()
    cases = [
        (("--to", enrolment.candidate.email),
         "Dara Waiting is the candidate of this submission and cannot assess it."),
        (("--to", ann.email), "Ann Assessor has declared a conflict of interest with"),
        (("--to", team.verifier.email),
         f"Vera Verifier is not authorised to assess {team.unit.code}"),
        (("--to", "nobody@example.org"), "Nobody has the email address nobody@example.org."),
    ]
    for options, message in cases:
        result = cli("assessment", "assign", str(waiting.id), *options)
        assert result.exit_code == 1, options
        assert message in result.output
        assert assessments_of(session, waiting) == []
    result = cli("assessment", "assign", "999999", "--automatic")
    assert result.exit_code == 1
    assert "There is no submission 999999." in result.output


def test_assign_needs_exactly_one_of_to_and_automatic(app, session, cli, make_user, team):
    enrolment = add_candidate(session, make_user, team, 63)
    waiting = submit_unassigned(app, session, team, enrolment)
    for options in ((), ("--automatic", "--to", team.assessors[0].email)):
        result = cli("assessment", "assign", str(waiting.id), *options)
        assert result.exit_code == 2
        assert "Give either --to EMAIL or --automatic." in result.output
    assert cli("assessment", "assign", "abc", "--automatic").exit_code == 2
    assert assessments_of(session, waiting) == []


# --- report ----------------------------------------------------------------------------------


def test_report_prints_a_table_and_csv(app, session, cli, team, submit, decide):
    result = cli("assessment", "report", "north-college")
    assert result.exit_code == 0
    assert result.output == ("Verifier report of North College\n"
                             "No assessor has signed a decision yet.\n")
    team.provider.sample_first_n = 5
    session.commit()
    decided = decide(assessment_of(session, submit(team)), team.criteria)
    name = decided.assessor.name
    result = cli("assessment", "report", "north-college")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[1].split() == ["Assessor", "Decisions", "Sampled", "Agreed", "Disagreed",
                                "Agreement"]
    assert lines[2].split() == [*name.split(), "1", "1", "0", "0", "—"]
    assert lines[3].split() == ["All", "assessors", "1", "1", "0", "0", "—"]
    result = cli("assessment", "report", "north-college", "--csv")
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows == [list(reports.REPORT_HEADER), [name, "1", "1", "0", "0", ""]]


def test_report_csv_is_safe_from_formula_injection(app, session, cli, make_user, team, decide):
    enrolment = add_candidate(session, make_user, team, 64)
    waiting = submit_unassigned(app, session, team, enrolment)
    hostile = make_user("evil@north.example", name="@SUM(1+1)", roles=["assessor"],
                        provider=team.provider)
    authorise(session, team.provider, hostile, Role.ASSESSOR, unit=team.unit,
              valid_from=today(), actor=team.admin)
    session.commit()
    assert cli("assessment", "assign", str(waiting.id), "--to", hostile.email).exit_code == 0
    decide(assessment_of(session, waiting), team.criteria)
    rows = list(csv.reader(io.StringIO(cli("assessment", "report", "north-college",
                                           "--csv").output)))
    assert rows[1][0] == "'@SUM(1+1)"


def test_report_of_an_unknown_provider(cli, team):
    result = cli("assessment", "report", "nowhere")
    assert result.exit_code == 1
    assert "No provider has the short name 'nowhere'." in result.output


# --- settings --------------------------------------------------------------------------------


def test_settings_print_and_change(session, cli, team):
    result = cli("assessment", "settings", "north-college")
    assert result.exit_code == 0
    assert result.output == (
        "First decisions sampled per assessor and unit (--first-n): 0\n"
        "Percentage of the other decisions sampled (--percent): 0\n"
        "Attempts allowed per enrolment (--max-attempts): 3\n"
        "Days to appeal a decision (--appeal-days): 14\n"
    )
    result = cli("assessment", "settings", "north-college", "--first-n", "4", "--percent", "15",
                 "--max-attempts", "5", "--appeal-days", "30")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("The assessment settings of North College are saved.\n")
    assert "Attempts allowed per enrolment (--max-attempts): 5" in result.output
    assert settings_of(session, team.provider) == (4, 15, 5, 30)
    entry = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "provider.assessment_settings_changed")).one()
    assert entry.actor_id is None
    assert entry.changes["sample_percent"] == [0, 15]
    # One option alone changes only that one.
    assert cli("assessment", "settings", "north-college", "--percent", "0").exit_code == 0
    assert settings_of(session, team.provider) == (4, 0, 5, 30)


def test_invalid_settings_exit_1_and_change_nothing(session, cli, team):
    before = settings_of(session, team.provider)
    cases = [
        (("--max-attempts", "0"),
         "--max-attempts: Attempts allowed per enrolment must be a whole number from 1 to 20."),
        (("--percent", "101"),
         "--percent: Percentage of the other decisions sampled must be a whole number from 0 "
         "to 100."),
        (("--appeal-days", "ten"), "--appeal-days: Days to appeal a decision must be a whole "
                                   "number from 1 to 365."),
        (("--first-n", "-3"), "--first-n: First decisions sampled per assessor and unit must be "
                              "a whole number from 0 to 1000."),
        (("--first-n", "2", "--max-attempts", "21"), "--max-attempts: Attempts allowed"),
    ]
    for options, message in cases:
        result = cli("assessment", "settings", "north-college", *options)
        assert result.exit_code == 1, options
        assert message in " ".join(result.output.split())
        assert settings_of(session, team.provider) == before
    assert session.scalars(select(AuditEntry).where(
        AuditEntry.action == "provider.assessment_settings_changed")).first() is None
    result = cli("assessment", "settings", "nowhere", "--percent", "5")
    assert result.exit_code == 1
    assert "No provider has the short name 'nowhere'." in result.output
