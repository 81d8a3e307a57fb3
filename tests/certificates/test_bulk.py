"""Bulk issuing from the eligible list: strict selections, a job per request, each certificate
whole or not at all, the progress page and its JSON, in-process (inline and thread) and on RQ
workers with a real Redis."""

from __future__ import annotations

import html
import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from certify.accounts.models import Role
from certify.accounts.operations import people
from certify.assessors.models import Outcome
from certify.certificates.models import (
    Certificate,
    IssueJob,
    IssueJobItem,
    ItemStatus,
    JobStatus,
)
from certify.core import jobs as core_jobs
from certify.core.storage import current_storage
from certify.units import operations as units_operations
from certify.units.models import Unit
from tests.certificates.conftest import HKQF, achieve, make_qualification
from tests.people import PASSWORD, csrf_token

ELIGIBLE = "/certificates/eligible"
REDIS_URL = "redis://127.0.0.1:6379/15"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def values(page: str) -> list[str]:
    return re.findall(r'name="selected" value="([^"]+)"', page)


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def stored_files(app) -> set[str]:
    with app.app_context():
        root = Path(current_storage().root)
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and "incoming" not in p.parts}


@pytest.fixture
def signed_in(world, login, client):
    assert login(world.admin).status_code in (302, 303)
    return client


def post_bulk(client, page: str, selected: list[str], **extra):
    return client.post("/certificates/bulk", data={"csrf_token": csrf_token(page),
                                                   "selected": selected, **extra})


# --- strict selections ------------------------------------------------------------------------


def test_tampered_selections_are_refused_and_nothing_is_issued(
        app, session, world, make_provider, make_user, add_candidate, signed_in):
    south = make_provider("South Institute", "south", "SOUTH")
    stranger = make_user("s@south.example", name="Sam South", roles=["candidate"],
                         provider=south)
    with app.app_context():
        theirs = achieve(session, south, stranger, world.unit, world.assessor, admin=world.admin)
        session.commit()
    south_q = make_qualification(session, south, world.unit.framework_id, "S-Q", "South Q", 4,
                                 [world.unit])
    other, others = add_candidate(world, "Olga Other", "olga@north.example")
    session.commit()
    page = text(signed_in.get(ELIGIBLE))
    cid, eid = world.candidate.id, world.enrolment.id
    good = f"s:{cid}:{eid}"
    assert good in values(page)
    tampered = [
        "s:abc", f"s:{cid}:", f"s:{cid}", f"q:{cid}:1:2", f"x:{cid}:{eid}", f"s:0{cid}:{eid}",
        f"s:{cid}:{eid}.", f"s:{cid}:{eid}..{eid}", f"S:{cid}:{eid}", f" s:{cid}:{eid}",
        f"s:{cid}:{eid}\n", f"s:{cid}:{eid}.{eid}", "s:99999999999:1", f"s:{cid}:-{eid}",
        f"s:{cid}:{eid}<script>", f"s:{stranger.id}:{theirs.id}", f"s:{cid}:{theirs.id}",
        f"s:{cid}:{others.id}", f"q:{cid}:{south_q.id}", f"q:{stranger.id}:{south_q.id}",
        f"q:{cid}:2147483647", "",
    ]
    for value in tampered:
        response = post_bulk(signed_in, page, [good, value])
        assert response.status_code == 422, value
        body = text(response)
        assert "Nothing was issued" in body and "choose again; nothing was issued." in body, value
        # The page is shown again with the admin's ticks kept.
        assert re.search(rf'value="{re.escape(good)}"[^>]*checked', body), value
        assert "<script>" not in response.get_data(as_text=True).split("</header>")[1]
    empty = post_bulk(signed_in, page, [])
    assert empty.status_code == 422
    assert "Tick at least one certificate to issue." in text(empty)
    assert count(session, IssueJob) == 0
    assert count(session, Certificate) == 0
    assert other.id  # still eligible, untouched


def test_bulk_needs_the_csrf_token_and_an_admin(app, session, world, login, client):
    login(world.candidate)
    page = text(client.get("/account"))
    selection = [f"s:{world.candidate.id}:{world.enrolment.id}"]
    assert post_bulk(client, page, selection).status_code == 403
    assert client.post("/certificates/bulk", data={"selected": selection}).status_code in (
        400, 403)
    assert count(session, IssueJob) == 0


# --- inline (the tests' default): the job runs within the request ----------------------------


