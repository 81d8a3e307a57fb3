"""The candidate's portfolio pages: the overview with coverage, a unit's checklist, evidence
items with their files (plain posts and the script's JSON path), edits and deletions of
drafts, refusals for submitted items, downloads, who may see what, and query counts."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from certify.accounts.operations.enrolments import enrol_candidate, today
from certify.core.models import AuditEntry
from certify.evidence.models import Blob, EvidenceFile, EvidenceItem, EvidenceKind, Mapping
from certify.evidence.operations import items as operations
from certify.units.models import Criterion, Unit
from tests.people import csrf_token
from tests.units.conftest import HKQF, SFIA_CELO_EN, import_bytes, import_seed  # noqa: F401

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120
HOSTILE = '<script>alert("x")</script>'


# --- helpers and fixtures ---------------------------------------------------------------------


def text(response) -> str:
    """The page's text with its whitespace collapsed, entities decoded."""
    markup = re.sub(r"<[^>]+>", "", response.get_data(as_text=True))
    return " ".join(html.unescape(markup).split())


def token_of(client, url: str = "/evidence") -> str:
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return csrf_token(page.get_data(as_text=True))


def switch_to(client, login, user) -> None:
    """Sign out whoever is signed in, then sign ``user`` in."""
    home = client.get("/").get_data(as_text=True)
    if "Sign out" in home:
        client.post("/logout", data={"csrf_token": csrf_token(home)})
    login(user)


def actions(session) -> list[str]:
    return list(session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("evidence.%"))
        .order_by(AuditEntry.seq)
    ))


@pytest.fixture
def units(session, import_seed):  # noqa: F811
    """ITCSCR405A (3 elements, 18 criteria) and CELO-3 (5 level statements)."""
    import_seed(HKQF)
    import_seed(SFIA_CELO_EN)
    hkqf = session.scalars(select(Unit).where(Unit.code == "ITCSCR405A")).one()
    celo = session.scalars(select(Unit).where(Unit.code == "CELO-3")).one()
    return hkqf, celo


@pytest.fixture
def enrolments(session, provider, admin, candidate, units):
    made = [enrol_candidate(session, provider, candidate, unit, starts_on=today(), actor=admin)
            for unit in units]
    session.commit()
    return made


def criteria_of(session, unit: Unit) -> list[Criterion]:
    return list(session.scalars(
        select(Criterion).where(Criterion.unit_id == unit.id).order_by(Criterion.position)
    ))


def make_item(session, candidate, provider, title="Loyalty campaign plan", **fields):
    item = operations.create_item(session, candidate, provider, title=title,
                                  kind=fields.pop("kind", EvidenceKind.DOCUMENT), actor=candidate,
                                  **fields)
    session.commit()
    return item


def add_file(app, session, item, data: bytes = PDF, name: str = "plan.pdf") -> EvidenceFile:
    with app.test_request_context():
        added = operations.add_file(session, item, io.BytesIO(data), name, actor=item.candidate)
    session.commit()
    return added


def map_to(session, item, enrolment, criteria, explanation="It shows this"):
    operations.set_mappings(session, item, [(enrolment, c, explanation) for c in criteria],
                            item.candidate)
    session.commit()


def new_item_post(client, **fields):
    token = token_of(client, "/evidence/items/new")
    data = {"title": "Campaign plan", "kind": "document", "description": "", "url": "",
            "csrf_token": token}
    data.update(fields)
    return client.post("/evidence/items/new", data=data, content_type="multipart/form-data")


# --- the overview -----------------------------------------------------------------------------


def test_portfolio_lists_enrolments_with_coverage_and_items(app, session, client, login,
                                                            candidate, provider, enrolments,
                                                            units):
    hkqf_enrolment, _ = enrolments
    item = make_item(session, candidate, provider, "Retention report")
    add_file(app, session, item)
    map_to(session, item, hkqf_enrolment, criteria_of(session, units[0])[:3])
    make_item(session, candidate, provider, "Empty draft")
    login(candidate)

    page = client.get("/evidence")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "3 of 18 criteria covered" in text(page)
    assert "0 of 5 criteria covered" in text(page)
    assert re.search(r'<progress[^>]*max="18" value="3"', body)
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    retention = next(r for r in rows if "Retention report" in r)
    assert re.findall(r'class="num">(\d+)<', retention) == ["1", "3"]
    assert "Draft" in retention
    assert f'href="/evidence/enrolments/{hkqf_enrolment.id}"' in body


