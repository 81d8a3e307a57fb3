"""Forms of the issuing pages: the eligible list's filters, issuing one certificate, and the
selection sent to a bulk issue.

A bulk selection is one value per certificate, exactly as the page writes it:
``s:<candidate id>:<enrolment ids joined by .>`` for a statement of attainment,
``q:<candidate id>:<qualification id>`` for a qualification certificate.  Values
are parsed strictly and checked against the provider's own candidates,
enrolments and qualifications; anything else is refused by name and nothing is
issued.  Whether each certificate can still be issued is decided by the job, per
certificate, when it runs.
"""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from certify.accounts.forms.people import MultiCheckboxField
from certify.accounts.models import Provider
from certify.certificates import queries
from certify.certificates.eligibility import CandidateEligibility
from certify.certificates.jobs import MAX_ITEMS, BulkRequest
from certify.certificates.operations.issuing import NAME_MAX
from certify.extensions import db

STATEMENT = "statement"
SEARCH_MAX = 200
# Row ids are PostgreSQL integers; a longer number is not one of ours.
_ID = r"[1-9][0-9]{0,9}"
_STATEMENT_VALUE = re.compile(rf"s:({_ID}):({_ID}(?:\.{_ID})*)")
_QUALIFICATION_VALUE = re.compile(rf"q:({_ID}):({_ID})")
ID_LIMIT = 2**31 - 1


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def statement_value(row: CandidateEligibility) -> str:
    """The bulk selection of a statement of every unit ``row`` may have on one."""
    return f"s:{row.candidate.id}:" + ".".join(str(a.enrolment.id) for a in row.uncertified)


def qualification_value(row: CandidateEligibility, qualification_id: int) -> str:
    return f"q:{row.candidate.id}:{qualification_id}"


