"""`certify certificates`: list, issue, revoke and reissue from the shell, with the pages' rules
and messages, as a named provider admin."""

from __future__ import annotations

from sqlalchemy import func, select

from certify.certificates.models import Certificate, CertificateKind, CertificateStatus
from certify.certificates.numbering import format_number
from certify.core.models import AuditEntry
from tests.certificates.conftest import achieve, make_qualification, make_unit

ADMIN = "admin@north.example"


def certificates(session) -> list[Certificate]:
    session.expire_all()
    return list(session.scalars(select(Certificate).order_by(Certificate.id)))


def fresh(session, certificate: Certificate) -> Certificate:
    session.expire_all()
    return session.get(Certificate, certificate.id)


# --- issue ------------------------------------------------------------------------------------


def test_issue_a_statement_of_attainment(app, session, cli, world):
    result = cli("certificates", "issue", "north-college", "Cand@North.example", "--as", ADMIN)
    assert result.exit_code == 0, result.output
    [made] = certificates(session)
    assert result.output == (f"Issued statement of attainment {made.number} to Chen Candidate "
                             "<cand@north.example>.\n")
    assert made.kind == CertificateKind.STATEMENT and made.issued_by_id == world.admin.id
    assert [u.enrolment_id for u in made.units] == [world.enrolment.id]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "certificate.issued")
                            ).one()
    assert entry.actor_id == world.admin.id


def test_issue_a_qualification_certificate(app, session, cli, world):
    with app.app_context():
        make_qualification(session, world.provider, world.unit.framework_id, "LOY4",
                           "Award in Loyalty Marketing", 4, [world.unit])
        session.commit()
    result = cli("certificates", "issue", "north-college", "cand@north.example",
                 "--qualification", "LOY4", "--as", ADMIN)
    assert result.exit_code == 0, result.output
    [made] = certificates(session)
    assert made.kind == CertificateKind.QUALIFICATION
    assert made.snapshot["qualification"]["code"] == "LOY4"
    assert result.output.startswith(f"Issued qualification certificate {made.number} ")


def test_issue_refusals_change_nothing(app, session, cli, world, make_user):
    make_user("assessor2@north.example", roles=["assessor"], provider=world.provider)
    cases = [
        (("north-college", "cand@north.example", "--qualification", "NOPE", "--as", ADMIN),
         "Error: North College has no qualification with the code 'NOPE'."),
        (("nowhere", "cand@north.example", "--as", ADMIN),
         "Error: No provider has the short name 'nowhere'."),
        (("north-college", "nobody@north.example", "--as", ADMIN),
         "Error: Nobody has the email address nobody@north.example (the candidate)."),
        (("north-college", "cand@north.example", "--as", "assessor2@north.example"),
         "Error: assessor2@north.example is not an admin of North College, so cannot act on "
         "its certificates."),
        (("north-college", "cand@north.example", "--as", "ghost@north.example"),
         "Error: Nobody has the email address ghost@north.example (--as)."),
    ]
    for args, message in cases:
        result = cli("certificates", "issue", *args)
        assert result.exit_code == 1, args
        assert result.output.strip() == message
    assert certificates(session) == []


def test_issue_when_nothing_is_left_to_certify(app, session, cli, world, issued):
    result = cli("certificates", "issue", "north-college", "cand@north.example", "--as", ADMIN)
    assert result.exit_code == 1
    assert result.output.strip() == ("Error: Chen Candidate has no achieved unit that is not "
                                     "already on a certificate.")
    assert len(certificates(session)) == 1


# --- list -------------------------------------------------------------------------------------


def test_list_the_register(app, session, cli, world, issue, issued):
    with app.app_context():
        unit = make_unit(session, world.unit.framework_id, "ITCSCR406A", "Manage loyalty", 4, 5)
        enrolment = achieve(session, world.provider, world.candidate, unit, world.assessor,
                            admin=world.admin)
        session.commit()
    later = issue(world, enrolment_ids=[enrolment.id], name="陳大文")
    cli("certificates", "revoke", issued.number, "--reason", "Wrong", "--as", ADMIN)
    result = cli("certificates", "list", "north-college")
    assert result.exit_code == 0, result.output
    day = later.snapshot["issued_on"]
    assert result.output.splitlines() == [
        f"{later.number}\tvalid\t{day}\tstatement_of_attainment\t陳大文\tITCSCR406A",
        f"{issued.number}\trevoked\t{day}\tstatement_of_attainment\tChen Candidate\tITCSCR405A",
    ]
    revoked = cli("certificates", "list", "north-college", "--status", "revoked")
    assert revoked.output.splitlines() == [
        f"{issued.number}\trevoked\t{day}\tstatement_of_attainment\tChen Candidate\tITCSCR405A"]
    none = cli("certificates", "list", "north-college", "--status", "superseded")
    assert none.output == "North College has no superseded certificates.\n"
    bad = cli("certificates", "list", "north-college", "--status", "lost")
    assert bad.exit_code == 2 and "'lost' is not one of" in bad.output