def test_portfolio_empty_states(client, login, candidate):
    login(candidate)
    page = text(client.get("/evidence"))
    assert "No units yet" in page
    assert "No evidence yet" in page


def test_portfolio_is_paginated(app, session, client, login, candidate, provider):
    app.config["PAGE_SIZE"] = 3
    try:
        for n in range(7):
            make_item(session, candidate, provider, f"Item number {n}")
        login(candidate)
        first = text(client.get("/evidence"))
        assert "Showing 1–3 of 7 items" in first and "Page 1 of 3" in first
        assert "Item number 6" in first and "Item number 0" not in first
        last = text(client.get("/evidence?page=3"))
        assert "Item number 0" in last
    finally:
        app.config["PAGE_SIZE"] = 25


def test_portfolio_needs_a_candidate_role(client, login, admin, candidate):
    assert client.get("/evidence").status_code == 302
    login(admin)
    assert client.get("/evidence").status_code == 403


# --- the unit checklist -----------------------------------------------------------------------


def test_unit_page_shows_every_criterion_with_its_coverage(app, session, client, login,
                                                           candidate, provider, enrolments,
                                                           units):
    hkqf_enrolment, _ = enrolments
    criteria = criteria_of(session, units[0])
    item = make_item(session, candidate, provider, "Loyalty plan")
    map_to(session, item, hkqf_enrolment, [criteria[0], criteria[-1]], "Section 2 sets it out")
    login(candidate)

    page = client.get(f"/evidence/enrolments/{hkqf_enrolment.id}")
    body, words = page.get_data(as_text=True), text(page)
    assert page.status_code == 200
    assert "2 of 18 criteria covered" in words
    assert words.count("No evidence yet") == 16
    assert body.count("checklist__item--covered") == 2
    # Catalogue order: elements 6.1, 6.2, 6.3, then the assessment criteria.
    refs = re.findall(r'<span class="ref">([^<]+)</span>', body)
    assert refs[:4] == ["6.1", "6.1.1", "6.1.2", "6.1.3"]
    assert refs[-3:] == ["i", "ii", "iii"]
    assert f'href="/evidence/items/{item.id}"' in body
    assert "Section 2 sets it out" in words
    # Linked when the submissions pages exist.
    assert ("Submit this unit for assessment" in words) == ("evidence.submit" in
                                                            app.view_functions)


def test_unit_page_for_staff_is_read_only(session, client, login, make_user, provider,
                                          enrolments):
    assessor = make_user(roles=["assessor"], provider=provider)
    login(assessor)
    page = client.get(f"/evidence/enrolments/{enrolments[0].id}")
    assert page.status_code == 200
    assert "read only" in text(page)
    assert "Add evidence" not in text(page)
    assert "Submit this unit" not in text(page)


def test_unit_page_refuses_others(client, login, make_user, make_provider, provider,
                                  enrolments):
    url = f"/evidence/enrolments/{enrolments[0].id}"
    assert client.get(url).status_code == 302
    assert "/login" in client.get(url).headers["Location"]
    other = make_user(roles=["candidate"], provider=provider)
    switch_to(client, login, other)
    assert client.get(url).status_code == 404
    elsewhere = make_provider()
    outsider = make_user(roles=["provider_admin"], provider=elsewhere)
    switch_to(client, login, outsider)
    assert client.get(url).status_code == 404
    assert client.get("/evidence/enrolments/999999").status_code == 404


