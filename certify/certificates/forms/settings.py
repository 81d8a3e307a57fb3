"""Forms of the certificate settings page: signatory, timeliness, logo, and the signing key."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, PasswordField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from certify.certificates.operations.settings import DAYS_MAX, DAYS_MIN, SIGNATORY_MAX


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class CertificateSettingsForm(FlaskForm):
    signatory_name = StringField(
        "Signatory's name", filters=[_strip],
        validators=[Optional(), Length(max=SIGNATORY_MAX,
                                       message=f"At most {SIGNATORY_MAX} characters.")])
    signatory_title = StringField(
        "Signatory's title", filters=[_strip],
        validators=[Optional(), Length(max=SIGNATORY_MAX,
                                       message=f"At most {SIGNATORY_MAX} characters.")])
    certificate_days = IntegerField(
        "Days a candidate may wait for a certificate",
        validators=[InputRequired(f"Enter a number of days from {DAYS_MIN} to {DAYS_MAX}."),
                    NumberRange(min=DAYS_MIN, max=DAYS_MAX,
                                message=f"Use a number of days from {DAYS_MIN} to {DAYS_MAX}.")])
    logo = FileField("New logo (PNG or JPEG, at most 1 MB)")
    remove_logo = BooleanField("Remove the logo")


class SigningKeyForm(FlaskForm):
    key = FileField("Private key (PEM)",
                    validators=[FileRequired("Choose the PEM file of the private key.")])
    key_password = PasswordField("The key's password (if it is encrypted)",
                                 validators=[Optional(), Length(max=1024)])
    certificate = FileField("Certificate (PEM)",
                            validators=[FileRequired("Choose the PEM file of the certificate.")])
