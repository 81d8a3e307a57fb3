"""Forms for enrolling candidates, one at a time or from a CSV file, and for withdrawing."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, EmailField, IntegerField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from certify.accounts.operations import people
from certify.accounts.operations.auth import find_user
from certify.accounts.operations.enrolments import (
    EnrolmentError,
    find_unit_for_enrolment,
    today,
)
from certify.extensions import db
from certify.units.models import Unit


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _dates_in_order(form: FlaskForm, field: DateField) -> None:
    if field.data and form.starts_on.data and field.data < form.starts_on.data:
        raise ValidationError("The end date must not be before the start date.")


class EnrolForm(FlaskForm):
    """One candidate on one unit version."""

    email = EmailField(
        "Candidate's email address",
        filters=[_strip],
        validators=[InputRequired("Enter the candidate's email address."), Length(max=254),
                    Email("Enter an email address like name@example.com.")],
    )
    # No Optional(): it would stop validate_name, which asks for a name for someone new.
    name = StringField("Candidate's name", filters=[_strip], validators=[Length(max=200)])
    unit_code = StringField(
        "Unit code", filters=[_strip],
        validators=[InputRequired("Enter a unit code."), Length(max=100)],
    )
    version = IntegerField(
        "Version",
        validators=[Optional(), NumberRange(1, 9999, "Enter a version number from 1 to 9999.")],
    )
    starts_on = DateField("Start date", default=today,
                          validators=[InputRequired("Enter the start date.")])
    ends_on = DateField("End date", validators=[Optional(), _dates_in_order])

    unit: Unit | None = None

    def validate_name(self, field: StringField) -> None:
        if self.email.errors or not self.email.data:
            return
        if find_user(db.session, self.email.data) is not None:
            return  # an existing account keeps its own name
        try:
            field.data = people.check_name(field.data or "", "name", "the candidate's name")
        except people.AccountError as error:
            raise ValidationError(
                f"{error} There is no account for {self.email.data.strip()} yet, so one is "
                "made and the candidate is invited."
                if not (field.data or "").strip() else str(error)
            ) from None

    def validate_unit_code(self, field: StringField) -> None:
        version = self.version.data if not self.version.errors else None
        try:
            self.unit = find_unit_for_enrolment(db.session, field.data, version)
        except EnrolmentError as error:
            raise ValidationError(str(error)) from None


class ImportForm(FlaskForm):
    """A CSV file of candidates and the units to enrol them on."""

    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to upload.")])
    starts_on = DateField("Start date", default=today,
                          validators=[InputRequired("Enter the start date.")])
    ends_on = DateField("End date", validators=[Optional(), _dates_in_order])
    check_only = BooleanField("Check only: show the report and enrol nobody")


class WithdrawForm(FlaskForm):
    """Confirmation before an enrolment is withdrawn."""

    reason = TextAreaField("Reason (optional)", validators=[Optional(), Length(max=500)])
    confirm = BooleanField(
        "I understand that the candidate will no longer be enrolled on this unit",
        validators=[DataRequired("Tick the box to confirm the withdrawal.")],
    )
