"""Submitting a unit for assessment: frozen attempts, resubmission, who may read them, the
staff list, refusals and a lost race."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from itertools import count

import pytest
from sqlalchemy import func, select

from certify.accounts.models import Enrolment, EnrolmentStatus
from certify.accounts.operations.enrolments import enrol_candidate, today
from certify.core.models import AuditEntry
from certify.evidence.models import (
    Blob,
    EvidenceFile,
    EvidenceItem,
    EvidenceKind,
    Mapping,
    Submission,
    SubmissionEntry,
    SubmissionFile,
    SubmissionStatus,
)
from certify.evidence.operations import submissions as operations
from certify.units.models import Criterion, Unit
from tests.people import csrf_token
from tests.units.conftest import HKQF, import_bytes, import_seed  # noqa: F401

_blobs = count(1)


# --- building blocks ---------------------------------------------------------------------------


def text(response) -> str:
    """The page's text with its whitespace collapsed, entities decoded."""
    markup = re.sub(r"<[^>]+>", "", response.get_data(as_text=True))
    return " ".join(html.unescape(markup).split())


def make_blob(session, data: bytes | None = None, media_type: str = "application/pdf") -> Blob:
    """A blob row with a made-up storage key (no bytes are stored)."""
    data = data if data is not None else f"evidence {next(_blobs)}".encode()
    digest = hashlib.sha256(data).hexdigest()
    blob = Blob(sha256=digest, size=len(data), media_type=media_type,
                storage_key=f"test/{digest}")
    session.add(blob)
    session.flush()
    return blob


def make_item(session, enrolment: Enrolment, title: str = "Loyalty campaign plan", *,
              files: int = 1, kind: EvidenceKind = EvidenceKind.DOCUMENT,
              description: str = "The plan I wrote", url: str | None = None) -> EvidenceItem:
    item = EvidenceItem(provider_id=enrolment.provider_id, candidate_id=enrolment.candidate_id,
                        title=title, kind=kind, description=description, url=url)
    session.add(item)
    session.flush()
    for position in range(files):
        blob = make_blob(session)
        session.add(EvidenceFile(item=item, blob=blob, display_name=f"{title} {position}.pdf",
                                 position=position))
    session.flush()
    return item


def map_item(session, item: EvidenceItem, enrolment: Enrolment, criterion: Criterion,
             explanation: str = "It shows this") -> Mapping:
    mapping = Mapping(item=item, criterion=criterion, enrolment_id=enrolment.id,
                      explanation=explanation)
    session.add(mapping)
    session.flush()
    return mapping


def criteria_of(session, unit: Unit) -> list[Criterion]:
    return operations.unit_criteria(session, unit.id)


@dataclass
class World:
    unit: Unit
    enrolment: Enrolment
    criteria: list[Criterion]


@pytest.fixture
def unit(session, import_seed):  # noqa: F811
    report = import_seed(HKQF)
    return session.get(Unit, report.outcomes[0].unit_id)


@pytest.fixture
def world(session, provider, admin, candidate, unit) -> World:
    enrolment = enrol_candidate(session, provider, candidate, unit, starts_on=today(),
                                actor=admin)
    session.commit()
    return World(unit=unit, enrolment=enrolment, criteria=criteria_of(session, unit))


@pytest.fixture
def mapped(session, world) -> World:
    """Two items, three mappings (item one serves two criteria), three files."""
    first = make_item(session, world.enrolment, "Loyalty campaign plan", files=2)
    second = make_item(session, world.enrolment, "Witness statement from my manager", files=1,
                       kind=EvidenceKind.WITNESS_TESTIMONY, description="Signed by R. Lee")
    map_item(session, first, world.enrolment, world.criteria[0], "Section 2 sets the goals")
    map_item(session, first, world.enrolment, world.criteria[1], "Section 3 is the budget")
    map_item(session, second, world.enrolment, world.criteria[1], "She saw me run it")
    session.commit()
    return world


def submit_page(client, enrolment_id: int, **data):
    url = f"/evidence/enrolments/{enrolment_id}/submit"
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return client.post(url, data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                  **data})


def actions(session, prefix: str) -> list[AuditEntry]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action.startswith(prefix))
                                .order_by(AuditEntry.seq)))


