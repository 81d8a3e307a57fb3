"""`certify users`, `certify providers` and `certify audit`: the same rules as the pages."""

from __future__ import annotations

import re

from sqlalchemy import func, select, update

from certify.accounts.models import Provider, Role
from certify.accounts.operations import people
from certify.accounts.operations.auth import find_user
from certify.core.models import AuditEntry, OutboxMessage
from tests.accounts.conftest import csrf_token
from tests.accounts.test_people import NEW_PASSWORD, invitation_token, outbox_to, signed_in


def test_users_create_with_a_password_from_stdin(app, session, cli):
    result = cli("users", "create", "Root@Example.org", "--name", "Rita Root", "--platform-admin",
                 "--password-stdin", input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert result.output == "Created platform administrator root@example.org (Rita Root).\n"
    session.expire_all()
    rita = find_user(session, "root@example.org")
    assert rita.is_platform_admin and rita.password_hash
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "user.created"))
    assert entry.actor_id is None
    assert entry.changes == {"email": "root@example.org", "name": "Rita Root",
                             "platform_admin": True, "via": "cli"}
    # The password works on the sign-in page, and the account reaches the providers page.
    assert signed_in(app, rita, NEW_PASSWORD).get("/admin/providers").status_code == 200


def test_users_create_without_a_password_prints_a_one_time_link(app, session, cli):
    result = cli("users", "create", "lin@example.org", "--name", "Lin")
    assert result.exit_code == 0, result.output
    assert "Created user lin@example.org (Lin)." in result.output
    assert "valid for 14 days" in result.output
    token = invitation_token(result.output)
    session.expire_all()
    assert find_user(session, "lin@example.org").password_hash is None
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "invitation.issued"))
    assert entry.changes["via"] == "cli"
    client = app.test_client()
    page = client.get(f"/invitation/{token}")
    assert page.status_code == 200
    response = client.post(f"/invitation/{token}", data={
        "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
        "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302
    assert client.get(f"/invitation/{token}").status_code == 410


def test_users_create_refuses_bad_input_and_changes_nothing(session, cli, admin):
    cases = [
        (("users", "create", "not-an-email", "--name", "X"),
         "Enter an email address like name@example.com."),
        (("users", "create", "admin@north.example", "--name", "X"),
         "An account with the email address admin@north.example already exists."),
        (("users", "create", "y@example.org", "--name", "  "), "Enter the person's name."),
        (("users", "create", "z@example.org", "--name", "Zed", "--password-stdin"),
         "Use at least 12 characters (this has 5)."),
    ]
    before = session.scalar(select(func.count(AuditEntry.id)))
    for args, message in cases:
        result = cli(*args, input="short\n")
        assert result.exit_code == 1, args
        assert message in result.output, (args, result.output)
    session.expire_all()
    assert find_user(session, "z@example.org") is None
    assert session.scalar(select(func.count(AuditEntry.id))) == before
    missing = cli("users", "create", "q@example.org")
    assert missing.exit_code == 2 and "Missing option '--name'" in missing.output


def test_providers_create_with_an_invited_admin(app, session, cli):
    result = cli("providers", "create", "West Institute", "--slug", "west", "--prefix", "west",
                 "--admin-email", "wanda@west.example", "--admin-name", "Wanda West")
    assert result.exit_code == 0, result.output
    assert "Created provider West Institute (west, certificate prefix WEST)." in result.output
    assert "Invited wanda@west.example as provider admin; the invitation was mailed." in \
        result.output
    session.expire_all()
    west = session.scalar(select(Provider).where(Provider.slug == "west"))
    wanda = find_user(session, "wanda@west.example")
    assert people.roles_of(wanda, west) == {Role.PROVIDER_ADMIN}
    [message] = outbox_to(session, "wanda@west.example")
    assert "You have been invited to West Institute on certify, as provider admin." in \
        message.text
    assert app.test_client().get(f"/invitation/{invitation_token(message.text)}") \
        .status_code == 200
    entries = session.scalars(select(AuditEntry).where(AuditEntry.provider_id == west.id)
                              .order_by(AuditEntry.seq)).all()
    assert [e.action for e in entries] == ["provider.created", "role.granted", "person.invited",
                                           "invitation.issued"]
    assert all(e.changes.get("via") == "cli" and e.actor_id is None for e in entries)


def test_providers_create_gives_an_existing_account_the_role(session, cli, admin):
    result = cli("providers", "create", "Second Site", "--slug", "second", "--prefix", "SEC",
                 "--admin-email", "admin@north.example")
    assert result.exit_code == 0, result.output
    assert "admin@north.example is now a provider admin; they were told by mail." in result.output
    [notice] = outbox_to(session, "admin@north.example")
    assert "/invitation/" not in notice.text


def test_providers_create_refuses_with_the_pages_messages(session, cli, provider):
    cases = [
        (["Other", "--slug", "north-college", "--prefix", "OTH"],
         "Another provider already has the short name north-college."),
        (["Other", "--slug", "other", "--prefix", "NCOL"],
         "Another provider already has the certificate prefix NCOL."),
        (["Other", "--slug", "Bad Slug", "--prefix", "OTH"],
         "The short name may use lower-case letters, digits and hyphens"),
        (["Other", "--slug", "other", "--prefix", "O"],
         "The certificate prefix is 2 to 12 capital letters or digits"),
        (["Other", "--slug", "other", "--prefix", "OTH", "--admin-email", "nope"],
         "Enter an email address like name@example.com."),
        (["Other", "--slug", "other", "--prefix", "OTH", "--admin-email", "new@example.org"],
         "Enter the admin's name."),
    ]
    for args, message in cases:
        result = cli("providers", "create", *args)
        assert result.exit_code == 1, args
        assert message in result.output, (args, result.output)
    usage = cli("providers", "create", "Other", "--slug", "other", "--prefix", "OTH",
                "--admin-name", "Nobody")
    assert usage.exit_code == 2 and "--admin-name needs --admin-email." in usage.output
    session.expire_all()
    assert session.scalar(select(func.count(Provider.id))) == 1
    assert session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_providers_list(session, cli, provider, admin, candidate, make_provider):
    assert cli("providers", "list").output.startswith("No providers") is False
    make_provider("Alpha Academy", "alpha", "ALPHA")
    lines = cli("providers", "list").output.splitlines()
    assert [line.split()[0] for line in lines] == ["alpha", "north-college"]
    assert re.search(r"north-college\s+NCOL\s+2 members\s+North College$", lines[1])
    assert re.search(r"alpha\s+ALPHA\s+0 members\s+Alpha Academy$", lines[0])


def test_providers_list_when_there_are_none(cli):
    assert cli("providers", "list").output.startswith("No providers. Create one with:")


def test_audit_verify_intact_and_broken(session, cli, provider, admin):
    count = session.scalar(select(func.count(AuditEntry.id)))
    result = cli("audit", "verify")
    assert result.exit_code == 0
    assert result.output == f"Audit trail intact: {count} entries checked.\n"
    victim = session.scalar(select(AuditEntry).where(AuditEntry.action == "role.granted"))
    session.execute(update(AuditEntry).where(AuditEntry.id == victim.id)
                    .values(changes={"role": "candidate"}))
    session.commit()
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert result.output == (
        f"Audit trail broken at entry {victim.seq}: its contents do not match its hash\n"
    )


def test_audit_verify_names_a_deleted_entry(session, cli, provider, admin):
    from sqlalchemy import delete

    session.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
    session.commit()
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert result.output == "Audit trail broken at entry 2: entry 2 is missing\n"


def test_audit_list(session, cli, provider, admin, make_provider):
    make_provider("East School", "east-school", "EAST")
    everything = cli("audit", "list").output.splitlines()
    assert len(everything) == session.scalar(select(func.count(AuditEntry.id)))
    numbers = [int(line.split()[0]) for line in everything]
    assert numbers == sorted(numbers, reverse=True)
    north = cli("audit", "list", "--provider", "north-college").output.splitlines()
    assert north and all("  north-college  " in line for line in north)
    assert any("role.granted" in line and '{"role": "provider_admin"}' in line for line in north)
    limited = cli("audit", "list", "--limit", "1").output.splitlines()
    assert limited == everything[:1]
    unknown = cli("audit", "list", "--provider", "nowhere")
    assert unknown.exit_code == 1 and "No provider has the short name nowhere." in unknown.output
    assert cli("audit", "list", "--limit", "0").exit_code == 2
