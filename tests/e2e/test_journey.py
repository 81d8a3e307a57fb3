"""The whole journey in a real browser, with accessibility checked on every page.

One server for the module (gunicorn, on a fresh SQLite database of its own, made
by the migrations), a real SMTP server on 127.0.0.1 that the application mails
through, and one browser context per person: the provider admin, the candidate,
the assessor, the internal verifier, another candidate and an anonymous visitor.
Only the accounts are made on the command line before the browser starts (the
provider, its admin, and people who already have passwords); everything else
happens on the pages.

The steps depend on each other, so they run in order on the same data: each
test runs the steps before it that have not run yet (so one step can be run on
its own, ``-k step_4``), and a step that failed stops the later ones.

Every page the journey visits is looked at the same way (``Journey.look``):
axe-core (through axe-playwright-python) reports no violation of impact
"serious" or "critical", the page does not scroll sideways at 390 px wide, and it
is photographed, whole, at 390 px and at 1280 px into
screenshots/journey/<step>-<n>-<page>-<width>.png.  Problems are printed with
their page as they are found and asserted at the end of each step.
"""

from __future__ import annotations

import email
import email.policy
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import zxingcpp
from aiosmtpd.controller import Controller
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.conftest import SEEDS
from tests.e2e.conftest import (
    SCREENSHOTS,
    certify,
    certify_env,
    free_port,
    serve,
    use_page,
)
from tests.e2e.test_evidence_uploads import RECORD_ROWS, drop, slow_uploads
from tests.evidence.hostile import PE, png

SHOTS = SCREENSHOTS / "journey"
UNIT = "ITCSCR405A"
UNIT_DOCUMENT = "004_01fdc294d607b990.txt"
QUALIFICATION_CODE = "CCRM-4"
QUALIFICATION_TITLE = "Advanced Certificate in Customer Loyalty Marketing"
PROVIDER = "Lantau Institute of Technology"
SLUG = "lantau"
PREFIX = "LIT"
REVOCATION_REASON = "The assessment records were found to be incomplete on audit."
PHONE, DESKTOP = 390, 1280
SERIOUS = ("serious", "critical")

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(56)


@dataclass(frozen=True)
class Person:
    role: str
    name: str
    email: str
    password: str


ADMIN = Person("admin", "Wong Ka Yan", "kayan.wong@lantau.example", "harbour lantern quietly 47")
ASSESSOR = Person("assessor", "Lee Chi Keung", "chikeung.lee@lantau.example",
                  "pebble orchard violin 1952")
VERIFIER = Person("verifier", "Ho Mei Ling", "meiling.ho@lantau.example",
                  "saffron tugboat midnight 83")
CANDIDATE = Person("candidate", "Chan Siu Ming", "siuming.chan@mail.example",
                   "kite meadow copper river 7")
OTHER = Person("other candidate", "Cheung Wai Kit", "waikit.cheung@mail.example",
               "granite puffin sunrise 2024")


# --- the mail server ----------------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler keeping every message the application sends."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.content, policy=email.policy.default)
                for e in self.envelopes if address in e.rcpt_tos]

    def wait_for(self, address: str, subject: str, timeout: float = 10) -> email.message.Message:
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.to(address) if subject.lower() in m["Subject"].lower()]
            if found:
                return found[-1]
            assert time.monotonic() < deadline, (
                f"no mail to {address} about {subject!r}; mail to them: "
                f"{[m['Subject'] for m in self.to(address)]}")
            time.sleep(0.1)


