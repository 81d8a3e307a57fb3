"""The candidate's form: an appeal against a confirmed decision."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import InputRequired, Length

from certify.assessors.operations.appeals import STATEMENT_MAX, STATEMENT_MIN


def _stripped(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class AppealForm(FlaskForm):
    """Why the candidate thinks the decision is wrong (the operation checks the same limits,
    so the page can say what is wrong before anything is attempted)."""

    statement = TextAreaField(
        "Why do you think the decision is wrong?",
        filters=[_stripped],
        validators=[
            InputRequired("Explain why you think the decision is wrong."),
            Length(min=STATEMENT_MIN, max=STATEMENT_MAX,
                   message=f"Write between {STATEMENT_MIN} and {STATEMENT_MAX:,} characters: "
                           "explain why you think the decision is wrong."),
        ],
    )
