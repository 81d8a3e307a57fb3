"""Enrolling candidates on units: one at a time, or many from a CSV file.

An enrolment points at one version of a unit (``Enrolment.unit_id``) and keeps
it when the unit is revised: later enrolments get the version that is current
then.  A candidate is enrolled on a unit once: a second enrolment on the same
version, or on another version while one is active, is refused (a withdrawn
enrolment on the same version is reinstated instead).

People who have no account yet, or have never set a password, are invited
(``people.invite_person``) and get the invitation mail; people who can already
sign in get a short "you are enrolled" mail.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from certify.accounts.enrolment_csv import CsvFile, read_enrolment_csv
from certify.accounts.models import Enrolment, EnrolmentStatus, Provider, Role, User
from certify.accounts.operations import people
from certify.accounts.operations.auth import find_user
from certify.accounts.operations.people import AccountError
from certify.core import audit, mail
from certify.units.models import Framework, Unit, UnitStatus

# A row naming more units than this is a mistake, not a plan.
MAX_UNITS_PER_ROW = 50
# IN (...) lists are sent in slices, well under every database's parameter limit.
CHUNK = 500


class EnrolmentError(AccountError):
    """An enrolment that cannot be made; ``str()`` is a sentence, ``reason`` a short form."""

    def __init__(self, message: str, field: str | None = None, reason: str | None = None
                 ) -> None:
        super().__init__(message, field)
        self.reason = reason or message


class AlreadyEnrolled(EnrolmentError):
    """The candidate already has an enrolment that stands in the way of this one."""

    def __init__(self, message: str, reason: str, enrolment: Enrolment) -> None:
        super().__init__(message, "unit_code", reason)
        self.enrolment = enrolment


def today() -> date:
    """Today on the server's own calendar (the default start of an enrolment)."""
    return datetime.now(UTC).astimezone().date()


def _via(changes: dict[str, Any], via: str | None) -> dict[str, Any]:
    return {**changes, "via": via} if via else changes


# --- Units -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitRef:
    """A unit as a person writes it: "ITCSCR405A", or "HKQF:ITCSCR405A" to name the framework."""

    text: str
    code: str
    framework: str | None = None

    @classmethod
    def parse(cls, text: str) -> UnitRef:
        text = text.strip()
        framework, colon, code = text.partition(":")
        if colon and framework.strip() and code.strip():
            return cls(text, code.strip(), framework.strip())
        return cls(text, text)


def units_with_codes(session: Session, codes: Iterable[str]) -> dict[str, list[Unit]]:
    """Every version of every unit whose code is one of ``codes`` (any case), by upper code."""
    wanted = sorted({code.strip().upper() for code in codes if code.strip()})
    found: dict[str, list[Unit]] = defaultdict(list)
    for start in range(0, len(wanted), CHUNK):
        rows = session.scalars(
            select(Unit)
            .join(Unit.framework)
            .options(contains_eager(Unit.framework))
            .where(func.upper(Unit.code).in_(wanted[start : start + CHUNK]))
            .order_by(Framework.code, Unit.code, Unit.version)
        )
        for unit in rows:
            found[unit.code.upper()].append(unit)
    return found