def submit_directly(session, enrolment, candidate) -> Submission:
    submission = operations.submit_attempt(session, enrolment, declaration_text="Mine.",
                                           actor=candidate)
    session.commit()
    return submission


# --- submitting -------------------------------------------------------------------------------


def test_submit_page_summarises_and_submission_freezes_everything(session, client, login,
                                                                  candidate, mapped):
    login(candidate)
    url = f"/evidence/enrolments/{mapped.enrolment.id}/submit"
    page = client.get(url)
    assert page.status_code == 200
    body = text(page)
    assert f"2 of {len(mapped.criteria)} criteria have evidence mapped" in body
    blobs = session.scalars(select(Blob).order_by(Blob.id)).all()
    for blob in blobs:
        assert blob.sha256[:12] in body
    assert "This evidence is my own work" in body

    response = submit_page(client, mapped.enrolment.id, declaration="y")
    assert response.status_code == 302
    session.expire_all()
    submission = session.scalars(select(Submission)).one()
    assert response.headers["Location"].endswith(f"/evidence/submissions/{submission.id}")
    assert submission.attempt == 1
    assert submission.status == SubmissionStatus.SUBMITTED
    assert submission.declaration == operations.DECLARATION
    assert [(e.item_title, e.criterion_id, e.explanation) for e in submission.entries] == [
        ("Loyalty campaign plan", mapped.criteria[0].id, "Section 2 sets the goals"),
        ("Loyalty campaign plan", mapped.criteria[1].id, "Section 3 is the budget"),
        ("Witness statement from my manager", mapped.criteria[1].id, "She saw me run it"),
    ]
    assert submission.entries[2].item_kind == EvidenceKind.WITNESS_TESTIMONY
    assert submission.entries[2].item_description == "Signed by R. Lee"
    # One frozen file per file of each item, even when the item serves two criteria.
    assert sorted(f.sha256 for f in submission.files) == sorted(b.sha256 for b in blobs)
    assert all(f.sha256 == f.blob.sha256 for f in submission.files)
    assert all(item.locked_at is not None for item in session.scalars(select(EvidenceItem)))

    [entry] = actions(session, "submission.")
    assert entry.action == "submission.created"
    assert entry.actor_id == candidate.id
    assert entry.changes["attempt"] == 1
    assert entry.changes["entries"] == 3
    assert entry.changes["items"] == 2
    assert entry.changes["files"] == 3
    assert entry.changes["criteria_covered"] == 2
    assert entry.changes["sha256"] == sorted(b.sha256 for b in blobs)

    detail = client.get(response.headers["Location"])
    assert detail.status_code == 200
    body = text(detail)
    assert "Attempt 1 at ITCSCR405A" in body
    for blob in blobs:
        assert blob.sha256 in body
    assert "Section 3 is the budget" in body
    assert "No evidence was submitted for this criterion." in body


def test_later_edits_do_not_change_the_frozen_attempt(session, client, login, candidate,
                                                      mapped):
    submission = submit_directly(session, mapped.enrolment, candidate)
    item = session.scalars(select(EvidenceItem).order_by(EvidenceItem.id)).first()
    # What the candidate may still do (remap, reword), and more than they may (retitle a
    # locked item, add a file): none of it reaches the frozen attempt.
    item.title = "Renamed later"
    item.description = "Changed later"
    for mapping in session.scalars(select(Mapping)):
        mapping.explanation = "Rewritten later"
    session.delete(session.scalars(select(Mapping).order_by(Mapping.id)).first())
    session.add(EvidenceFile(item=item, blob=make_blob(session, b"added later"),
                             display_name="later.pdf"))
    session.commit()

    session.expire_all()
    frozen = session.get(Submission, submission.id)
    assert [e.item_title for e in frozen.entries] == [
        "Loyalty campaign plan", "Loyalty campaign plan", "Witness statement from my manager"]
    assert {e.explanation for e in frozen.entries} == {
        "Section 2 sets the goals", "Section 3 is the budget", "She saw me run it"}
    assert len(frozen.files) == 3
    login(candidate)
    body = text(client.get(f"/evidence/submissions/{submission.id}"))
    assert "Section 2 sets the goals" in body
    assert "Renamed later" not in body
    assert "Rewritten later" not in body
    assert "later.pdf" not in body