# --- revoke -----------------------------------------------------------------------------------


def test_revoke(app, session, cli, world, issued):
    result = cli("certificates", "revoke", issued.number.lower(), "--reason",
                 "Issued in error.", "--as", ADMIN)
    assert result.exit_code == 0, result.output
    assert result.output == f"Revoked {issued.number}.\n"
    found = fresh(session, issued)
    assert found.status == CertificateStatus.REVOKED
    assert found.revocation_reason == "Issued in error." and found.revoked_by_id == world.admin.id
    again = cli("certificates", "revoke", issued.number, "--reason", "Again", "--as", ADMIN)
    assert again.exit_code == 1
    assert again.output.strip() == (f"Error: {issued.number} is already revoked; only a valid "
                                    "certificate can be revoked.")


def test_revoke_refusals(app, session, cli, world, issued, make_user, make_provider):
    south = make_provider("South Institute", "south", "SOUTH")
    make_user("admin@south.example", roles=["provider_admin"], provider=south)
    wrong_check = issued.number[:-1] + str((int(issued.number[-1]) + 1) % 10)
    unknown = format_number("NCOL", 2026, 777)
    cases = [
        ((wrong_check, "--reason", "x", "--as", ADMIN),
         f"Error: The check digit of {wrong_check} does not match: a digit is probably "
         "mistyped."),
        ((unknown, "--reason", "x", "--as", ADMIN),
         f"Error: No certificate has the number {unknown}."),
        ((issued.number, "--reason", "x", "--as", "admin@south.example"),
         "Error: admin@south.example is not an admin of North College, so cannot act on its "
         "certificates."),
        ((issued.number, "--reason", "x", "--as", "cand@north.example"),
         "Error: cand@north.example is not an admin of North College, so cannot act on its "
         "certificates."),
        ((issued.number, "--reason", "   ", "--as", ADMIN),
         "Error: Give the reason for the revocation. It is shown to anyone who verifies the "
         "certificate."),
    ]
    for args, message in cases:
        result = cli("certificates", "revoke", *args)
        assert result.exit_code == 1, args
        assert result.output.strip() == message
    malformed = cli("certificates", "revoke", "not-a-number", "--reason", "x", "--as", ADMIN)
    assert malformed.exit_code == 1
    assert malformed.output.startswith("Error: 'not-a-number' is not a certificate number; "
                                       "they look like ")
    assert fresh(session, issued).status == CertificateStatus.VALID
    missing = cli("certificates", "revoke", issued.number, "--as", ADMIN)
    assert missing.exit_code == 2 and "Missing option '--reason'" in missing.output


# --- reissue ----------------------------------------------------------------------------------


def test_reissue_with_a_corrected_name(app, session, cli, world, issued):
    result = cli("certificates", "reissue", issued.number, "--reason", "Name misspelt.",
                 "--name", "Zażółć Gęślą Jaźń", "--as", ADMIN)
    assert result.exit_code == 0, result.output
    old, new = certificates(session)
    assert result.output == (f"Reissued {old.number} as {new.number}; {old.number} is "
                             "superseded.\n")
    assert old.status == CertificateStatus.SUPERSEDED and old.superseded_by_id == new.id
    assert new.snapshot["candidate"]["name"] == "Zażółć Gęślą Jaźń"
    assert old.snapshot["candidate"]["name"] == "Chen Candidate"
    assert new.reissue_reason == "Name misspelt." and new.issued_by_id == world.admin.id


def test_reissue_keeps_the_name_by_default_and_refuses_a_superseded_one(app, session, cli,
                                                                        world, issued):
    first = cli("certificates", "reissue", issued.number, "--reason", "Damaged.", "--as", ADMIN)
    assert first.exit_code == 0, first.output
    _old, new = certificates(session)
    assert new.snapshot["candidate"]["name"] == "Chen Candidate"
    again = cli("certificates", "reissue", issued.number, "--reason", "Again.", "--as", ADMIN)
    assert again.exit_code == 1
    assert again.output.strip() == (f"Error: {issued.number} is superseded; only a valid (or "
                                    "expired) certificate can be reissued.")
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Certificate)) == 2
