"""Forms of the register: its filters, revoking a certificate and reissuing one.

The operations check reasons and names again (the command line has no forms)
with the same messages; the forms catch what can be told without the database.
"""

from __future__ import annotations

import re
from datetime import date

from flask_wtf import FlaskForm
from wtforms import Form, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import DateInput

from certify.certificates.models import CertificateKind
from certify.certificates.operations.issuing import NAME_MAX
from certify.certificates.operations.revocation import REASON_MAX

# What the register can be filtered by, as the page and the command line name it.
STANDINGS = {
    "valid": "Valid",
    "expired": "Expired",
    "revoked": "Revoked",
    "superseded": "Superseded",
}
KINDS = {kind.value: kind.label for kind in CertificateKind}
SEARCH_MAX = 200
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class DayField(StringField):
    """A date typed as YYYY-MM-DD (what a browser's date box sends).

    Anything else is reported in words that say what to type, never as a Python
    error; an empty box means "no date".
    """

    widget = DateInput()

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return self.data.isoformat() if isinstance(self.data, date) else ""

    def process_formdata(self, valuelist: list[str]) -> None:
        raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not raw:
            return
        try:
            if not ISO_DAY.fullmatch(raw):
                raise ValueError(raw)
            self.data = date.fromisoformat(raw)
        except ValueError:
            shown = raw if len(raw) <= 20 else raw[:20] + "…"
            raise ValueError(f"“{shown}” is not a date: enter it as YYYY-MM-DD, for example "
                             "2026-11-24.") from None


class RegisterFilterForm(Form):
    """The register's search and filters, read from the query string (no CSRF: it changes
    nothing).  A filter that is not valid is named on the page and left out."""

    q = StringField("Search", filters=[_strip],
                    validators=[Optional(), Length(max=SEARCH_MAX,
                                                   message="Keep the search under 200 "
                                                           "characters.")])
    status = SelectField("Status", validate_choice=False,
                         choices=[SelectChoice("", "Any status"),
                                  *(SelectChoice(k, v) for k, v in STANDINGS.items())])
    kind = SelectField("Kind", validate_choice=False,
                       choices=[SelectChoice("", "Any kind"),
                                *(SelectChoice(k, v) for k, v in KINDS.items())])
    issued_from = DayField("Issued from")
    issued_to = DayField("Issued to")

    FIELDS = ("q", "status", "kind", "issued_from", "issued_to")

    def validate_status(self, field: SelectField) -> None:
        if field.data and field.data not in STANDINGS:
            raise ValidationError("Choose valid, expired, revoked or superseded.")

    def validate_kind(self, field: SelectField) -> None:
        if field.data and field.data not in KINDS:
            raise ValidationError("Choose a statement of attainment or a qualification "
                                  "certificate.")

    def validate_issued_to(self, field: DayField) -> None:
        if field.data and self.issued_from.data and field.data < self.issued_from.data:
            raise ValidationError("The “issued to” date must not be before the “issued "
                                  "from” date.")

    def value(self, name: str):
        """The filter ``name`` as given, or None when it is empty or was not valid."""
        field = self[name]
        return None if field.errors or field.data in ("", None) else field.data

    def arguments(self) -> dict[str, str]:
        """The filters that apply, as query arguments: the CSV and ZIP links then export
        exactly the list shown."""
        found = {name: self.value(name) for name in self.FIELDS}
        return {name: value.isoformat() if isinstance(value, date) else str(value)
                for name, value in found.items() if value is not None}

    @property
    def active(self) -> bool:
        return any(self.value(name) is not None for name in self.FIELDS)


def _reason_field(label: str, missing: str) -> TextAreaField:
    return TextAreaField(
        label, filters=[_strip],
        validators=[DataRequired(missing),
                    Length(max=REASON_MAX,
                           message=f"Keep the reason under {REASON_MAX:,} characters.")],
    )


class RevokeForm(FlaskForm):
    """Revoking a certificate, in two steps: the reason, then "yes, revoke it"."""

    reason = _reason_field(
        "Reason for revoking",
        "Give the reason for the revocation. It is shown to anyone who verifies the "
        "certificate.")
    # Set by the confirmation page's button; the first post only shows that page.
    confirmed = HiddenField()

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed.data == "yes"


class ReissueForm(FlaskForm):
    """Reissuing a certificate: why, and the name as it should appear on the new one."""

    name = StringField(
        "Name as it should appear on the certificate", filters=[_strip],
        validators=[DataRequired("Enter the name as it should appear on the certificate."),
                    Length(max=NAME_MAX, message=f"At most {NAME_MAX} characters fit.")],
    )
    reason = _reason_field("Reason for reissuing", "Give the reason for the reissue.")
