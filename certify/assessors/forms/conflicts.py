"""Forms of the conflicts of interest page: declaring one, withdrawing one."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

REASON_LIMIT = 2000


def _optional_int(value):
    """Select values as ids; the empty "Choose …" option is None, not an error."""
    if value in (None, ""):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text.isdigit() or len(text) > 12:
        raise ValueError("not an id")
    return int(text)


class DeclareConflictForm(FlaskForm):
    """Who must not judge whose work, and why.  Staff members other than provider admins
    declare for themselves: the view removes ``staff_id`` for them."""

    staff_id = SelectField(
        "Assessor or verifier", coerce=_optional_int,
        validators=[InputRequired("Choose the assessor or internal verifier.")],
        invalid_choice_message="Choose an assessor or internal verifier of this provider.",
        invalid_value_message="Choose an assessor or internal verifier from the list.",
    )
    candidate_id = SelectField(
        "Candidate", coerce=_optional_int,
        validators=[InputRequired("Choose the candidate.")],
        invalid_choice_message="Choose a candidate of this provider.",
        invalid_value_message="Choose a candidate from the list.",
    )
    reason = TextAreaField(
        "What is the conflict of interest?",
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        # DataRequired, not InputRequired: the text is judged after stripping, so spaces
        # alone are missing too.
        validators=[DataRequired("Say what the conflict of interest is."),
                    Length(max=REASON_LIMIT,
                           message=f"Keep the reason under {REASON_LIMIT:,} characters.")],
    )

    def __init__(self, *args, staff_choices, candidate_choices, choose_staff: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if choose_staff:
            self.staff_id.choices = [SelectChoice("", "Choose a staff member"),
                                     *(SelectChoice(v, label) for v, label in staff_choices)]
        else:
            del self.staff_id
        self.candidate_id.choices = [SelectChoice("", "Choose a candidate"),
                                     *(SelectChoice(v, label) for v, label in candidate_choices)]


class WithdrawConflictForm(FlaskForm):
    """Withdrawing a declaration: a confirmed button and the CSRF token."""


__all__ = ["DeclareConflictForm", "WithdrawConflictForm"]
