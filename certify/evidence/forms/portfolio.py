"""Forms of the portfolio: an evidence item, adding files, confirming a deletion, mapping."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from certify.accounts.models import Enrolment
from certify.evidence.models import EvidenceKind
from certify.evidence.operations.items import (
    DESCRIPTION_MAX,
    EXPLANATION_MAX,
    TITLE_MAX,
    URL_MAX,
    ItemError,
    check_url,
)
from certify.units.models import Criterion


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def chosen_files(field: MultipleFileField) -> list:
    """The uploads the person actually chose (browsers send an empty part for none)."""
    return [f for f in (field.data or []) if getattr(f, "filename", None)]


class ItemForm(FlaskForm):
    """An evidence item's text: title, type, description, and the address of a link."""

    title = StringField(
        "Title", filters=[_strip],
        validators=[InputRequired("Enter a title."),
                    Length(max=TITLE_MAX, message=f"Use at most {TITLE_MAX} characters.")],
    )
    kind = SelectField(
        "Type of evidence",
        choices=[SelectChoice(kind.value, kind.label) for kind in EvidenceKind],
        validators=[InputRequired("Choose the type of evidence.")],
    )
    description = TextAreaField(
        "Description", filters=[_strip],
        validators=[Length(max=DESCRIPTION_MAX,
                           message=f"Use at most {DESCRIPTION_MAX} characters.")],
    )
    url = StringField(
        "Link address", filters=[_strip],
        validators=[Optional(), Length(max=URL_MAX, message=f"Use at most {URL_MAX} characters.")],
    )

    def validate_url(self, field: StringField) -> None:
        if self.kind.data != EvidenceKind.LINK.value:
            return
        if not field.data:
            raise ValidationError("Enter the address the link points to.")
        try:
            check_url(field.data)
        except ItemError as error:
            raise ValidationError(str(error)) from None


class NewItemForm(ItemForm):
    """A new item, with any number of files in the same plain post."""

    files = MultipleFileField("Files")


class FilesForm(FlaskForm):
    """Files added to an existing item (one per request from the page's script, or several)."""

    files = MultipleFileField("Files")

    def validate_files(self, field: MultipleFileField) -> None:
        if not chosen_files(field):
            raise ValidationError("Choose at least one file.")


class ConfirmForm(FlaskForm):
    """A confirmation step before something is deleted: the CSRF token is the whole form."""


@dataclass
class MappingChoice:
    """One checkbox of the mapping page: a criterion of an enrolment's unit."""

    enrolment: Enrolment
    criterion: Criterion
    checked: bool = False
    explanation: str = ""
    error: str | None = None

    @property
    def key(self) -> str:
        return f"{self.enrolment.id}-{self.criterion.id}"


class MappingForm(FlaskForm):
    """Which criteria an item shows, and how: a checkbox and an explanation per criterion.

    The choices depend on the candidate's enrolments, so the fields are read by
    ``read`` rather than declared: ``map-<enrolment>-<criterion>`` (a checkbox)
    and ``explanation-<enrolment>-<criterion>``.
    """

    def read(self, choices: list[MappingChoice]) -> bool:
        """Fill ``choices`` from the posted form; whether every checked one is explained."""
        posted = request.form
        valid = True
        for choice in choices:
            choice.checked = posted.get(f"map-{choice.key}") == "1"
            choice.explanation = posted.get(f"explanation-{choice.key}", "").strip()
            choice.error = None
            if not choice.checked:
                continue
            if not choice.explanation:
                choice.error = f"Explain how this evidence shows {choice.criterion.ref}."
            elif len(choice.explanation) > EXPLANATION_MAX:
                choice.error = (f"The explanation for {choice.criterion.ref} is "
                                f"{len(choice.explanation)} characters; use at most "
                                f"{EXPLANATION_MAX}.")
            valid = valid and choice.error is None
        return valid