def pick_unit(ref: UnitRef, units: list[Unit], version: int | None = None) -> Unit:
    """The unit ``ref`` means among ``units`` (every version with its code).

    Without ``version`` it is the current version; with one, that version, which
    may be superseded.  Raises EnrolmentError when there is none, or when the code
    is used by more than one framework and ``ref`` does not say which.
    """
    label = ref.text
    if not units:
        raise EnrolmentError(
            f"Unknown unit code {label}: no unit in the catalogue has this code.",
            "unit_code", f"unknown unit code {label}",
        )
    if ref.framework is not None:
        mine = [u for u in units if u.framework.code.upper() == ref.framework.upper()]
        if not mine:
            elsewhere = ", ".join(sorted({u.framework.code for u in units}))
            raise EnrolmentError(
                f"Unknown unit code {label}: the framework {ref.framework} has no unit "
                f"{ref.code} ({ref.code} is a unit of {elsewhere}).",
                "unit_code", f"unknown unit code {label} ({ref.code} is a unit of {elsewhere})",
            )
        units = mine
    frameworks = sorted({u.framework.code for u in units})
    if len(frameworks) > 1:
        choices = " or ".join(f"{f}:{ref.code}" for f in frameworks)
        raise EnrolmentError(
            f"The unit code {label} is used in {len(frameworks)} frameworks; write {choices}.",
            "unit_code", f"unit code {label} is in several frameworks (write {choices})",
        )
    if version is None:
        current = [u for u in units if u.status == UnitStatus.CURRENT]
        return max(current or units, key=lambda u: u.version)
    for unit in units:
        if unit.version == version:
            return unit
    versions = ", ".join(str(u.version) for u in sorted(units, key=lambda u: u.version))
    raise EnrolmentError(
        f"{units[0].code} has no version {version} (its versions: {versions}).",
        "version", f"{units[0].code} has no version {version}",
    )


def find_unit_for_enrolment(session: Session, text: str, version: int | None = None) -> Unit:
    """The unit named by ``text`` (a code, or FRAMEWORK:CODE) at ``version`` or current."""
    ref = UnitRef.parse(text)
    if not ref.code:
        raise EnrolmentError("Enter a unit code.", "unit_code", "no unit code")
    return pick_unit(ref, units_with_codes(session, [ref.code]).get(ref.code.upper(), []),
                     version)


def unit_label(unit: Unit) -> str:
    return f"{unit.code} v{unit.version}"


# --- Which enrolments stand in the way --------------------------------------------------------


def _same_unit(a: Unit, b: Unit) -> bool:
    return a.framework_id == b.framework_id and a.code == b.code


def blocking_enrolment(
    candidate: User, existing: Iterable[Enrolment], unit: Unit
) -> AlreadyEnrolled | None:
    """Why ``candidate`` may not be enrolled on ``unit``, given their enrolments; None if they
    may.  Only enrolments of the same provider are passed in."""
    for enrolment in existing:
        other = enrolment.unit
        if enrolment.unit_id == unit.id and enrolment.status != EnrolmentStatus.WITHDRAWN:
            if enrolment.status == EnrolmentStatus.COMPLETED:
                return AlreadyEnrolled(
                    f"{candidate.name} ({candidate.email}) has already completed {unit.code} "
                    f"version {unit.version}.",
                    f"already completed {unit_label(unit)}", enrolment)
            return AlreadyEnrolled(
                f"{candidate.name} ({candidate.email}) is already enrolled on {unit.code} "
                f"version {unit.version} (since {enrolment.enrolled_on:%d %B %Y}).",
                f"already enrolled on {unit_label(unit)}", enrolment)
        if (enrolment.unit_id != unit.id and _same_unit(other, unit)
                and enrolment.status == EnrolmentStatus.ACTIVE):
            return AlreadyEnrolled(
                f"{candidate.name} ({candidate.email}) is already enrolled on {other.code} "
                f"version {other.version}; withdraw that enrolment before enrolling them on "
                f"version {unit.version}.",
                f"already enrolled on {unit_label(other)}", enrolment)
    return None


def _enrolments_on(session: Session, provider: Provider, candidate: User, unit: Unit
                   ) -> list[Enrolment]:
    """``candidate``'s enrolments in ``provider`` on any version of ``unit``."""
    if candidate.id is None:
        return []
    return list(session.scalars(
        select(Enrolment)
        .join(Enrolment.unit)
        .options(contains_eager(Enrolment.unit))
        .where(Enrolment.provider_id == provider.id, Enrolment.candidate_id == candidate.id,
               Unit.framework_id == unit.framework_id, Unit.code == unit.code)
    ))


# --- One enrolment -----------------------------------------------------------------------------


