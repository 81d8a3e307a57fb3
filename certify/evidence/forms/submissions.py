"""Forms for submitting a unit for assessment."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import DataRequired


class SubmitForm(FlaskForm):
    """The candidate's declaration, required before an attempt is submitted."""

    declaration = BooleanField(
        "This evidence is my own work",
        validators=[DataRequired("Tick the box to declare that this evidence is your own work.")],
    )