def test_unit_page_queries_stay_flat(session, client, login, admin, candidate, provider,
                                     enrolments, units, count_queries):
    """As items and mappings grow on one unit, and as criteria grow from unit to unit."""
    hkqf_enrolment, celo3_enrolment = enrolments
    celo5 = session.scalars(select(Unit).where(Unit.code == "CELO-5")).one()
    celo5_enrolment = enrol_candidate(session, provider, candidate, celo5, starts_on=today(),
                                      actor=admin)
    session.commit()
    login(candidate)
    client.get("/evidence")  # warm up the session

    def count(enrolment) -> int:
        with count_queries() as counter:
            assert client.get(f"/evidence/enrolments/{enrolment.id}").status_code == 200
        return counter.count

    first = make_item(session, candidate, provider, "One")
    map_to(session, first, hkqf_enrolment, criteria_of(session, units[0])[:1])
    few_items = count(hkqf_enrolment)
    for n in range(6):
        item = make_item(session, candidate, provider, f"Many {n}")
        map_to(session, item, hkqf_enrolment, criteria_of(session, units[0])[n:n + 8])
    assert count(hkqf_enrolment) == few_items

    map_to(session, first, celo3_enrolment, criteria_of(session, units[1])[:2])
    second = make_item(session, candidate, provider, "Two")
    map_to(session, second, celo5_enrolment, criteria_of(session, celo5))
    assert count(celo3_enrolment) == count(celo5_enrolment)


def test_portfolio_queries_stay_flat(app, session, client, login, candidate, provider,
                                     enrolments, units, count_queries):
    make_item(session, candidate, provider, "The first")
    login(candidate)
    client.get("/evidence")
    with count_queries() as few:
        client.get("/evidence")
    for n in range(8):
        item = make_item(session, candidate, provider, f"Item {n}")
        add_file(app, session, item, PDF + str(n).encode() * 0, f"file{n}.pdf")
        map_to(session, item, enrolments[n % 2],
               criteria_of(session, units[n % 2])[:3])
    with count_queries() as many:
        assert client.get("/evidence").status_code == 200
    assert few.count == many.count, (few.statements, many.statements)


# --- items: creating, with files ---------------------------------------------------------------


def test_create_item_with_files_in_a_plain_post(app, session, client, login, candidate):
    login(candidate)
    response = new_item_post(
        client, title="Loyalty plan", kind="document", description="What I planned",
        files=[(io.BytesIO(PDF), "plan.pdf"), (io.BytesIO(b"notes from the meeting\n"),
                                                 "notes.txt")],
    )
    assert response.status_code == 302, text(response)
    session.expire_all()
    item = session.scalars(select(EvidenceItem)).one()
    assert (item.title, item.kind, item.description) == ("Loyalty plan", EvidenceKind.DOCUMENT,
                                                         "What I planned")
    assert [f.display_name for f in item.files] == ["plan.pdf", "notes.txt"]
    assert [f.blob.media_type for f in item.files] == ["application/pdf", "text/plain"]
    assert actions(session) == ["evidence.item_created", "evidence.file_added",
                                "evidence.file_added"]
    page = client.get(response.headers["Location"])
    words = text(page)
    assert "plan.pdf" in words and "notes.txt" in words
    assert item.files[0].blob.sha256[:12] in words
    assert f"/evidence/files/{item.files[0].id}/preview" in page.get_data(as_text=True)
    assert f"/evidence/files/{item.files[1].id}/preview" not in page.get_data(as_text=True)


def test_create_item_without_files_and_a_link(session, client, login, candidate):
    login(candidate)
    response = new_item_post(client, title="Portfolio site", kind="link",
                             url="https://example.org/work")
    assert response.status_code == 302
    session.expire_all()
    item = session.scalars(select(EvidenceItem)).one()
    assert (item.kind, item.url) == (EvidenceKind.LINK, "https://example.org/work")


@pytest.mark.parametrize(("fields", "message"), [
    ({"title": ""}, "Enter a title."),
    ({"title": "x" * 201}, "Use at most 200 characters."),
    ({"kind": "spaceship"}, "Not a valid choice"),
    ({"kind": "link", "url": ""}, "Enter the address the link points to."),
    ({"kind": "link", "url": "javascript:alert(1)"}, "starting with https://"),
    ({"kind": "link", "url": "https://exa mple.org"}, "spaces"),
])
def test_create_item_validation(session, client, login, candidate, fields, message):
    login(candidate)
    response = new_item_post(client, **fields)
    assert response.status_code == 422
    assert message in text(response)
    session.expire_all()
    assert session.scalar(select(func.count(EvidenceItem.id))) == 0