def text_of(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


# --- looking at pages ---------------------------------------------------------------------------


@dataclass
class Finding:
    step: str
    url: str
    what: str

    def __str__(self) -> str:
        return f"[step {self.step}] {self.url}: {self.what}"


@dataclass
class Journey:
    url: str
    instance: Path
    env: dict[str, str]
    mailbox: Mailbox
    browser: object
    step: str = "0"
    shots: int = 0
    axe: Axe = field(default_factory=Axe)
    pages: dict[str, object] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)  # axe's moderate and minor ones
    visited: list[tuple[str, str, str, str]] = field(default_factory=list)  # step, what, url, file
    outcomes: dict[int, str] = field(default_factory=dict)
    timings: dict[int, float] = field(default_factory=dict)
    state: dict[str, object] = field(default_factory=dict)
    contexts: list = field(default_factory=list)

    # People and their browsers.

    def new_page(self, *, javascript: bool = True):
        context = self.browser.new_context(
            base_url=self.url, java_script_enabled=javascript, accept_downloads=True,
            viewport={"width": DESKTOP, "height": 900},
        )
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = context.new_page()
        use_page(page)
        return page

    def as_(self, person: Person):
        """``person``'s page, signed in through the login form the first time."""
        page = self.pages.get(person.role)
        if page is None:
            page = self.new_page()
            self.pages[person.role] = page
            sign_in(self, page, person)
        use_page(page)
        return page

    # Every page the journey visits.

    def look(self, page, what: str) -> None:
        """Check ``page`` with axe-core at 1280 and at 390 px wide, for sideways scrolling
        at 390 px and for ids that several elements share; photograph it at both widths."""
        use_page(page)
        page.wait_for_load_state()
        self.shots += 1
        slug = re.sub(r"[^a-z0-9]+", "-", what.lower()).strip("-")
        name = f"{self.step}-{self.shots:02d}-{slug}"
        url = page.url.removeprefix(self.url) or "/"
        self.visited.append((self.step, what, url, name))
        SHOTS.mkdir(parents=True, exist_ok=True)
        seen: set[tuple[str, str]] = set()

        def problem(what: str) -> None:
            finding = Finding(self.step, url, what)
            print(finding)
            self.findings.append(finding)

        def axe(width: int) -> None:
            for violation in self.axe.run(page).response["violations"]:
                for node in violation["nodes"]:
                    target = " ".join(" > ".join(t) if isinstance(t, list) else t
                                      for t in node["target"])
                    if (violation["id"], target) in seen:
                        continue
                    seen.add((violation["id"], target))
                    said = (f"axe {violation['id']} ({violation['impact']}) at {width} px: "
                            f"{violation['help']}: {target}")
                    if violation["impact"] in SERIOUS:
                        problem(said)
                    else:
                        self.notes.append(Finding(self.step, url, said))

        axe(DESKTOP)
        # axe no longer reports duplicate ids, but a label or description pointing at an id
        # that several elements carry names the wrong control.
        for duplicate in page.evaluate(DUPLICATE_REFERENCES):
            problem(f"id {duplicate}: a label or ARIA reference to it names the first only")
        page.screenshot(path=str(SHOTS / f"{name}-{DESKTOP}.png"), full_page=True)

        size = page.viewport_size
        page.set_viewport_size({"width": PHONE, "height": 844})
        try:
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE + 1:
                problem(f"scrolls sideways at {PHONE} px: {width} px wide; sticking out: "
                        f"{page.evaluate(WIDEST)}")
            axe(PHONE)
            page.screenshot(path=str(SHOTS / f"{name}-{PHONE}.png"), full_page=True)
        finally:
            page.set_viewport_size(size)

    def problems_of(self, step: str) -> list[Finding]:
        return [f for f in self.findings if f.step == step]

    # The steps, in order.

    def reach(self, number: int) -> None:
        """Run every step up to ``number`` that has not run yet; one that failed stops it."""
        for earlier in range(1, number + 1):
            outcome = self.outcomes.get(earlier)
            if outcome == "passed":
                continue
            if outcome is not None:
                pytest.fail(f"step {earlier} {outcome}, so step {number} cannot run",
                            pytrace=False)
            self.run(earlier)

    def run(self, number: int) -> None:
        self.step, self.shots = str(number), 0
        self.outcomes[number] = "failed"
        started = time.monotonic()
        try:
            STEPS[number](self)
        finally:
            self.timings[number] = time.monotonic() - started
            print(f"step {number}: {self.timings[number]:.1f} s")
        problems = self.problems_of(str(number))
        assert not problems, (
            f"step {number}: {len(problems)} accessibility or layout problem(s):\n"
            + "\n".join(map(str, problems)))
        self.outcomes[number] = "passed"


# Ids that labels or ARIA attributes refer to, carried by more than one element.
DUPLICATE_REFERENCES = """() => {
  const referred = new Set([...document.querySelectorAll('label[for]')].map((l) => l.htmlFor));
  const names = ['aria-labelledby', 'aria-describedby', 'aria-controls'];
  for (const el of document.querySelectorAll(names.map((n) => `[${n}]`).join(','))) {
    for (const name of names) {
      for (const id of (el.getAttribute(name) || '').split(/\\s+/)) if (id) referred.add(id);
    }
  }
  return [...referred].map((id) => [id, document.querySelectorAll('#' + CSS.escape(id)).length])
    .filter(([, count]) => count > 1).map(([id, count]) => `"${id}" on ${count} elements`);
}"""


# What makes a page wider than the window: the outermost elements reaching past its right
# edge that no narrower scrolling box clips (absolutely placed ones escape their box unless
# it is positioned, so they are always named).
WIDEST = """() => {
  const limit = window.innerWidth + 1;
  const clipped = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible'
          && a.getBoundingClientRect().right <= limit) return true;
    }
    return false;
  };
  const found = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right <= limit || r.width === 0) continue;
    const absolute = getComputedStyle(el).position === 'absolute';
    if ((!absolute && clipped(el)) || found.some((f) => f.el.contains(el))) continue;
    found.push({el, right: r.right, absolute});
    if (found.length === 3) break;
  }
  return found.map(({el, right, absolute}) => {
    const id = el.id ? '#' + el.id : '';
    const cls = typeof el.className === 'string' && el.className.trim()
      ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
    return `${el.tagName.toLowerCase()}${id}${cls}${absolute ? ' (absolute)' : ''}`
      + ` to ${Math.round(right)} px`;
  }).join('; ');
}"""


def sign_in(journey: Journey, page, person: Person, password: str | None = None) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(password or person.password)
    if password is None and not any(what == "sign in" for _, what, _, _ in journey.visited):
        journey.look(page, "sign in")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if password is None:
        assert "/login" not in page.url, page.content()


