"""Catalogue forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField
from wtforms.validators import InputRequired


class ImportCheckForm(FlaskForm):
    documents = MultipleFileField(
        "Standards documents",
        validators=[InputRequired("Choose at least one document to import.")],
        description="HK QF units of competency, SFIA skill pages, capability pages or "
        "CASE 1.1 JSON; several at once.",
    )


class ImportConfirmForm(FlaskForm):
    batch = HiddenField(validators=[InputRequired()])