def test_returned_attempt_is_resubmitted_as_the_next_and_earlier_stay_readable(
        session, client, login, candidate, admin, mapped):
    first = submit_directly(session, mapped.enrolment, candidate)
    first_entries = [(e.item_title, e.explanation) for e in first.entries]
    first_hashes = sorted(f.sha256 for f in first.files)

    operations.return_for_resubmission(session, first, actor=admin, reason="Add a witness")
    session.commit()
    [returned] = actions(session, "submission.returned")
    assert returned.changes["reason"] == "Add a witness"
    assert returned.changes["status"] == ["submitted", "returned"]
    assert returned.actor_id == admin.id

    extra = make_item(session, mapped.enrolment, "Reflective account", files=1,
                      kind=EvidenceKind.REFLECTIVE_ACCOUNT)
    map_item(session, extra, mapped.enrolment, mapped.criteria[2], "What I learned")
    session.commit()

    login(candidate)
    response = submit_page(client, mapped.enrolment.id, declaration="y")
    assert response.status_code == 302
    session.expire_all()
    attempts = session.scalars(select(Submission).order_by(Submission.attempt)).all()
    assert [(s.attempt, s.status) for s in attempts] == [
        (1, SubmissionStatus.RETURNED), (2, SubmissionStatus.SUBMITTED)]
    assert [(e.item_title, e.explanation) for e in attempts[0].entries] == first_entries
    assert sorted(f.sha256 for f in attempts[0].files) == first_hashes
    assert len(attempts[1].entries) == 4
    assert len(attempts[1].files) == 4

    listing = client.get(f"/evidence/enrolments/{mapped.enrolment.id}/attempts")
    assert listing.status_code == 200
    body = text(listing)
    assert "Returned for resubmission" in body
    assert "Waiting for assessment" in body
    old = text(client.get(f"/evidence/submissions/{attempts[0].id}"))
    assert "Attempt 1" in old
    assert "What I learned" not in old


def test_return_only_a_waiting_attempt(session, candidate, admin, mapped):
    submission = submit_directly(session, mapped.enrolment, candidate)
    operations.return_for_resubmission(session, submission, actor=admin, reason="")
    with pytest.raises(operations.SubmissionError, match="only an attempt waiting"):
        operations.return_for_resubmission(session, submission, actor=admin, reason="")


# --- refusals ---------------------------------------------------------------------------------


def _nothing_submitted(session) -> None:
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Submission)) == 0
    assert session.scalar(select(func.count()).select_from(SubmissionEntry)) == 0
    assert session.scalar(select(func.count()).select_from(SubmissionFile)) == 0
    assert session.scalar(select(func.count()).select_from(EvidenceItem)
                          .where(EvidenceItem.locked_at.is_not(None))) == 0
    assert actions(session, "submission.") == []


def test_nothing_mapped_is_refused(session, client, login, candidate, world):
    make_item(session, world.enrolment)  # an item, but mapped to nothing
    session.commit()
    login(candidate)
    page = client.get(f"/evidence/enrolments/{world.enrolment.id}/submit")
    assert page.status_code == 200
    assert "Nothing is mapped to the criteria of this unit yet" in text(page)
    assert "Submit for assessment" not in text(page)
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post(f"/evidence/enrolments/{world.enrolment.id}/submit",
                           data={"csrf_token": token, "declaration": "y"})
    assert response.status_code == 409
    assert "Nothing is mapped" in text(response)
    with pytest.raises(operations.SubmissionError, match="Nothing is mapped"):
        operations.submit_attempt(session, world.enrolment, declaration_text="x",
                                  actor=candidate)
    session.rollback()
    _nothing_submitted(session)


def test_items_of_someone_else_do_not_count(session, candidate, make_user, provider, world):
    """A mapping row naming this enrolment but another person's item is not this candidate's
    evidence."""
    other = make_user(roles=["candidate"], provider=provider)
    item = EvidenceItem(provider_id=provider.id, candidate_id=other.id, title="Not mine",
                        kind=EvidenceKind.DOCUMENT)
    session.add(item)
    session.flush()
    map_item(session, item, world.enrolment, world.criteria[0])
    session.commit()
    with pytest.raises(operations.SubmissionError, match="Nothing is mapped"):
        operations.submit_attempt(session, world.enrolment, declaration_text="x",
                                  actor=candidate)