def flashed(page, text: str) -> None:
    expect(page.locator(".flashes")).to_contain_text(text)


# --- the fixture --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def journey(browser, tmp_path_factory) -> Iterator[Journey]:
    """A fresh provider on a fresh database, served by gunicorn, mailing a local SMTP server."""
    folder = tmp_path_factory.mktemp("journey")
    instance = folder / "instance"
    shutil.rmtree(SHOTS, ignore_errors=True)  # only this run's pictures
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port(), ready_timeout=5)
    smtp.start()
    try:
        port = free_port()
        env = certify_env(instance, BASE_URL=f"http://127.0.0.1:{port}",
                          SMTP_URL=f"smtp://127.0.0.1:{smtp.port}",
                          MAIL_FROM="certificates@lantau.example")
        certify("db", "upgrade", env=env)
        for person in (ADMIN, ASSESSOR, VERIFIER, OTHER):
            certify("users", "create", person.email, "--name", person.name, "--password-stdin",
                    env=env, stdin=person.password + "\n")
        certify("providers", "create", PROVIDER, "--slug", SLUG, "--prefix", PREFIX,
                "--admin-email", ADMIN.email, env=env)
        with serve(env, port, folder / "server.log") as url:
            trip = Journey(url=url, instance=instance, env=env, mailbox=mailbox,
                           browser=browser)
            try:
                yield trip
            finally:
                for context in trip.contexts:
                    context.close()
                if trip.timings:
                    print("journey timings: " + ", ".join(
                        f"step {n} {s:.1f} s" for n, s in sorted(trip.timings.items())))
    finally:
        smtp.stop()


# --- step 1: the provider admin sets everything up ----------------------------------------------


def step_1(j: Journey) -> None:
    page = j.as_(ADMIN)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {ADMIN.name}")
    j.look(page, "admin home")

    # Import the unit: upload, see what it would create, confirm.
    page.goto("/units/import")
    j.look(page, "import standards")
    page.get_by_label("Standards documents").set_input_files(str(SEEDS / UNIT_DOCUMENT))
    page.get_by_role("button", name="Check").click()
    preview = page.locator(".import-preview")
    expect(preview).to_have_count(1)
    expect(preview.get_by_role("heading", level=3)).to_have_text(UNIT_DOCUMENT)
    expect(preview).to_contain_text(f"{UNIT} version 1")
    j.look(page, "import preview")
    page.get_by_role("button", name="Import 1 document").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import finished")
    expect(page.get_by_role("link", name=UNIT)).to_be_visible()
    j.look(page, "import finished")
    page.get_by_role("link", name=UNIT).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(UNIT)
    j.look(page, "unit")

    # A qualification of that unit.
    page.goto("/qualifications/new")
    j.look(page, "define a qualification")
    page.get_by_label("Code", exact=True).fill(QUALIFICATION_CODE)
    page.get_by_label("Title", exact=True).fill(QUALIFICATION_TITLE)
    page.get_by_label("Level", exact=True).fill("4")
    page.get_by_label("Core units").fill(UNIT)
    page.get_by_role("button", name="Define the qualification").click()
    flashed(page, f"{QUALIFICATION_CODE} {QUALIFICATION_TITLE} is defined.")
    expect(page.get_by_role("heading", level=1)).to_contain_text(QUALIFICATION_TITLE)
    j.look(page, "qualification")

    # The assessor and the verifier have accounts; the admin gives them their roles here.
    for person, role in ((ASSESSOR, "Assessor"), (VERIFIER, "Internal verifier")):
        page.goto("/people/invite")
        page.get_by_label("Email address").fill(person.email)
        page.get_by_role("checkbox", name=role, exact=True).check()
        if person is ASSESSOR:
            j.look(page, "invite a person")
        page.get_by_role("button", name="Send invitation").click()
        flashed(page, f"{person.name} has the new roles and was told by email.")
        j.mailbox.wait_for(person.email, PROVIDER)
    j.look(page, "person")

    # Authorise each for the unit.
    for person, role in ((ASSESSOR, "Assessor"), (VERIFIER, "Internal verifier")):
        page.goto("/authorisations/new")
        page.get_by_label("Person").select_option(label=f"{person.name} ({person.email})")
        page.get_by_label("Role").select_option(label=role)
        page.get_by_role("radio", name="One unit").check()
        page.get_by_label("Unit code").fill(UNIT)
        if person is ASSESSOR:
            j.look(page, "authorise")
        page.get_by_role("button", name="Authorise").click()
        flashed(page, f"{person.name} is authorised.")
    rows = page.locator("table.data tbody tr")
    expect(rows.filter(has_text=ASSESSOR.name).filter(has_text=UNIT)).to_have_count(1)
    expect(rows.filter(has_text=VERIFIER.name).filter(has_text=UNIT)).to_have_count(1)
    j.look(page, "authorisations")

    # Enrol the candidate (new: invited) and another (who has an account) from a CSV file.
    page.goto("/enrolments/import")
    j.look(page, "enrol from csv")
    csv = (f"name,email,unit codes\n{CANDIDATE.name},{CANDIDATE.email},{UNIT}\n"
           f"{OTHER.name},{OTHER.email},{UNIT}\n")
    page.get_by_label("CSV file").set_input_files(
        {"name": "enrolments.csv", "mimeType": "text/csv", "buffer": csv.encode()})
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status")).to_contain_text(
        "2 enrolments made; 1 new candidate invited by email")
    j.look(page, "enrolment report")