def _check_dates(starts_on: date, ends_on: date | None) -> None:
    if ends_on is not None and ends_on < starts_on:
        raise EnrolmentError(
            f"The end date ({ends_on:%d %B %Y}) must not be before the start date "
            f"({starts_on:%d %B %Y}).",
            "ends_on", "the end date is before the start date",
        )


def enrol_candidate(
    session: Session,
    provider: Provider,
    candidate: User,
    unit: Unit,
    *,
    starts_on: date,
    ends_on: date | None = None,
    actor: User | None,
    via: str | None = None,
    context: dict[str, Any] | None = None,
) -> Enrolment:
    """Enrol ``candidate`` on this exact version of ``unit`` in ``provider``.

    The candidate is given the candidate role in the provider if they lack it.
    Refused (AlreadyEnrolled) when they are already enrolled on this version, or
    actively on another version of the unit; a withdrawn enrolment on this version
    is reinstated with the new dates.  ``context`` adds values to the audit entry
    (the import file and line, say).
    """
    _check_dates(starts_on, ends_on)
    if candidate.is_disabled:
        raise EnrolmentError(
            f"The account for {candidate.email} is disabled; a platform administrator can "
            "restore it.", "email", f"the account for {candidate.email} is disabled")
    existing = _enrolments_on(session, provider, candidate, unit)
    blocked = blocking_enrolment(candidate, existing, unit)
    if blocked is not None:
        raise blocked
    people.add_role(session, candidate, provider, Role.CANDIDATE, actor=actor, via=via)
    changes = {
        "candidate": candidate.email,
        "unit": unit.code,
        "framework": unit.framework.code,
        "version": unit.version,
        "unit_id": unit.id,
        "starts_on": starts_on.isoformat(),
        "ends_on": ends_on.isoformat() if ends_on else None,
        **(context or {}),
    }
    withdrawn = next((e for e in existing if e.unit_id == unit.id), None)
    if withdrawn is not None:
        changes["status"] = [withdrawn.status.value, EnrolmentStatus.ACTIVE.value]
        withdrawn.status = EnrolmentStatus.ACTIVE
        withdrawn.enrolled_on, withdrawn.ends_on = starts_on, ends_on
        withdrawn.enrolled_by_id = getattr(actor, "id", None)
        session.flush()
        audit.record(session, "enrolment.reinstated", actor=actor, provider=provider,
                     target=withdrawn, changes=_via(changes, via))
        return withdrawn
    enrolment = Enrolment(
        provider=provider, candidate=candidate, unit=unit, status=EnrolmentStatus.ACTIVE,
        enrolled_on=starts_on, ends_on=ends_on, enrolled_by_id=getattr(actor, "id", None),
    )
    session.add(enrolment)
    session.flush()
    audit.record(session, "enrolment.created", actor=actor, provider=provider, target=enrolment,
                 changes=_via(changes, via))
    return enrolment


def withdraw_enrolment(
    session: Session,
    enrolment: Enrolment,
    *,
    actor: User | None,
    reason: str = "",
    via: str | None = None,
) -> Enrolment:
    """Withdraw an active enrolment; it stays on record, marked withdrawn."""
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise EnrolmentError(
            f"Only an active enrolment can be withdrawn; this one is {enrolment.status.value}.",
            None, f"enrolment is {enrolment.status.value}",
        )
    reason = " ".join((reason or "").split())[:500]
    old = enrolment.status
    enrolment.status = EnrolmentStatus.WITHDRAWN
    session.flush()
    audit.record(
        session, "enrolment.withdrawn", actor=actor, provider=enrolment.provider,
        target=enrolment,
        changes=_via({"status": [old.value, enrolment.status.value],
                      "candidate": enrolment.candidate.email,
                      "unit": enrolment.unit.code, "version": enrolment.unit.version,
                      "reason": reason or None}, via),
    )
    return enrolment


def unit_link(base_url: str, unit: Unit) -> str:
    """The absolute address of this version of ``unit``'s page."""
    return (f"{base_url.rstrip('/')}/units/{quote(unit.framework.code, safe='')}/"
            f"{quote(unit.code, safe='')}/v{unit.version}")