def test_bulk_issue_of_three_candidates(app, session, world, add_candidate, signed_in):
    add_candidate(world, "Ada Second", "second@north.example")
    add_candidate(world, "陳大文", "chan@north.example")
    page = text(signed_in.get(ELIGIBLE))
    chosen = values(page)
    assert len(chosen) == 3
    before = stored_files(app)
    response = post_bulk(signed_in, page, chosen)
    assert response.status_code == 303
    session.expire_all()
    job = session.scalar(select(IssueJob))
    assert response.headers["Location"].endswith(f"/certificates/jobs/{job.id}")
    assert (job.status, job.total, job.issued, job.failed) == (JobStatus.FINISHED, 3, 3, 0)
    issued = session.scalars(select(Certificate)).all()
    assert len(issued) == 3
    assert stored_files(app) - before == {c.pdf_key for c in issued}
    assert {c.snapshot["candidate"]["name"] for c in issued} == {
        "Chen Candidate", "Ada Second", "陳大文"}

    body = text(signed_in.get(f"/certificates/jobs/{job.id}"))
    assert "3 of 3 issued, 0 not issued" in body
    assert re.search(r'<progress[^>]*max="3"[^>]*value="3"', body)
    for certificate in issued:
        assert f'href="/certificates/{certificate.id}"' in body
        assert certificate.number in body
    assert "Refresh" not in body  # finished: nothing to wait for
    state = signed_in.get(f"/certificates/jobs/{job.id}.json").get_json()
    assert state["status"] == "finished" and state["finished"] is True
    assert (state["total"], state["issued"], state["failed"], state["percent"]) == (3, 3, 0, 100)
    listing = text(signed_in.get("/certificates/jobs"))
    assert f"Bulk issue {job.id}" in listing and "Finished" in listing
    # Everyone has their certificate now.
    assert "Nobody is waiting for a certificate" in text(signed_in.get(ELIGIBLE))


def test_a_failing_certificate_fails_alone(app, session, world, add_candidate, signed_in):
    """Selections made on the page that stopped being issuable before the job ran: that
    certificate is reported with the reason, with no row and no PDF; the others are issued."""
    fine, _ = add_candidate(world, "Fay Fine", "fine@north.example")
    superseded, enrolment = add_candidate(world, "Sid Superseded", "sid@north.example")
    award = make_qualification(session, world.provider, world.unit.framework_id, "AWD-SCR",
                               "Award in Secure Coding Review", 4, [world.unit])
    session.commit()
    page = text(signed_in.get(ELIGIBLE))
    offered = values(page)
    chosen = [f"s:{world.candidate.id}:{world.enrolment.id}",
              next(v for v in offered if v.startswith(f"s:{fine.id}:")),
              f"s:{superseded.id}:{enrolment.id}", f"q:{fine.id}:{award.id}"]
    assert set(chosen) <= set(offered)
    # Meanwhile: a later attempt of Sid's is not yet competent, and the award is withdrawn.
    with app.app_context():
        achieve(session, world.provider, superseded, world.unit, world.assessor,
                admin=world.admin, enrolment=enrolment, outcome=Outcome.NOT_YET_COMPETENT)
    award.withdrawn_at = datetime.now(UTC)
    session.commit()
    before = stored_files(app)
    assert post_bulk(signed_in, page, chosen).status_code == 303
    session.expire_all()
    job = session.scalar(select(IssueJob))
    assert (job.status, job.issued, job.failed) == (JobStatus.FINISHED, 2, 2)
    items = {(i.candidate_id, i.qualification_id): i for i in job.items}
    assert items[(world.candidate.id, None)].status == ItemStatus.ISSUED
    assert items[(fine.id, None)].status == ItemStatus.ISSUED
    failed_sid = items[(superseded.id, None)]
    failed_award = items[(fine.id, award.id)]
    assert failed_sid.status == failed_award.status == ItemStatus.FAILED
    assert "no confirmed competent decision" in failed_sid.error
    assert "withdrawn" in failed_award.error
    assert failed_sid.certificate_id is None and failed_award.certificate_id is None
    issued = session.scalars(select(Certificate)).all()
    assert {c.candidate_id for c in issued} == {world.candidate.id, fine.id}
    assert all(c.qualification_id is None for c in issued)
    assert stored_files(app) - before == {c.pdf_key for c in issued}
    body = text(signed_in.get(f"/certificates/jobs/{job.id}"))
    assert "2 of 4 issued, 2 not issued" in body
    assert "Not issued" in body and failed_sid.error in body and failed_award.error in body