def _shown(value: str) -> str:
    """A posted value as quoted back in a message: short, and only printable characters."""
    text = "".join(char if char.isprintable() else "?" for char in value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_selection(value: str) -> BulkRequest:
    """One posted selection as a BulkRequest; ValueError saying what is wrong with it."""
    if not isinstance(value, str):
        raise ValueError("A selection was not text.")
    match = _STATEMENT_VALUE.fullmatch(value)
    if match is not None:
        candidate_id = int(match.group(1))
        enrolment_ids = tuple(int(part) for part in match.group(2).split("."))
        if len(set(enrolment_ids)) != len(enrolment_ids):
            raise ValueError(f"“{_shown(value)}” lists a unit twice.")
        if max(candidate_id, *enrolment_ids) > ID_LIMIT:
            raise ValueError(f"“{_shown(value)}” is not a certificate the list offers.")
        return BulkRequest(candidate_id, enrolment_ids=enrolment_ids)
    match = _QUALIFICATION_VALUE.fullmatch(value)
    if match is not None:
        candidate_id, qualification_id = int(match.group(1)), int(match.group(2))
        if max(candidate_id, qualification_id) > ID_LIMIT:
            raise ValueError(f"“{_shown(value)}” is not a certificate the list offers.")
        return BulkRequest(candidate_id, qualification_id=qualification_id)
    raise ValueError(f"“{_shown(value)}” is not a certificate the list offers.")


class EligibleFilterForm(Form):
    """The eligible list's search and filter, read from the query string (no CSRF: it
    changes nothing)."""

    q = StringField("Candidate (name or email)", filters=[_strip],
                    validators=[Optional(), Length(max=SEARCH_MAX,
                                                   message=f"Search with at most {SEARCH_MAX} "
                                                           "characters.")])
    show = SelectField("Show", default="all",
                       choices=[SelectChoice(k, v) for k, v in queries.SHOW.items()],
                       validators=[Optional()])

    def values(self) -> tuple[str, str]:
        """(search, show) with anything invalid left out."""
        search = "" if self.q.errors else (self.q.data or "")
        show = self.show.data if self.show.data in queries.SHOW and not self.show.errors \
            else "all"
        return search, show


class BulkIssueForm(FlaskForm):
    """The eligible list's "Issue selected" form.  ``requests`` holds the parsed selection
    once the form validates."""

    selected = SelectMultipleField("Certificates to issue", validate_choice=False)

    def __init__(self, *args: Any, provider: Provider, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.provider = provider
        self.requests: list[BulkRequest] = []

    def validate_selected(self, field: SelectMultipleField) -> None:
        values = field.data or []
        if not values:
            raise ValidationError("Tick at least one certificate to issue.")
        if len(values) > MAX_ITEMS:
            raise ValidationError(f"{len(values)} certificates were chosen; issue at most "
                                  f"{MAX_ITEMS} at a time.")
        requests = []
        for value in values:
            try:
                requests.append(parse_selection(value))
            except ValueError as error:
                raise ValidationError(f"{error} Reload the list and choose again; nothing "
                                      "was issued.") from None
        self._check_ownership(requests)
        self.requests = requests

    def _check_ownership(self, requests: list[BulkRequest]) -> None:
        """Every candidate, unit and qualification named must be this provider's."""
        session, provider = db.session, self.provider
        owners = queries.enrolment_owners(
            session, provider, (i for r in requests for i in (r.enrolment_ids or ())))
        qualifications = queries.provider_qualification_ids(
            session, provider, (r.qualification_id for r in requests if r.qualification_id))
        candidates = queries.provider_candidate_ids(session, provider,
                                                    (r.candidate_id for r in requests))
        for request in requests:
            if request.candidate_id not in candidates or (
                    request.qualification_id is not None
                    and request.qualification_id not in qualifications) or any(
                    owners.get(i) != request.candidate_id for i in request.enrolment_ids or ()):
                value = (f"q:{request.candidate_id}:{request.qualification_id}"
                         if request.qualification_id is not None else
                         f"s:{request.candidate_id}:"
                         + ".".join(map(str, request.enrolment_ids or ())))
                raise ValidationError(f"“{value}” names a candidate, unit or qualification "
                                      "that is not on this provider's list. Reload the list "
                                      "and choose again; nothing was issued.")


class CertificateChoice(RadioField):
    """A radio group whose refusal of a value it never offered says so in words."""

    def pre_validate(self, form) -> None:
        if self.data and self.data not in {str(choice.value) for choice in self.choices}:
            raise ValidationError("Choose one of the certificates offered for this candidate.")


class IssueForm(FlaskForm):
    """Issue one certificate: a statement of chosen units, or a qualification that is due;
    the name as it should appear; and the admin's confirmation."""

    certificate = CertificateChoice("Certificate to issue",
                             validators=[InputRequired("Choose what to issue.")])
    units = MultiCheckboxField("Units on the statement of attainment", coerce=int)
    name = StringField(
        "Name as it should appear on the certificate", filters=[_strip],
        validators=[InputRequired("Enter the name as it should appear on the certificate."),
                    Length(max=NAME_MAX, message=f"At most {NAME_MAX} characters fit.")])
    confirm = BooleanField(
        "I have checked the name and what the certificate lists: once issued it cannot be "
        "changed, only revoked or reissued",
        validators=[DataRequired("Tick the box to confirm the name and the contents.")])

    def offer(self, row: CandidateEligibility) -> None:
        """Set the choices from what ``row`` may be given (statement first)."""
        choices = []
        if row.uncertified:
            choices.append(SelectChoice(STATEMENT, "Statement of attainment"))
        for standing in row.qualifications_due:
            q = standing.qualification
            choices.append(SelectChoice(str(q.id), f"{q.title} ({q.code}, level {q.level})"))
        self.certificate.choices = choices
        self.units.choices = [
            SelectChoice(a.enrolment.id, f"{a.unit.code} {a.unit.title}") for a in row.uncertified
        ]
        if not self.is_submitted():
            self.certificate.data = choices[0].value if choices else None
            self.units.data = [a.enrolment.id for a in row.uncertified]

    @property
    def qualification_id(self) -> int | None:
        value = self.certificate.data
        return int(value) if value and value != STATEMENT and value.isdigit() else None

    def validate_units(self, field: MultiCheckboxField) -> None:
        if self.certificate.data == STATEMENT and not field.data:
            raise ValidationError("Tick at least one unit for the statement of attainment.")