def notify_enrolled(
    session: Session,
    provider: Provider,
    candidate: User,
    enrolments: list[Enrolment],
    *,
    actor: User | None,
    base_url: str,
) -> None:
    """Tell a candidate who can already sign in which units they were enrolled on."""
    if not enrolments:
        return
    items = [(e, unit_link(base_url, e.unit)) for e in enrolments]
    noun = "a unit" if len(enrolments) == 1 else f"{len(enrolments)} units"
    mail.send(session, mail.render(
        "enrolled", candidate.email, f"You are enrolled on {noun} at {provider.name}",
        candidate=candidate, provider=provider, items=items, enroller=actor,
        home=f"{base_url.rstrip('/')}/", login=f"{base_url.rstrip('/')}/login",
    ))


def needs_invitation(user: User | None) -> bool:
    """Whether enrolling this person means inviting them (no account, or no password yet)."""
    return user is None or user.password_hash is None


@dataclass
class PersonEnrolled:
    candidate: User
    enrolment: Enrolment
    invited: bool


def enrol_person(
    session: Session,
    provider: Provider,
    email: str,
    name: str,
    unit: Unit,
    *,
    starts_on: date,
    ends_on: date | None = None,
    actor: User | None,
    base_url: str,
    via: str | None = None,
) -> PersonEnrolled:
    """Enrol the person with ``email`` on ``unit``, inviting them if they cannot sign in yet.

    An existing account keeps its own name (``name`` is only used for a new one).
    New people get the invitation mail; the others a mail saying they were enrolled.
    """
    email = people.check_email(email)
    _check_dates(starts_on, ends_on)
    user = find_user(session, email)
    if user is not None:
        # Checked before anyone is invited, so that a refusal sends nothing.
        blocked = blocking_enrolment(user, _enrolments_on(session, provider, user, unit), unit)
        if blocked is not None:
            raise blocked
        if user.is_disabled:
            raise EnrolmentError(
                f"The account for {email} is disabled; a platform administrator can restore it.",
                "email", f"the account for {email} is disabled")
    invited = needs_invitation(user)
    if invited:
        user = people.invite_person(session, provider, email, name, [Role.CANDIDATE], actor,
                                    base_url, via=via)
    enrolment = enrol_candidate(session, provider, user, unit, starts_on=starts_on,
                                ends_on=ends_on, actor=actor, via=via)
    if not invited:
        notify_enrolled(session, provider, user, [enrolment], actor=actor, base_url=base_url)
    return PersonEnrolled(user, enrolment, invited)


# --- Many enrolments from a file --------------------------------------------------------------


def _printable(text: str) -> str:
    """``text`` with control characters shown as U+FFFD, safe to print on a page or terminal."""
    return "".join("\ufffd" if unicodedata.category(ch) == "Cc" else ch for ch in text)


def _shorten(text: str, limit: int = 60) -> str:
    text = _printable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class RowReport:
    """What happened (or, when checking only, would happen) to one row of the file."""

    line: int
    name: str
    email: str
    units: str
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    candidate: User | None = None
    invite: bool = False
    to_enrol: list[Unit] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    enrolled: list[Enrolment] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        return bool(self.errors)

    def status(self, dry_run: bool) -> str:
        """"rejected", "enrolled", "will be enrolled" or "already enrolled"."""
        if self.errors:
            return "rejected"
        if self.to_enrol:
            return "will be enrolled" if dry_run else "enrolled"
        return "already enrolled"

    def details(self, dry_run: bool) -> list[str]:
        """The reasons for a rejection, else what happens to each unit, then any notes."""
        if self.errors:
            return list(self.errors)
        verb = "will be enrolled on" if dry_run else "enrolled on"
        parts = [f"{verb} {unit_label(u)}" for u in self.to_enrol] + self.already
        if self.invite and self.to_enrol:
            parts.append("will be invited by email" if dry_run else "invited by email")
        return parts + self.notes

    def summary(self, dry_run: bool) -> str:
        """One line for the command-line report."""
        return f"{self.status(dry_run)}: {'; '.join(self.details(dry_run))}"


