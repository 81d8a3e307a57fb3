"""Forms for the appeals a provider admin handles."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length, ValidationError


class AssignAppealForm(FlaskForm):
    """Give a lodged appeal to a different assessor.

    The value is kept as text: the view looks the person up among the provider's people,
    so that the operation explains why someone may not take the appeal.
    """

    assessor_id = StringField(
        "New assessor",
        validators=[InputRequired("Choose the assessor who reassesses this appeal."),
                    Length(max=20, message="Choose an assessor from the list.")],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )

    def validate_assessor_id(self, field: StringField) -> None:
        value = field.data or ""
        if not (value.isascii() and value.isdigit()):
            raise ValidationError("Choose an assessor from the list.")

    @property
    def chosen_id(self) -> int:
        return int(self.assessor_id.data)