# --- step 2: the candidate accepts, uploads, maps and submits -----------------------------------


def step_2(j: Journey) -> None:
    invitation = j.mailbox.wait_for(CANDIDATE.email, "invit")
    link = re.search(r"https?://\S+/invitation/\S+", text_of(invitation))
    assert link, text_of(invitation)
    assert link.group(0).startswith(j.url + "/invitation/"), link.group(0)

    page = j.new_page()
    j.pages[CANDIDATE.role] = page
    page.goto(link.group(0))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {CANDIDATE.name}")
    j.look(page, "accept invitation")
    page.get_by_label("New password", exact=True).fill(CANDIDATE.password)
    page.get_by_label("New password again").fill(CANDIDATE.password)
    page.get_by_role("button", name="Set password and sign in").click()
    flashed(page, f"Welcome, {CANDIDATE.name}. Your password is set and you are signed in.")
    j.look(page, "candidate home")

    # The portfolio: the unit, nothing covered yet.
    page.goto("/evidence")
    expect(page.get_by_role("link", name=re.compile(UNIT))).to_be_visible()
    j.look(page, "portfolio")
    page.get_by_role("link", name=re.compile(UNIT)).click()
    enrolment_path = urlsplit(page.url).path
    j.state["enrolment"] = enrolment_path
    total = criteria_total(page)
    assert total == 18  # 6.1.1-6.1.6, 6.2.1-6.2.7, 6.3.1-6.3.2, i-iii
    j.state["criteria"] = total
    expect(page.locator(".coverage__label").first).to_have_text(f"0 of {total} criteria covered")
    expect(page.locator(".checklist__item--covered")).to_have_count(0)
    j.look(page, "unit evidence, nothing covered")

    # Two files chosen with the file chooser.
    page.goto("/evidence/items/new")
    page.get_by_label("Title").fill("Loyalty programme plan")
    page.get_by_label("Description").fill(
        "The segment analysis and the loyalty programme I planned for our broadband customers.")
    with page.expect_file_chooser() as chooser:
        page.get_by_label("Files").click()
    chooser.value.set_files([
        {"name": "programme-plan.pdf", "mimeType": "application/pdf", "buffer": PDF},
        {"name": "segments.png", "mimeType": "image/png", "buffer": png()},
    ])
    expect(page.locator("[data-upload-list] li")).to_have_count(2)
    j.look(page, "add evidence with two files")
    page.get_by_role("button", name="Add evidence").click()
    page.wait_for_url(re.compile(r"/evidence/items/\d+$"))
    expect(page.locator("table.data tbody tr")).to_have_count(2)
    for name in ("programme-plan.pdf", "segments.png"):
        expect(page.get_by_role("rowheader", name=name, exact=True)).to_be_visible()
    j.state["plan item"] = urlsplit(page.url).path
    j.look(page, "evidence item")

    # A second item, and a file dropped on it: its progress bar fills.
    page.goto("/evidence/items/new")
    page.get_by_label("Title").fill("Programme review report")
    page.get_by_label("Description").fill("How the programme was received, measured by survey.")
    page.get_by_role("button", name="Add evidence").click()
    page.wait_for_url(re.compile(r"/evidence/items/\d+$"))
    j.state["review item"] = urlsplit(page.url).path
    page.evaluate(RECORD_ROWS)
    slow_uploads(page, 400_000)
    drop(page, [{"name": "review-survey.txt", "type": "text/plain", "size": 600_000}])
    page.wait_for_function(
        "() => document.querySelectorAll('table.data tbody tr').length === 1", timeout=30_000)
    log = page.evaluate("() => JSON.parse(sessionStorage.getItem('rows'))")
    last = [entry for entry in log if entry["name"] == "review-survey.txt"][-1]
    assert last["value"] == last["max"] > 0 and last["status"] == "Uploaded", log[-3:]
    assert len({entry["value"] for entry in log}) > 2, log
    expect(page.get_by_role("rowheader", name="review-survey.txt", exact=True)).to_be_visible()
    j.look(page, "evidence item after a drop")

    # Map both items; the checklist fills.
    criteria = map_item(page, j.state["plan item"], lambda ref: ref.startswith("6.1"),
                        "The plan's segment analysis shows this.")
    j.look(page, "mapped")
    page.goto(enrolment_path)
    expect(page.locator(".coverage__label").first).to_have_text(
        f"{len(criteria)} of {total} criteria covered")
    expect(page.locator(".checklist__item--covered")).to_have_count(len(criteria))
    expect(page.locator(".checklist__item--covered").first).to_contain_text(
        "Loyalty programme plan")
    j.look(page, "unit evidence, partly covered")
    map_item(page, j.state["review item"], lambda ref: not ref.startswith("6.1"),
             "The review report shows this in its findings.")
    page.goto(enrolment_path)
    expect(page.locator(".coverage__label").first).to_have_text(
        f"{total} of {total} criteria covered")
    expect(page.locator(".checklist__item--missing")).to_have_count(0)
    expect(page.locator(".checklist__item--covered")).to_have_count(total)
    j.look(page, "unit evidence, all covered")

    # Declare and submit.
    page.get_by_role("link", name="Submit this unit for assessment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Submit {UNIT} for assessment")
    j.look(page, "submit")
    page.get_by_role("button", name="Submit for assessment").click()
    expect(page.get_by_role("alert")).to_contain_text("Tick the box to declare")
    j.look(page, "submit without the declaration")
    page.get_by_label("This evidence is my own work").check()
    page.get_by_role("button", name="Submit for assessment").click()
    flashed(page, f"Attempt 1 of {UNIT} is submitted for assessment.")
    j.look(page, "submitted")