def test_a_waiting_attempt_blocks_another(session, client, login, candidate, mapped):
    submit_directly(session, mapped.enrolment, candidate)
    login(candidate)
    page = client.get(f"/evidence/enrolments/{mapped.enrolment.id}/submit")
    assert "Attempt 1 was already submitted" in text(page)
    assert "waiting for assessment" in text(page)
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post(f"/evidence/enrolments/{mapped.enrolment.id}/submit",
                           data={"csrf_token": token, "declaration": "y"})
    assert response.status_code == 409
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Submission)) == 1


def test_withdrawn_enrolment_is_refused(session, client, login, candidate, mapped):
    mapped.enrolment.status = EnrolmentStatus.WITHDRAWN
    session.commit()
    login(candidate)
    page = client.get(f"/evidence/enrolments/{mapped.enrolment.id}/submit")
    assert "This enrolment is withdrawn" in text(page)
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post(f"/evidence/enrolments/{mapped.enrolment.id}/submit",
                           data={"csrf_token": token, "declaration": "y"})
    assert response.status_code == 409
    _nothing_submitted(session)


def test_missing_declaration_is_a_form_error(session, client, login, candidate, mapped):
    login(candidate)
    response = submit_page(client, mapped.enrolment.id)
    assert response.status_code == 422
    assert "Tick the box to declare that this evidence is your own work." in text(response)
    _nothing_submitted(session)


def test_empty_declaration_text_is_refused(session, candidate, mapped):
    with pytest.raises(operations.SubmissionError, match="Declare"):
        operations.submit_attempt(session, mapped.enrolment, declaration_text="  ",
                                  actor=candidate)


def test_only_the_candidate_may_submit(session, client, login, make_user, provider, admin,
                                       candidate, mapped):
    with pytest.raises(operations.SubmissionError, match="Only the enrolled candidate"):
        operations.submit_attempt(session, mapped.enrolment, declaration_text="x", actor=admin)
    session.rollback()
    other = make_user(roles=["candidate"], provider=provider)
    for person in (other, admin):
        login(person)
        url = f"/evidence/enrolments/{mapped.enrolment.id}/submit"
        assert client.get(url).status_code == 404
        token = csrf_token(client.get("/").get_data(as_text=True))
        assert client.post(url, data={"csrf_token": token, "declaration": "y"}
                           ).status_code == 404
        client.post("/logout", data={"csrf_token": token})
    assert client.get("/evidence/enrolments/999999/submit").status_code in (302, 404)
    _nothing_submitted(session)


def test_two_submits_at_once_cannot_both_be_attempt_one(session, candidate, mapped,
                                                        monkeypatch):
    """The other request wins between our checks and our insert: the unique (enrolment,
    attempt) constraint refuses ours with a clear message, and nothing of ours is left."""
    real = operations._next_attempt

    def racing(session_, enrolment):
        number = real(session_, enrolment)
        # The other request's attempt 1, committed just now.
        session_.add(Submission(enrolment_id=enrolment.id, attempt=number,
                                declaration="theirs", declared_at=operations.utcnow()))
        session_.flush()
        return number

    monkeypatch.setattr(operations, "_next_attempt", racing)
    with pytest.raises(operations.SubmissionError, match="already submitted"):
        operations.submit_attempt(session, mapped.enrolment, declaration_text="Mine.",
                                  actor=candidate)
    # The transaction is still usable (a savepoint took the failure), holding only theirs.
    rows = session.scalars(select(Submission)).all()
    assert [r.declaration for r in rows] == ["theirs"]
    assert session.scalar(select(func.count()).select_from(SubmissionEntry)) == 0
    assert session.scalar(select(func.count()).select_from(EvidenceItem)
                          .where(EvidenceItem.locked_at.is_not(None))) == 0
    assert actions(session, "submission.") == []