def test_a_refused_file_keeps_nothing(session, client, login, candidate):
    login(candidate)
    response = new_item_post(client, title="Mixed",
                             files=[(io.BytesIO(PDF), "good.pdf"), (io.BytesIO(EXE), "cv.pdf")])
    assert response.status_code == 422
    assert "cv.pdf" in text(response)
    session.expire_all()
    assert session.scalar(select(func.count(EvidenceItem.id))) == 0
    assert session.scalar(select(func.count(EvidenceFile.id))) == 0
    assert session.scalar(select(func.count(Blob.id))) == 0
    assert actions(session) == []


def test_an_oversized_file_answers_413(app, session, client, login, candidate):
    app.config["MAX_UPLOAD_MB"] = 1
    try:
        login(candidate)
        big = b"a" * (1024 * 1024 + 10)
        response = new_item_post(client, title="Huge", files=[(io.BytesIO(big), "huge.txt")])
        response.request.environ["wsgi.input"].close()
        assert response.status_code == 413, text(response)
        assert "huge.txt" in text(response)
        session.expire_all()
        assert session.scalar(select(func.count(EvidenceItem.id))) == 0
    finally:
        app.config.pop("MAX_UPLOAD_MB")


def test_new_item_json_path(session, client, login, candidate):
    """The script creates the item first, then sends each file on its own request."""
    login(candidate)
    token = token_of(client, "/evidence/items/new")
    created = client.post("/evidence/items/new", headers={"Accept": "application/json"},
                          data={"title": "Video", "kind": "photo_or_video", "csrf_token": token})
    assert created.status_code == 201
    answer = created.get_json()
    assert answer["ok"] is True
    item_id = answer["item"]["id"]
    assert answer["item"]["files_url"] == f"/evidence/items/{item_id}/files"

    refused = client.post("/evidence/items/new", headers={"Accept": "application/json"},
                          data={"title": "", "kind": "document", "csrf_token": token})
    assert refused.status_code == 422
    assert refused.get_json() == {"ok": False, "error": "Enter a title.",
                                  "errors": {"title": ["Enter a title."]}}


def test_add_files_json_path(session, client, login, candidate, provider):
    item = make_item(session, candidate, provider)
    login(candidate)
    token = token_of(client, f"/evidence/items/{item.id}")
    url = f"/evidence/items/{item.id}/files"
    json = {"Accept": "application/json", "X-CSRFToken": token}

    stored = client.post(url, headers=json, content_type="multipart/form-data",
                         data={"files": (io.BytesIO(PNG), "photo.png")})
    assert stored.status_code == 201
    answer = stored.get_json()
    assert answer["ok"] is True
    assert answer["file"]["name"] == "photo.png"
    assert answer["file"]["media_type"] == "image/png"
    assert answer["file"]["size"] == len(PNG)
    assert answer["file"]["preview_url"].endswith("/preview")

    refused = client.post(url, headers=json, content_type="multipart/form-data",
                          data={"files": (io.BytesIO(EXE), "holiday.jpg")})
    assert refused.status_code == 422
    assert refused.get_json()["ok"] is False
    assert "holiday.jpg" in refused.get_json()["error"]

    nothing = client.post(url, headers=json, data={})
    assert nothing.status_code == 422
    assert nothing.get_json() == {"ok": False, "error": "Choose at least one file."}

    no_token = client.post(url, headers={"Accept": "application/json"},
                           content_type="multipart/form-data",
                           data={"files": (io.BytesIO(PDF), "a.pdf")})
    assert no_token.status_code == 400
    session.expire_all()
    assert [f.display_name for f in session.get(EvidenceItem, item.id).files] == ["photo.png"]