def criteria_total(page) -> int:
    label = page.locator(".coverage__label").first.inner_text()
    found = re.match(r"(\d+) of (\d+) criteria covered", label)
    assert found, label
    return int(found.group(2))


def map_item(page, item_path: str, wanted: Callable[[str], bool], why: str) -> list[str]:
    """Tick the criteria whose reference ``wanted`` accepts, each with ``why``; their refs."""
    page.goto(item_path)
    page.get_by_role("link", name="Map to criteria").click()
    refs = []
    for choice in page.locator(".mapping-choice").all():
        ref = choice.locator(".ref").first.inner_text().strip()
        if not wanted(ref):
            continue
        refs.append(ref)
        choice.get_by_role("checkbox").check()
        choice.get_by_role("textbox").fill(f"{why} ({ref})")
    assert refs
    page.get_by_role("button", name="Save mappings").click()
    page.wait_for_url(re.compile(re.escape(item_path) + "$"))
    expect(page.locator(".mapping-list > li")).to_have_count(len(refs))
    return refs


# --- step 3: assessed, verified, resubmitted, assessed again ------------------------------------

NOT_YET_REF = "6.2.6"


def mark(j: Journey, attempt: int, not_yet: str | None) -> None:
    """The assessor opens attempt ``attempt`` from the queue, judges every criterion (all
    satisfactory but ``not_yet``), confirms the rules of evidence, saves and signs."""
    page = j.as_(ASSESSOR)
    page.goto("/assessment/queue")
    row = page.locator("table.queue tbody tr").filter(has_text=CANDIDATE.name)
    expect(row).to_have_count(1)
    expect(row.locator("td.num")).to_have_text(str(attempt))
    j.look(page, f"assessor queue, attempt {attempt}")
    row.get_by_role("link", name=re.compile(r"^Mark")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(CANDIDATE.name)
    if attempt > 1:
        changes = page.locator("#changes")
        expect(changes.get_by_role("heading", level=2)).to_have_text(
            f"What changed since attempt {attempt - 1}")
        expect(changes.locator(".changes-overview")).to_contain_text(
            "New evidenceEvaluation metrics dashboard")
        criterion = page.locator(f"#criterion-{j.state['not yet id']}")
        expect(criterion.locator(".since__judgement")).to_contain_text("Not yet satisfactory")
        expect(criterion.locator(".since__changes")).to_contain_text(
            "Evaluation metrics dashboard")
        expect(criterion.locator(".evidence").filter(has_text="Evaluation metrics dashboard")
               .locator(".evidence__files")).to_contain_text("metrics-dashboard.png")
    j.look(page, f"marking attempt {attempt}")

    judgements = page.locator("fieldset.judgement").all()
    assert len(judgements) == j.state["criteria"], len(judgements)
    for fieldset in judgements:
        legend = fieldset.locator("legend").inner_text()
        ref = legend.removeprefix("Judgement on criterion ").strip()
        if ref == not_yet:
            fieldset.get_by_role("radio", name="Not yet satisfactory").check()
            criterion = fieldset.get_attribute("data-criterion")
            j.state["not yet id"] = criterion
            page.locator(f"#comment-{criterion}").fill(
                "The metrics are named but not set up: show how each is measured and tracked.")
        else:
            fieldset.get_by_role("radio", name="Satisfactory", exact=True).check()
    for rule in page.locator("#rules input[type=checkbox]").all():
        rule.check()
    page.get_by_label("Feedback for the candidate").fill(
        "A thorough plan and review. Add evidence of how the evaluation metrics are tracked."
        if not_yet else "The metrics dashboard completes the evidence. Well done.")
    page.get_by_role("button", name="Save draft").click()
    flashed(page, f"Draft saved: {len(judgements)} of {len(judgements)} criteria judged.")
    outcome = "not yet competent" if not_yet else "competent"
    expect(page.locator(".summary-outcome")).to_contain_text(outcome, ignore_case=True)
    page.get_by_label("Your password").fill(ASSESSOR.password)
    page.get_by_role("button", name="Sign decision").click()
    flashed(page, f"Decision signed: {outcome}. It was sampled for internal verification")
    j.look(page, f"signed attempt {attempt}")


def verify_decision(j: Journey, attempt: int, outcome: str) -> None:
    page = j.as_(VERIFIER)
    page.goto("/assessment/verification")
    row = page.locator("table.data tbody tr").filter(has_text=CANDIDATE.name)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(outcome)
    j.look(page, f"verification list, attempt {attempt}")
    row.get_by_role("link", name=re.compile(r"^Verify")).click()
    expect(page.get_by_role("heading", name="Internal verification")).to_be_visible()
    j.look(page, f"verify attempt {attempt}")
    page.get_by_role("radio", name="Agree: confirm the decision").check()
    page.get_by_label("Comment").fill("Judgements are consistent with the evidence.")
    page.get_by_role("button", name="Record my verification").click()
    flashed(page, f"Confirmed: {ASSESSOR.name}'s decision on")
    j.look(page, f"verified attempt {attempt}")


def step_3(j: Journey) -> None:
    mark(j, 1, NOT_YET_REF)
    # Sampled: the candidate is told nothing until the verifier agrees.
    page = j.as_(CANDIDATE)
    page.goto("/assessment/progress")
    expect(page.locator(".unit-card")).to_contain_text("Being assessed")
    verify_decision(j, 1, "Not yet competent")

    # The candidate reads the feedback.
    page = j.as_(CANDIDATE)
    page.goto("/assessment/progress")
    j.look(page, "progress, not yet competent")
    page.get_by_role("link", name=f"Decisions and feedback on {UNIT}").click()
    expect(page.locator(".notice").first).to_contain_text(
        "Your last decision is not yet competent")
    row = page.locator("table.judgements tbody tr").filter(
        has=page.get_by_role("rowheader", name=re.compile(re.escape(NOT_YET_REF))))
    expect(row).to_contain_text("Not yet satisfactory")
    expect(row).to_contain_text("show how each is measured and tracked")
    expect(page.locator("p.feedback").first).to_contain_text(
        "Add evidence of how the evaluation metrics are tracked.")
    j.look(page, "decisions and feedback")

    # Adds evidence for that criterion, and resubmits.
    page.goto("/evidence/items/new")
    page.get_by_label("Title").fill("Evaluation metrics dashboard")
    page.get_by_label("Description").fill("The dashboard that tracks each loyalty metric weekly.")
    page.get_by_label("Files").set_input_files(
        {"name": "metrics-dashboard.png", "mimeType": "image/png", "buffer": png()})
    page.get_by_role("button", name="Add evidence").click()
    page.wait_for_url(re.compile(r"/evidence/items/\d+$"))
    item = urlsplit(page.url).path
    map_item(page, item, lambda ref: ref in (NOT_YET_REF, "iii"),
             "The dashboard shows each metric and how it is tracked.")
    page.goto(j.state["enrolment"])
    page.get_by_role("link", name="Submit this unit for assessment").click()
    j.look(page, "resubmit")
    page.get_by_label("This evidence is my own work").check()
    page.get_by_role("button", name="Submit for assessment").click()
    flashed(page, f"Attempt 2 of {UNIT} is submitted for assessment.")

    # The assessor sees what changed, and marks it competent; the verifier agrees.
    mark(j, 2, None)
    verify_decision(j, 2, "Competent")
    page = j.as_(CANDIDATE)
    page.goto("/assessment/progress")
    expect(page.locator(".unit-card")).to_contain_text("Competent")
    j.look(page, "progress, competent")


# --- step 4: the certificate, issued and downloaded ---------------------------------------------


def qr_codes(pdf: bytes, resolution: int = 150) -> list[str]:
    """The QR codes on the PDF's first page, rendered by pdftoppm (a PNG is kept to look at;
    the greyscale PGM is decoded by zxing-cpp, which needs no imaging library)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", str(resolution), "-f", "1", "-l", "1",
                    "-singlefile", "-", str(SHOTS / "4-certificate")], input=pdf, check=True)
    pgm = subprocess.run(["pdftoppm", "-gray", "-r", str(resolution), "-f", "1", "-l", "1",
                          "-"], input=pdf, capture_output=True, check=True).stdout
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", pgm)
    assert header, "pdftoppm did not write a PGM"
    width, height = int(header.group(1)), int(header.group(2))
    pixels = memoryview(pgm[header.end():header.end() + width * height]).cast(
        "B", (height, width))
    return [found.text for found in zxingcpp.read_barcodes(pixels)
            if found.format == zxingcpp.BarcodeFormat.QRCode]


def step_4(j: Journey) -> None:
    page = j.as_(ADMIN)
    page.goto("/certificates/eligible")
    j.look(page, "certificates due")
    page.get_by_role("link", name=f"Issue one certificate to {CANDIDATE.name}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Issue a certificate to {CANDIDATE.name}")
    page.get_by_role("radio", name=re.compile(re.escape(QUALIFICATION_TITLE))).check()
    expect(page.get_by_label("Name as it should appear on the certificate")).to_have_value(
        CANDIDATE.name)
    j.look(page, "issue a certificate")
    page.get_by_label(re.compile(r"^I have checked the name")).check()
    page.get_by_role("button", name="Issue certificate").click()
    flashed(page, f"was issued to {CANDIDATE.name}")
    number = page.locator("h1 .code").inner_text().strip()
    assert re.fullmatch(rf"{PREFIX}-\d{{4}}-\d+-\d", number), number
    j.state["number"] = number
    j.state["certificate"] = urlsplit(page.url).path
    j.look(page, "certificate")

    page = j.as_(CANDIDATE)
    page.goto("/my/certificates")
    card = page.locator(".my-certificate").filter(has_text=number)
    expect(card).to_have_count(1)
    expect(card.get_by_role("heading", level=2)).to_contain_text(QUALIFICATION_TITLE)
    j.look(page, "your certificates")
    with page.expect_download() as download:
        card.get_by_role("link", name=f"Download PDF of {number}").click()
    assert download.value.suggested_filename.endswith(".pdf"), download.value.suggested_filename
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    j.state["pdf"] = pdf

    text = " ".join(subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf,
                                   capture_output=True, check=True).stdout.decode().split())
    for printed in (CANDIDATE.name, UNIT, QUALIFICATION_TITLE, "QF Level 4", "3 QF credits",
                    number, PROVIDER):
        assert printed in text, f"{printed!r} is not in the PDF's text: {text}"
    codes = qr_codes(pdf)
    assert len(codes) == 1, codes
    address = codes[0]
    assert re.fullmatch(re.escape(j.url) + r"/verify/[A-Za-z0-9_-]{22,}", address), address
    assert address in text
    j.state["verification"] = address


# --- step 5: anyone verifies it; the admin revokes it -------------------------------------------


def step_5(j: Journey) -> None:
    number, address = j.state["number"], j.state["verification"]
    visitor = j.new_page()
    j.pages["visitor"] = visitor
    visitor.goto(address)
    expect(visitor.get_by_role("heading", level=1)).to_contain_text(number)
    expect(visitor.get_by_role("heading", name="Status: Valid", exact=True)).to_be_visible()
    expect(visitor.locator(".verify-name")).to_have_text(CANDIDATE.name)
    expect(visitor.get_by_role("rowheader", name=UNIT)).to_be_visible()
    j.look(visitor, "verification, valid")

    # The PDF dropped on /verify.
    visitor.goto("/verify")
    j.look(visitor, "verify")
    transfer = visitor.evaluate_handle(
        """(bytes) => { const t = new DataTransfer();
             t.items.add(new File([new Uint8Array(bytes)], 'certificate.pdf',
                                  {type: 'application/pdf'}));
             return t; }""", list(j.state["pdf"]))
    zone = visitor.locator('form[data-drop-zone][action$="/verify/pdf"]')
    zone.dispatch_event("dragenter", {"dataTransfer": transfer})
    zone.dispatch_event("dragover", {"dataTransfer": transfer})
    with visitor.expect_navigation():
        zone.dispatch_event("drop", {"dataTransfer": transfer})
    transfer.dispose()
    expect(visitor.get_by_role("heading", level=2, name=re.compile("Result"))).to_contain_text(
        "Genuine", ignore_case=True)
    expect(visitor.locator(".verify-sentence")).to_contain_text(
        f"{CANDIDATE.name}, number {number}")
    j.look(visitor, "pdf check, genuine")

    # The admin revokes it, with a reason, after a confirmation page.
    page = j.as_(ADMIN)
    page.goto(j.state["certificate"])
    page.get_by_label("Reason for revoking").fill(REVOCATION_REASON)
    page.get_by_role("button", name="Revoke…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Revoke {number}?")
    j.look(page, "revoke, confirm")
    page.get_by_role("button", name=f"Revoke {number}").click()
    expect(page.locator(".certificate-standing")).to_contain_text("Revoked")
    expect(page.locator(".reason").first).to_have_text(REVOCATION_REASON)
    j.look(page, "certificate, revoked")

    visitor.goto(address)
    expect(visitor.get_by_role("heading", name=re.compile(r"^Status: Revoked on "))).to_be_visible()
    expect(visitor.get_by_role("heading", name="Status: Valid")).to_have_count(0)
    expect(visitor.locator(".verdict__reason")).to_have_text(
        f"Reason given: {REVOCATION_REASON}")
    j.look(visitor, "verification, revoked")


# --- step 6: what must be refused ---------------------------------------------------------------


def step_6(j: Journey) -> None:
    # A wrong password.
    page = j.new_page()
    sign_in(j, page, CANDIDATE, password="not my password at all")
    assert urlsplit(page.url).path == "/login"
    expect(page.get_by_role("alert")).to_contain_text("email address or password")
    j.look(page, "wrong password")
    page.context.close()

    # Executables renamed .pdf, chosen on the new-item form.
    page = j.as_(CANDIDATE)
    page.goto("/evidence/items/new")
    page.get_by_label("Title").fill("Final report")
    page.get_by_label("Files").set_input_files([
        {"name": "final-report.pdf", "mimeType": "application/pdf", "buffer": PE},
        {"name": "appendix.pdf", "mimeType": "application/pdf", "buffer": ELF},
    ])
    page.get_by_role("button", name="Add evidence").click()
    rows = page.locator("[data-upload-list] li")
    expect(rows.filter(has_text="final-report.pdf").locator(".upload__status")).to_have_text(
        "final-report.pdf is a Windows executable, not an accepted file type")
    expect(rows.filter(has_text="appendix.pdf").locator(".upload__status")).to_have_text(
        "appendix.pdf is a Linux executable (ELF), not an accepted file type")
    expect(page.locator("[data-upload-list]")).to_contain_text(
        "The item is saved, but not every file.")
    j.look(page, "executables refused")
    page.get_by_role("link", name="Open the item to add them again").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Final report")
    expect(page.get_by_text("No files.")).to_be_visible()

    # Another candidate's evidence is not there for this one.
    other = j.as_(OTHER)
    other.goto("/evidence/items/new")
    other.get_by_label("Title").fill("Customer interview notes")
    other.get_by_role("button", name="Add evidence").click()
    other.wait_for_url(re.compile(r"/evidence/items/\d+$"))
    theirs = urlsplit(other.url).path
    page = j.as_(CANDIDATE)
    answer = page.goto(theirs)
    assert answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_text("Customer interview notes")).to_have_count(0)
    j.look(page, "another candidate's evidence")

    # A form posted without its CSRF token.
    page.goto(j.state["plan item"])
    page.get_by_role("link", name="Map to criteria").click()
    page.locator("form.mapping-form input[name=csrf_token]").evaluate("(input) => input.remove()")
    with page.expect_navigation() as sent:
        page.get_by_role("button", name="Save mappings").click()
    assert sent.value.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("Bad request")
    j.look(page, "form without its csrf token")
    answer = page.request.post(j.state["plan item"] + "/edit",
                               form={"title": "Changed without a token"})
    assert answer.status == 400
    page.goto(j.state["plan item"])
    expect(page.get_by_role("heading", level=1)).to_have_text("Loyalty programme plan")


STEPS: dict[int, Callable[[Journey], None]] = {
    1: step_1, 2: step_2, 3: step_3, 4: step_4, 5: step_5, 6: step_6,
}


# --- the tests: one a step, and one for the whole -----------------------------------------------


def test_step_1_admin_imports_defines_authorises_and_enrols(journey):
    journey.reach(1)


def test_step_2_candidate_accepts_uploads_maps_and_submits(journey):
    journey.reach(2)


def test_step_3_assessed_verified_resubmitted_and_competent(journey):
    journey.reach(3)


def test_step_4_certificate_issued_downloaded_and_read(journey):
    journey.reach(4)


def test_step_5_verified_by_anyone_then_revoked(journey):
    journey.reach(5)


def test_step_6_refusals(journey):
    journey.reach(6)


def test_the_whole_journey(journey):
    """Every step passed; every page was looked at and photographed at both widths without a
    problem; each person was mailed at each turn; the audit trail's hash chain is whole."""
    journey.reach(6)
    assert journey.outcomes == dict.fromkeys(STEPS, "passed")
    assert len(journey.visited) >= 50, journey.visited
    assert not journey.findings, "\n".join(map(str, journey.findings))
    for _step, what, url, name in journey.visited:
        for width in (PHONE, DESKTOP):
            assert (SHOTS / f"{name}-{width}.png").is_file(), (what, url, width)
    print(f"{len(journey.visited)} pages checked: " + ", ".join(
        f"{step}:{url}" for step, _what, url, _name in journey.visited))
    for note in journey.notes:
        print(f"axe, neither serious nor critical: {note}")

    def subjects(person: Person) -> list[str]:
        return [m["Subject"].strip() for m in journey.mailbox.to(person.email)]

    number = journey.state["number"]
    assert subjects(CANDIDATE) == [
        f"You are invited to certify by {PROVIDER}",
        f"certify: {UNIT} attempt 1: not yet competent; please resubmit",
        f"certify: {UNIT} attempt 2: competent",
        f"certify: Qualification certificate {number} issued",
        f"certify: Certificate {number} was revoked",
    ]
    assert subjects(OTHER) == [f"You are enrolled on a unit at {PROVIDER}"]
    assert subjects(ASSESSOR) == [f"New roles at {PROVIDER} on certify"] + [
        f"certify: {UNIT} attempt {n} of {CANDIDATE.name} is waiting for your assessment"
        for n in (1, 2)]
    assert subjects(VERIFIER) == [f"New roles at {PROVIDER} on certify"] + [
        f"certify: A sampled decision on {UNIT} is waiting for verification"] * 2

    verified = re.search(r"Audit trail intact: (\d+) entries checked",
                         certify("audit", "verify", env=journey.env))
    assert verified and int(verified.group(1)) >= 30, verified
    assert sum(journey.timings.values()) < 180, journey.timings