def test_the_view_reports_a_lost_race(session, client, login, candidate, mapped, monkeypatch):
    def lost(*_args, **_kwargs):
        raise operations.SubmissionError("This unit was already submitted (another submission "
                                         "of the same attempt was made at the same moment)")

    login(candidate)
    url = f"/evidence/enrolments/{mapped.enrolment.id}/submit"
    token = csrf_token(client.get(url).get_data(as_text=True))
    monkeypatch.setattr(operations, "submit_attempt", lost)
    response = client.post(url, data={"csrf_token": token, "declaration": "y"})
    assert response.status_code == 409
    assert "already submitted" in text(response)
    _nothing_submitted(session)


# --- reading ----------------------------------------------------------------------------------


def test_staff_of_the_provider_read_and_others_do_not(session, client, login, make_user,
                                                      make_provider, provider, admin,
                                                      candidate, mapped):
    submission = submit_directly(session, mapped.enrolment, candidate)
    assessor = make_user(roles=["assessor"], provider=provider)
    verifier = make_user(roles=["verifier"], provider=provider)
    south = make_provider()
    south_admin = make_user(roles=["provider_admin"], provider=south)
    other_candidate = make_user(roles=["candidate"], provider=provider)
    paths = [f"/evidence/submissions/{submission.id}",
             f"/evidence/enrolments/{mapped.enrolment.id}/attempts"]
    for person, allowed in ((assessor, True), (verifier, True), (admin, True),
                            (candidate, True), (south_admin, False), (other_candidate, False)):
        login(person)
        for path in paths:
            response = client.get(path)
            assert response.status_code == (200 if allowed else 404), (person.email, path)
        token = csrf_token(client.get("/").get_data(as_text=True))
        client.post("/logout", data={"csrf_token": token})
    response = client.get(paths[0])
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    login(admin)
    assert client.get("/evidence/submissions/999999").status_code == 404


def test_staff_list_newest_first_with_filter_and_pages(app, session, client, login, make_user,
                                                       make_provider, provider, admin, unit,
                                                       count_queries):
    south = make_provider()
    south_candidate = make_user(roles=["candidate"], provider=south)
    south_admin = make_user(roles=["provider_admin"], provider=south)
    enrolment = enrol_candidate(session, south, south_candidate, unit, starts_on=today(),
                                actor=south_admin)
    item = make_item(session, enrolment, "South's plan")
    map_item(session, item, enrolment, criteria_of(session, unit)[0])
    operations.submit_attempt(session, enrolment, declaration_text="x", actor=south_candidate)
    session.commit()

    def add_candidates(n: int) -> None:
        for _ in range(n):
            person = make_user(roles=["candidate"], provider=provider)
            enrolled = enrol_candidate(session, provider, person, unit, starts_on=today(),
                                       actor=admin)
            item = make_item(session, enrolled, f"Plan of {person.name}")
            map_item(session, item, enrolled, criteria_of(session, unit)[0])
            operations.submit_attempt(session, enrolled, declaration_text="x", actor=person)
        session.commit()

    login(admin)
    add_candidates(2)
    with count_queries() as few:
        response = client.get("/evidence/submissions")
    assert response.status_code == 200
    add_candidates(4)
    with count_queries() as more:
        response = client.get("/evidence/submissions")
    assert more.count == few.count
    body = text(response)
    assert "South's plan" not in body and south_candidate.email not in body
    emails = re.findall(r"person\d+@example\.org", body)
    newest = session.scalars(
        select(Submission).join(Submission.enrolment)
        .where(Enrolment.provider_id == provider.id)
        .order_by(Submission.submitted_at.desc(), Submission.id.desc())).all()
    assert emails == [s.enrolment.candidate.email for s in newest]

    first = newest[-1]
    operations.return_for_resubmission(session, first, actor=admin, reason="")
    session.commit()
    returned = text(client.get("/evidence/submissions?status=returned"))
    assert re.findall(r"person\d+@example\.org", returned) == [first.enrolment.candidate.email]
    assert "No submissions found" in text(client.get("/evidence/submissions?status=completed"))
    # An unknown status is ignored, not an error.
    assert client.get("/evidence/submissions?status=<script>").status_code == 200

    app.config["PAGE_SIZE"] = 4
    try:
        second = text(client.get("/evidence/submissions?page=2"))
    finally:
        app.config["PAGE_SIZE"] = 25
    assert "Showing 5–6 of 6 submissions" in second