def test_add_files_plain_post(session, client, login, candidate, provider):
    item = make_item(session, candidate, provider)
    login(candidate)
    token = token_of(client, f"/evidence/items/{item.id}")
    response = client.post(f"/evidence/items/{item.id}/files", content_type="multipart/form-data",
                           data={"csrf_token": token, "files": [(io.BytesIO(PDF), "a.pdf"),
                                                                (io.BytesIO(PNG), "b.png")]})
    assert response.status_code == 302
    refused = client.post(f"/evidence/items/{item.id}/files", content_type="multipart/form-data",
                          data={"csrf_token": token, "files": [(io.BytesIO(b""), "empty.txt")]})
    assert refused.status_code == 422
    assert "empty.txt is empty" in text(refused)
    session.expire_all()
    assert [f.display_name for f in session.get(EvidenceItem, item.id).files] == ["a.pdf",
                                                                                    "b.png"]


# --- items: editing and deleting drafts, refusing submitted ones -------------------------------


def test_edit_a_draft(session, client, login, candidate, provider):
    item = make_item(session, candidate, provider, "Old title")
    login(candidate)
    url = f"/evidence/items/{item.id}/edit"
    page = client.get(url)
    assert 'value="Old title"' in page.get_data(as_text=True)
    response = client.post(url, data={"title": "New title", "kind": "reflective_account",
                                      "description": "Looking back",
                                      "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302
    session.expire_all()
    item = session.get(EvidenceItem, item.id)
    assert (item.title, item.kind) == ("New title", EvidenceKind.REFLECTIVE_ACCOUNT)
    entry = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "evidence.item_updated")).one()
    assert entry.changes["title"] == ["Old title", "New title"]