def test_jobs_of_another_provider_are_not_found(app, session, world, make_provider, make_user,
                                                signed_in, login, client):
    page = text(signed_in.get(ELIGIBLE))
    assert post_bulk(signed_in, page, values(page)).status_code == 303
    job = session.scalar(select(IssueJob))
    south = make_provider("South Institute", "south", "SOUTH")
    other = make_user("admin@south.example", name="Sue Admin", roles=["provider_admin"],
                      provider=south)
    client.post("/logout", data={"csrf_token": csrf_token(page)})
    login(other)
    assert client.get(f"/certificates/jobs/{job.id}").status_code == 404
    assert client.get(f"/certificates/jobs/{job.id}.json").status_code == 404
    assert f"Bulk issue {job.id}" not in text(client.get("/certificates/jobs"))
    assert "No bulk issues yet" in text(client.get("/certificates/jobs"))


def test_job_list_pages_newest_first(app, session, world, signed_in, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    with app.app_context():
        for _ in range(3):
            session.add(IssueJob(provider_id=world.provider.id, requested_by_id=world.admin.id,
                                 total=1, status=JobStatus.QUEUED))
            session.flush()
        session.commit()
    ids = sorted(session.scalars(select(IssueJob.id)).all())
    first = text(signed_in.get("/certificates/jobs"))
    assert f"Bulk issue {ids[2]}" in first and f"Bulk issue {ids[1]}" in first
    assert f"Bulk issue {ids[0]}<" not in first
    assert f"Bulk issue {ids[0]}<" in text(signed_in.get("/certificates/jobs?page=2"))
    waiting = text(signed_in.get(f"/certificates/jobs/{ids[0]}"))
    assert "0 of 1 issued, 0 not issued" in waiting
    assert "Refresh" in waiting and "js/issue-progress.js" in waiting


# --- on a real database: a thread of the web process, and RQ workers ---------------------------


def real_world(app, session, seeds) -> dict:
    """North College on ``app``'s own database: an admin and three candidates who each
    achieved ITCSCR405A, committed for real."""
    with app.app_context():
        data = (seeds / HKQF).read_bytes()
        report = units_operations.import_file(session, data, HKQF, via="test")
        unit = session.get(Unit, report.outcomes[0].unit_id)
        provider = people.create_provider(session, "North College", "north", "NCOL")
        admin = people.create_user(session, "admin@north.example", "Ada Admin",
                                   password=PASSWORD)
        people.add_role(session, admin, provider, Role.PROVIDER_ADMIN)
        assessor = people.create_user(session, "ann@north.example", "Ann Assessor")
        people.add_role(session, assessor, provider, Role.ASSESSOR)
        for n in range(3):
            candidate = people.create_user(session, f"c{n}@north.example", f"Candidate {n}")
            people.add_role(session, candidate, provider, Role.CANDIDATE)
            achieve(session, provider, candidate, unit, assessor, admin=admin)
        session.commit()
    return {"admin": admin, "provider": provider}


def signed_in_client(app, email: str):
    client = app.test_client()
    page = text(client.get("/login"))
    answer = client.post("/login", data={"email": email, "password": PASSWORD,
                                         "csrf_token": csrf_token(page)})
    assert answer.status_code in (302, 303)
    return client


def test_thread_mode_reports_progress_until_finished(real_app, real_session, seeds):
    assert real_app.config["JOBS"] == "thread"
    real_world(real_app, real_session, seeds)
    client = signed_in_client(real_app, "admin@north.example")
    page = text(client.get(ELIGIBLE))
    chosen = values(page)
    assert len(chosen) == 3
    response = post_bulk(client, page, chosen)
    assert response.status_code == 303
    status_url = response.headers["Location"] + ".json"
    seen: list[int] = []
    deadline = time.monotonic() + 120
    while True:
        state = client.get(status_url).get_json()
        seen.append(state["percent"])
        if state["finished"]:
            break
        assert time.monotonic() < deadline, f"the job did not finish: {state}"
        time.sleep(0.1)
    assert seen == sorted(seen), seen
    assert state["status"] == "finished"
    assert (state["total"], state["issued"], state["failed"], state["percent"]) == (3, 3, 0, 100)
    assert real_session.scalar(select(func.count()).select_from(Certificate)) == 3
    body = text(client.get(response.headers["Location"]))
    assert "3 of 3 issued, 0 not issued" in body


def test_rq_workers_issue_when_redis_is_configured(real_app, real_session, seeds, monkeypatch):
    from redis import Redis
    from rq import Queue, SimpleWorker

    queue_name = f"certify-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(real_app.config, "REDIS_URL", REDIS_URL)
    monkeypatch.setattr(core_jobs, "QUEUE", queue_name)
    # The worker runs the job in this application (the same database and key passphrase).
    monkeypatch.setattr(core_jobs, "_worker_app", real_app)
    connection = Redis.from_url(REDIS_URL)
    queue = Queue(queue_name, connection=connection)
    try:
        real_world(real_app, real_session, seeds)
        client = signed_in_client(real_app, "admin@north.example")
        page = text(client.get(ELIGIBLE))
        response = post_bulk(client, page, values(page))
        assert response.status_code == 303
        job_id = int(response.headers["Location"].rsplit("/", 1)[1])
        # Queued for a worker: nothing has run in the web process.
        assert client.get(f"/certificates/jobs/{job_id}.json").get_json()["status"] == "queued"
        assert queue.count == 1
        SimpleWorker([queue], connection=connection).work(burst=True)
        state = client.get(f"/certificates/jobs/{job_id}.json").get_json()
        assert (state["status"], state["issued"], state["failed"]) == ("finished", 3, 0)
        real_session.expire_all()
        assert real_session.scalar(select(func.count()).select_from(IssueJobItem).where(
            IssueJobItem.status == ItemStatus.ISSUED)) == 3
    finally:
        queue.delete(delete_jobs=True)
        for key in connection.scan_iter(f"*{queue_name}*"):
            connection.delete(key)
        connection.close()


def test_progress_script_and_select_all_are_static_files(app, session, world, signed_in):
    page = signed_in.get(ELIGIBLE)
    assert "js/select-all.js" in text(page)
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in text(page) and " style=" not in text(page)
    for name in ("select-all.js", "issue-progress.js"):
        script = signed_in.get(f"/static/js/{name}")
        assert script.status_code == 200
        script.close()


def test_job_pages_query_count_stays_flat(app, session, world, add_candidate, signed_in,
                                          count_queries):
    award = make_qualification(session, world.provider, world.unit.framework_id, "AWD-SCR",
                               "Award in Secure Coding Review", 4, [world.unit])
    job = IssueJob(provider_id=world.provider.id, requested_by_id=world.admin.id,
                   status=JobStatus.FINISHED)
    session.add(job)
    session.commit()

    def add_items(start: int, stop: int) -> None:
        for n in range(start, stop):
            candidate, enrolment = add_candidate(world, f"Item {n}", f"item{n}@north.example")
            job.items.append(IssueJobItem(candidate_id=candidate.id,
                                          enrolment_ids=[enrolment.id],
                                          status=ItemStatus.FAILED, error=f"Reason {n}"))
            job.items.append(IssueJobItem(candidate_id=candidate.id, qualification_id=award.id,
                                          status=ItemStatus.PENDING))
            session.add(IssueJob(provider_id=world.provider.id,
                                 requested_by_id=world.admin.id, total=1))
        job.total = len(job.items)
        session.commit()

    add_items(0, 2)
    signed_in.get(f"/certificates/jobs/{job.id}")
    with count_queries() as few_items:
        assert signed_in.get(f"/certificates/jobs/{job.id}").status_code == 200
    with count_queries() as few_jobs:
        assert signed_in.get("/certificates/jobs").status_code == 200
    add_items(2, 10)
    with count_queries() as many_items:
        body = text(signed_in.get(f"/certificates/jobs/{job.id}"))
    with count_queries() as many_jobs:
        assert signed_in.get("/certificates/jobs").status_code == 200
    assert body.count("ITCSCR405A") == 10 and "Reason 9" in body
    assert few_items.count == many_items.count
    assert few_jobs.count == many_jobs.count


def test_an_unreachable_queue_fails_the_job_with_a_message(app, session, world, signed_in,
                                                           monkeypatch):
    # Nothing listens on port 9: the queue cannot be reached.
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:9/0")
    page = text(signed_in.get(ELIGIBLE))
    response = post_bulk(signed_in, page, values(page))
    assert response.status_code == 303
    body = text(signed_in.get(response.headers["Location"]))
    assert "could not be started: the job queue is not reachable" in body
    session.expire_all()
    job = session.scalar(select(IssueJob))
    assert job.status == JobStatus.FAILED and "could not be queued" in job.error
    assert count(session, Certificate) == 0