@dataclass
class ImportReport:
    file_name: str
    sha256: str
    dry_run: bool
    rows: list[RowReport]

    @property
    def counts(self) -> dict[str, int]:
        valid = [r for r in self.rows if not r.rejected]
        return {
            "rows": len(self.rows),
            "enrolled": sum(len(r.to_enrol) for r in valid),
            "already_enrolled": sum(len(r.already) for r in valid),
            "rejected": len(self.rows) - len(valid),
            "invited": sum(1 for r in valid if r.invite and r.to_enrol),
        }

    @property
    def has_rejections(self) -> bool:
        return any(r.rejected for r in self.rows)


def _users_by_email(session: Session, emails: list[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    for start in range(0, len(emails), CHUNK):
        for user in session.scalars(
            select(User).options(selectinload(User.memberships))
            .where(User.email.in_(emails[start : start + CHUNK]))
        ):
            found[user.email] = user
    return found


def _enrolments_of(session: Session, provider: Provider, users: list[User]
                   ) -> dict[int, list[Enrolment]]:
    found: dict[int, list[Enrolment]] = defaultdict(list)
    ids = [u.id for u in users]
    for start in range(0, len(ids), CHUNK):
        for enrolment in session.scalars(
            select(Enrolment).join(Enrolment.unit).options(contains_eager(Enrolment.unit))
            .where(Enrolment.provider_id == provider.id,
                   Enrolment.candidate_id.in_(ids[start : start + CHUNK]))
        ):
            found[enrolment.candidate_id].append(enrolment)
    return found


def check_rows(session: Session, provider: Provider, csv_file: CsvFile) -> list[RowReport]:
    """Check every row against the catalogue, the accounts and the enrolments; writes nothing.

    A row with any problem is rejected whole.  Problems: an invalid email
    address, an empty or unusable name, no unit codes or an unknown one, the same
    email address on an earlier line, cells beyond the header's, a disabled account.
    A name that differs from an existing account's is not a problem: the account
    keeps its name and the row says so.
    """
    reports: list[RowReport] = []
    first_line: dict[str, int] = {}
    for row in csv_file.rows:
        report = RowReport(line=row.line, name=_printable(row.name.strip()),
                           email=_printable(row.email.strip()),
                           units=_printable(" ".join(row.unit_codes)))
        reports.append(report)
        if row.extra_cells:
            report.errors.append(
                f"the row has {row.extra_cells} more cell{'s' if row.extra_cells > 1 else ''} "
                'than the header; put all unit codes in one cell, in quotes ("A; B")'
            )
        try:
            people.check_name(row.name)
        except AccountError:
            report.errors.append(_name_problem(row.name))
        try:
            report.email = people.check_email(row.email)
        except AccountError:
            report.errors.append(
                f"invalid email address {_shorten(row.email.strip())}" if row.email.strip()
                else "empty email address"
            )
        else:
            if report.email in first_line:
                report.errors.append(
                    f"duplicate row: {report.email} is already on line {first_line[report.email]} "
                    "(put all of a person's unit codes in one row)"
                )
            else:
                first_line[report.email] = row.line
        codes = row.unit_codes
        if not codes:
            report.errors.append("no unit codes")
        elif len(codes) > MAX_UNITS_PER_ROW:
            report.errors.append(f"more than {MAX_UNITS_PER_ROW} unit codes")

    users = _users_by_email(session, [r.email for r in reports if r.email in first_line])
    enrolments = _enrolments_of(session, provider, list(users.values()))
    refs = {id(r): [UnitRef.parse(c) for c in r.units.split()] for r in reports}
    catalogue = units_with_codes(
        session, {ref.code for r in reports if len(refs[id(r)]) <= MAX_UNITS_PER_ROW
                  for ref in refs[id(r)]}
    )
    for report in reports:
        user = users.get(report.email)
        if user is not None and first_line.get(report.email) == report.line:
            report.candidate = user
            if user.is_disabled:
                report.errors.append(f"the account for {user.email} is disabled")
            elif report.name and report.name != user.name:
                report.notes.append(f"kept the account's name {_shorten(user.name)}")
        report.invite = needs_invitation(user)
        if len(refs[id(report)]) > MAX_UNITS_PER_ROW:
            continue
        chosen: dict[int, Unit] = {}
        for ref in refs[id(report)]:
            try:
                unit = pick_unit(ref, catalogue.get(ref.code.upper(), []))
            except EnrolmentError as error:
                report.errors.append(_shorten(error.reason, 160))
                continue
            chosen.setdefault(unit.id, unit)
        for unit in chosen.values():
            blocked = blocking_enrolment(user, enrolments.get(user.id, []), unit) if user else None
            if blocked is not None:
                report.already.append(blocked.reason)
            else:
                report.to_enrol.append(unit)
    return reports


def _name_problem(name: str) -> str:
    name = name.strip()
    if not name:
        return "empty name"
    if len(name) > people.NAME_MAX:
        return f"the name is longer than {people.NAME_MAX} characters"
    return "the name contains line breaks or control characters"


def clean_file_name(name: str | None) -> str:
    """The uploaded file's own name, without folders or control characters, for the trail."""
    name = PureWindowsPath(PurePosixPath(name or "").name).name
    return _shorten(name.strip(), 200) or "upload.csv"


def import_enrolments(
    session: Session,
    provider: Provider,
    data: bytes,
    file_name: str,
    *,
    starts_on: date,
    ends_on: date | None = None,
    dry_run: bool = False,
    actor: User | None,
    base_url: str,
    via: str | None = None,
) -> ImportReport:
    """Enrol the candidates listed in a CSV file (name, email, unit codes).

    An unreadable file raises ``UnreadableFile`` before anything is looked at.
    Otherwise every row is checked; the valid rows are all enrolled and the
    rejected ones are reported with their reasons; the caller commits once, so
    the enrolments happen together or not at all.  ``dry_run`` checks and reports
    without changing anything.  New candidates are invited; the others are told
    by mail.  Each enrolment has its audit entry, and the import one summary entry.
    """
    _check_dates(starts_on, ends_on)
    file_name = clean_file_name(file_name)
    csv_file = read_enrolment_csv(data)
    report = ImportReport(
        file_name=file_name, sha256=hashlib.sha256(data).hexdigest(), dry_run=dry_run,
        rows=check_rows(session, provider, csv_file),
    )
    if dry_run:
        return report
    for row in report.rows:
        if row.rejected or not row.to_enrol:
            continue
        candidate = row.candidate
        if row.invite:
            candidate = people.invite_person(session, provider, row.email, row.name,
                                             [Role.CANDIDATE], actor, base_url, via=via)
        for unit in row.to_enrol:
            row.enrolled.append(enrol_candidate(
                session, provider, candidate, unit, starts_on=starts_on, ends_on=ends_on,
                actor=actor, via=via, context={"import": file_name, "line": row.line},
            ))
        if not row.invite:
            notify_enrolled(session, provider, candidate, row.enrolled, actor=actor,
                            base_url=base_url)
    audit.record(
        session, "enrolment.import", actor=actor, provider=provider,
        changes=_via({"file": file_name, "sha256": report.sha256, **report.counts,
                      "starts_on": starts_on.isoformat(),
                      "ends_on": ends_on.isoformat() if ends_on else None}, via),
    )
    return report


__all__ = [
    "AlreadyEnrolled",
    "EnrolmentError",
    "ImportReport",
    "RowReport",
    "enrol_candidate",
    "enrol_person",
    "find_unit_for_enrolment",
    "import_enrolments",
    "withdraw_enrolment",
]