def test_delete_a_draft_after_confirming(app, session, client, login, candidate, provider,
                                         enrolments, units):
    item = make_item(session, candidate, provider, "To go")
    added = add_file(app, session, item)
    map_to(session, item, enrolments[0], criteria_of(session, units[0])[:2])
    blob_id, item_id = added.blob_id, item.id
    login(candidate)
    url = f"/evidence/items/{item.id}/delete"
    page = client.get(url)
    assert "Delete “To go”?" in text(page)
    assert "1 file" in text(page) and "2 mappings" in text(page)
    response = client.post(url, data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302 and response.headers["Location"] == "/evidence"
    session.expire_all()
    assert session.get(EvidenceItem, item_id) is None
    assert session.scalar(select(func.count(Mapping.id))) == 0
    # The blob stays: retention decides about unreferenced bytes later.
    assert session.get(Blob, blob_id) is not None
    assert "evidence.item_deleted" in actions(session)


def test_remove_a_file_after_confirming(app, session, client, login, candidate, provider):
    item = make_item(session, candidate, provider)
    first = add_file(app, session, item, PDF, "one.pdf")
    add_file(app, session, item, PNG, "two.png")
    item_id, first_id = item.id, first.id
    login(candidate)
    url = f"/evidence/items/{item_id}/files/{first_id}/delete"
    page = client.get(url)
    assert "Remove “one.pdf”?" in text(page)
    response = client.post(url, data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302
    session.expire_all()
    assert [f.display_name for f in session.get(EvidenceItem, item_id).files] == ["two.png"]
    assert client.post(url,
                       data={"csrf_token": csrf_token(page.get_data(as_text=True))}
                       ).status_code == 404


def test_submitted_items_refuse_changes(app, session, client, login, candidate, provider):
    item = make_item(session, candidate, provider, "Submitted plan")
    added = add_file(app, session, item)
    item.locked_at = datetime.now(UTC)
    session.commit()
    login(candidate)
    token = token_of(client, f"/evidence/items/{item.id}")
    page = client.get(f"/evidence/items/{item.id}")
    assert "Submitted" in text(page)
    assert f"/evidence/items/{item.id}/edit" not in page.get_data(as_text=True)
    assert f"/evidence/items/{item.id}/mappings" in page.get_data(as_text=True)

    for method, url, data in [
        ("get", f"/evidence/items/{item.id}/edit", None),
        ("post", f"/evidence/items/{item.id}/edit", {"title": "Changed", "kind": "document"}),
        ("get", f"/evidence/items/{item.id}/delete", None),
        ("post", f"/evidence/items/{item.id}/delete", {}),
        ("post", f"/evidence/items/{item.id}/files/{added.id}/delete", {}),
        ("post", f"/evidence/items/{item.id}/files", {"files": (io.BytesIO(PDF), "x.pdf")}),
    ]:
        kwargs = {} if data is None else {"data": {**data, "csrf_token": token}}
        response = getattr(client, method)(url, **kwargs)
        assert response.status_code == 409, (method, url)
        assert "can no longer be changed or deleted" in text(response)
    json = client.post(f"/evidence/items/{item.id}/files",
                       headers={"Accept": "application/json", "X-CSRFToken": token},
                       data={"files": (io.BytesIO(PDF), "x.pdf")})
    assert json.status_code == 409 and json.get_json()["ok"] is False

    session.expire_all()
    item = session.get(EvidenceItem, item.id)
    assert item.title == "Submitted plan" and len(item.files) == 1
    with pytest.raises(operations.ItemLocked):
        operations.delete_item(session, item, actor=candidate)
    with pytest.raises(operations.ItemLocked):
        operations.remove_file(session, item.files[0], actor=candidate)
    with pytest.raises(operations.ItemLocked):
        operations.update_item(session, item, title="x", kind="document", actor=candidate)


# --- who may see an item and its files ----------------------------------------------------------


def test_item_permissions(app, session, client, login, make_user, make_provider, candidate,
                          provider):
    item = make_item(session, candidate, provider)
    added = add_file(app, session, item)
    pages = [f"/evidence/items/{item.id}", f"/evidence/files/{added.id}/download",
             f"/evidence/files/{added.id}/preview"]
    changes = [f"/evidence/items/{item.id}/edit", f"/evidence/items/{item.id}/delete",
               f"/evidence/items/{item.id}/mappings"]

    for url in pages + changes:
        assert client.get(url).status_code == 302, url

    neighbour = make_user(roles=["candidate"], provider=provider)
    switch_to(client, login, neighbour)
    for url in pages + changes:
        assert client.get(url).status_code == 404, url

    outsider = make_user(roles=["provider_admin"], provider=make_provider())
    switch_to(client, login, outsider)
    for url in pages + changes:
        assert client.get(url).status_code == 404, url

    assessor = make_user(roles=["assessor"], provider=provider)
    switch_to(client, login, assessor)
    for url in pages:
        response = client.get(url)
        response.close()
        assert response.status_code == 200, url
    page = text(client.get(pages[0]))
    assert "Edit" not in page and "Upload" not in page and "Map to criteria" not in page
    for url in changes:
        assert client.get(url).status_code == 403, url


def test_downloads_are_attachments_with_nosniff(app, session, client, login, candidate,
                                                provider):
    item = make_item(session, candidate, provider)
    pdf = add_file(app, session, item, PDF, "Mój plan.pdf")
    text_file = add_file(app, session, item, b"plain words\n", "notes.txt")
    login(candidate)
    response = client.get(f"/evidence/files/{pdf.id}/download")
    assert response.status_code == 200
    assert response.data == PDF
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''M%C3%B3j%20plan.pdf" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()
    preview = client.get(f"/evidence/files/{pdf.id}/preview")
    preview.close()
    assert preview.status_code == 200
    assert preview.headers["Content-Disposition"].startswith("inline")
    # Text is never previewed: it is only ever downloaded.
    assert client.get(f"/evidence/files/{text_file.id}/preview").status_code == 404


# --- hostile text --------------------------------------------------------------------------------


def test_hostile_titles_and_names_are_escaped(app, session, client, login, candidate, provider,
                                              enrolments, units):
    item = make_item(session, candidate, provider, HOSTILE, description=HOSTILE)
    add_file(app, session, item, PDF, f"{HOSTILE}.pdf")
    map_to(session, item, enrolments[0], criteria_of(session, units[0])[:1], HOSTILE)
    login(candidate)
    for url in ["/evidence", f"/evidence/items/{item.id}", f"/evidence/enrolments/"
                f"{enrolments[0].id}", f"/evidence/items/{item.id}/mappings",
                f"/evidence/items/{item.id}/delete", f"/evidence/items/{item.id}/edit"]:
        body = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in body, url
        assert "&lt;script&gt;" in body, url