def test_staff_list_is_for_staff(session, client, login, candidate, make_user):
    login(candidate)
    assert client.get("/evidence/submissions").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").get_data(
        as_text=True))})
    nobody = make_user()
    login(nobody)
    assert client.get("/evidence/submissions").status_code == 403


def test_attempts_page_with_no_attempts(session, client, login, candidate, world):
    login(candidate)
    response = client.get(f"/evidence/enrolments/{world.enrolment.id}/attempts")
    assert response.status_code == 200
    assert "No attempts yet" in text(response)


def test_submission_page_queries_stay_flat(session, client, login, candidate, admin, world,
                                           count_queries):
    def submission_with(items: int) -> Submission:
        for n in range(items):
            item = make_item(session, world.enrolment, f"Item {n}", files=2)
            for criterion in world.criteria[:3]:
                map_item(session, item, world.enrolment, criterion)
        session.commit()
        submitted = submit_directly(session, world.enrolment, candidate)
        operations.return_for_resubmission(session, submitted, actor=admin, reason="")
        session.commit()
        return submitted

    small = submission_with(1)
    large = submission_with(4)
    login(candidate)
    with count_queries() as few:
        assert client.get(f"/evidence/submissions/{small.id}").status_code == 200
    with count_queries() as more:
        assert client.get(f"/evidence/submissions/{large.id}").status_code == 200
    assert more.count == few.count
    with count_queries() as submit_few:
        client.get(f"/evidence/enrolments/{world.enrolment.id}/submit")
    extra = make_item(session, world.enrolment, "One more", files=3)
    map_item(session, extra, world.enrolment, world.criteria[3])
    session.commit()
    with count_queries() as submit_more:
        client.get(f"/evidence/enrolments/{world.enrolment.id}/submit")
    assert submit_more.count == submit_few.count


def test_files_of_an_earlier_attempt_download_for_those_who_may_read_it(
        app, session, client, login, make_user, make_provider, admin, candidate, world):
    from certify.core.storage import current_storage

    data = b"%PDF-1.4\n% the plan as submitted\n"
    with app.app_context():
        stored = current_storage().save([data])
    blob = Blob(sha256=stored.sha256, size=stored.size, media_type="application/pdf",
                storage_key=stored.key)
    item = EvidenceItem(provider_id=world.enrolment.provider_id, candidate_id=candidate.id,
                        title="Plan", kind=EvidenceKind.DOCUMENT)
    session.add_all([blob, item])
    session.flush()
    session.add(EvidenceFile(item=item, blob=blob, display_name="plan ünïcode.pdf"))
    map_item(session, item, world.enrolment, world.criteria[0])
    session.commit()
    first = submit_directly(session, world.enrolment, candidate)
    operations.return_for_resubmission(session, first, actor=admin, reason="")
    session.commit()
    second = submit_directly(session, world.enrolment, candidate)
    [file] = first.files
    url = f"/evidence/submissions/{first.id}/files/{file.id}"

    login(candidate)
    assert url in client.get(f"/evidence/submissions/{first.id}").get_data(as_text=True)
    response = client.get(url)
    assert response.status_code == 200
    assert response.data == data
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()
    # A file id of another attempt, under this attempt's address: not found.
    assert client.get(f"/evidence/submissions/{first.id}/files/{second.files[0].id}"
                      ).status_code == 404
    assert client.get(f"/evidence/submissions/{first.id}/files/999999").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").get_data(
        as_text=True))})

    south_admin = make_user(roles=["provider_admin"], provider=make_provider())
    login(south_admin)
    assert client.get(url).status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").get_data(
        as_text=True))})
    login(admin)
    response = client.get(url)
    assert response.status_code == 200
    response.close()


def test_a_frozen_hash_that_differs_from_the_blob_is_never_served(session, client, login,
                                                                  candidate, mapped):
    submission = submit_directly(session, mapped.enrolment, candidate)
    file = submission.files[0]
    file.sha256 = "0" * 64
    session.commit()
    login(candidate)
    response = client.get(f"/evidence/submissions/{submission.id}/files/{file.id}")
    assert response.status_code == 500
