"""Importing standards through the browser: upload, check what would change, confirm."""

from __future__ import annotations

import io
import re
from pathlib import Path

from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder

from certify.core.models import AuditEntry
from certify.units.models import Unit
from tests.people import csrf_token
from tests.units.conftest import HKQF, SFIA_CELO_EN, SFIA_CELO_PL
from tests.units.test_malformed import snapshot


def upload(client, files):
    page = client.get("/units/import")
    assert page.status_code == 200
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)),
            "documents": [(io.BytesIO(content), name) for name, content in files]}
    return client.post("/units/import", data=data, content_type="multipart/form-data")


def confirm(client, check_page: str):
    batch = re.search(r'name="batch" type="hidden" value="([0-9a-f]+)"', check_page) or \
        re.search(r'name="batch" value="([0-9a-f]+)"', check_page) or \
        re.search(r'id="batch" name="batch" type="hidden" value="([0-9a-f]+)"', check_page)
    assert batch, check_page
    return client.post("/units/import/confirm",
                       data={"csrf_token": csrf_token(check_page), "batch": batch.group(1)})


def test_check_then_confirm(client, session, seeds, admin, login):
    login(admin)
    before = snapshot(session)
    check = upload(client, [(HKQF, (seeds / HKQF).read_bytes()),
                            (SFIA_CELO_EN, (seeds / SFIA_CELO_EN).read_bytes())])
    page = check.get_data(as_text=True)
    assert check.status_code == 200
    assert "ITCSCR405A version 1: created" in page
    assert "CELO-6 version 1: created" in page
    # Checking changes nothing.
    assert snapshot(session) == before
    done = confirm(client, page)
    assert done.status_code == 200
    assert "ITCSCR405A</a>\n      version 1: created" in done.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(func.count(Unit.id))) == 5
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "units.imported")).all()
    assert {e.changes["source"] for e in entries} == {HKQF, SFIA_CELO_EN}
    assert all(e.actor_id == admin.id and e.changes["via"] == "web" for e in entries)
    # The same check cannot be confirmed twice.
    again = confirm(client, page)
    assert again.status_code == 302


def test_a_translation_and_a_broken_file_together(client, session, seeds, admin, login,
                                                  import_seed):
    import_seed(SFIA_CELO_EN)
    login(admin)
    broken = (seeds / HKQF).read_text().replace("4. Level\t4", "4. Level\tfour").encode()
    check = upload(client, [(SFIA_CELO_PL, (seeds / SFIA_CELO_PL).read_bytes()),
                            ("broken.txt", broken),
                            ("picture.png", b"\x89PNG\r\n\x1a\n\x00\x00")])
    page = check.get_data(as_text=True)
    assert "CELO-4 version 1: translation added" in page
    assert "Not importable: broken.txt, line 8, field &#39;Level&#39;: expected a QF level" in page
    assert "Not importable: picture.png: this is a binary file" in page
    assert "Import 1 document</button>" in page
    confirm(client, page)
    session.expire_all()
    assert session.scalar(select(func.count(Unit.id))) == 4


def test_hostile_file_names_are_only_shown(client, session, seeds, admin, login, app):
    login(admin)
    name = "..\\../<img src=x onerror=alert(1)>.txt"
    page = upload(client, [(name, (seeds / HKQF).read_bytes())]).get_data(as_text=True)
    assert "<img src=x" not in page
    assert "<h3>&lt;img src=x onerror=alert(1)&gt;.txt</h3>" in page
    staged = list((Path(app.instance_path) / "import-staging").iterdir())
    assert staged
    assert all(re.fullmatch(r"[0-9a-f]{32}\.(bin|json)", p.name) for p in staged)


def test_an_oversized_file_is_refused_and_not_kept(client, session, admin, login, app):
    login(admin)
    limit = app.config["MAX_IMPORT_MB"] * 1024 * 1024
    form = client.get("/units/import").get_data(as_text=True)
    # Built by hand so that the test closes the large spooled request body itself.
    builder = EnvironBuilder(
        path="/units/import", method="POST", base_url="http://certify.test",
        data={"csrf_token": csrf_token(form),
              "documents": (io.BytesIO(b"x" * (limit + 1)), "big.txt")},
    )
    environ = builder.get_environ()
    try:
        page = client.open(environ).get_data(as_text=True)
    finally:
        environ["wsgi.input"].close()
        builder.close()
    assert f"big.txt: the file is larger than {limit:,} bytes" in page
    assert "None of these files can be imported" in page


def test_only_admins_may_import(client, session, candidate, login):
    assert client.get("/units/import").status_code == 302  # to the sign-in page
    login(candidate)
    assert client.get("/units/import").status_code == 404
    assert client.post("/units/import/confirm", data={}).status_code in (400, 404)
