"""Forms for quality assurance and assessment administration: assigning work, flagging a
decision for sampling, the provider's assessment settings, a verifier's answer.

The operations check the same rules again (the command line has no forms) with the
same messages; the forms catch what can be told without the database.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Field, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError
from wtforms.widgets import NumberInput

from certify.assessors.operations.quality import SETTINGS_LIMITS

AUTOMATIC = "automatic"
REASON_MAX = 2000
COMMENT_MAX = 10000


class AssignForm(FlaskForm):
    """One row's choice on the assignments page: a person, or the automatic choice.

    The value is kept as text: the view looks the person up among the provider's people,
    so that the operation (not a list of choices) explains why someone may not take it.
    """

    assessor_id = StringField(
        "Assessor",
        validators=[InputRequired("Choose an assessor, or the automatic choice."),
                    Length(max=20, message="Choose an assessor from the list.")],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )

    def validate_assessor_id(self, field: StringField) -> None:
        value = field.data or ""
        if value != AUTOMATIC and not (value.isascii() and value.isdigit()):
            raise ValidationError("Choose an assessor from the list.")

    @property
    def chosen_id(self) -> int | None:
        """The person's id, or None for the automatic choice."""
        return None if self.assessor_id.data == AUTOMATIC else int(self.assessor_id.data)


class FlagForm(FlaskForm):
    """A provider admin asks for a decision to be sampled when it is signed."""

    reason = TextAreaField(
        "Why should this decision be sampled?",
        validators=[DataRequired("Say why this decision should be sampled."),
                    Length(max=REASON_MAX, message="Keep the reason under 2,000 characters.")],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )


class WholeNumberField(Field):
    """A whole number typed into a number box; anything else is reported in the words of the
    setting's range ("… must be a whole number from 0 to 100"), never as a Python error."""

    widget = NumberInput(step=1)

    def __init__(self, label: str, *, low: int, high: int, **kwargs) -> None:
        super().__init__(label, **kwargs)
        self.low, self.high = low, high

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)

    def process_formdata(self, valuelist: list[str]) -> None:
        raw = (valuelist[0] if valuelist else "").strip()
        self.data = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None

    def pre_validate(self, form) -> None:
        if self.data is None or not self.low <= self.data <= self.high:
            raise ValidationError(
                f"{self.label.text} must be a whole number from {self.low} to {self.high}.")


def _setting(name: str) -> WholeNumberField:
    low, high, label = SETTINGS_LIMITS[name]
    return WholeNumberField(label, low=low, high=high)


class SettingsForm(FlaskForm):
    """The provider's sampling plan, attempt limit and appeal window."""

    sample_first_n = _setting("sample_first_n")
    sample_percent = _setting("sample_percent")
    max_attempts = _setting("max_attempts")
    appeal_window_days = _setting("appeal_window_days")

    FIELDS = ("sample_first_n", "sample_percent", "max_attempts", "appeal_window_days")

    def values(self) -> dict[str, int]:
        return {name: self[name].data for name in self.FIELDS}


class VerifyForm(FlaskForm):
    """An internal verifier's answer on a sampled decision."""

    decision = RadioField(
        "Do you agree with this decision?",
        choices=[SelectChoice("agree", "Agree: confirm the decision"),
                 SelectChoice("disagree", "Disagree: send it back to the assessor")],
        validators=[InputRequired("Choose whether you agree with the decision.")],
    )
    comment = TextAreaField(
        "Comment",
        validators=[Length(max=COMMENT_MAX,
                           message="Keep the comment under 10,000 characters.")],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )

    def validate_comment(self, field: TextAreaField) -> None:
        # The operation says the same; saying it here keeps both problems on one page.
        if self.decision.data == "disagree" and not field.data:
            raise ValidationError("Say what the assessor should look at again: a comment is "
                                  "required when you disagree.")

    @property
    def agrees(self) -> bool:
        return self.decision.data == "agree"
