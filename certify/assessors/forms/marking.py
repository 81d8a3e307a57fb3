"""Forms of the assessor's pages: the queue's filters, the marking form, signing, corrections.

The marking form has one judgement and one comment per criterion of the unit, so
its fields are dynamic: ``MarkingForm`` carries the CSRF token and
``parse_marking`` reads the rest into ``Mark`` objects.  A field that names no
criterion of the unit, or holds a value the page never offers, is refused with
a message naming the field; nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import (
    Form,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from certify.assessors.errors import InvalidMarking
from certify.assessors.models import RULES_OF_EVIDENCE, Assessment
from certify.assessors.operations.marking import Mark
from certify.assessors.queries import AGE_LIMIT_DAYS, QUEUE_STATUSES
from certify.units.models import Criterion

# The values of a criterion's radio group, as the page offers them.
JUDGEMENTS = {"satisfactory": True, "not_yet": False, "": None}
# What browsers send for a ticked checkbox (the page sends "y").
TICKED = frozenset({"y", "on", "1", "true"})
VERSION_LIMIT = 2**31 - 1
REASON_LIMIT = 2000


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class QueueFilterForm(Form):
    """The queue's filters, read from the query string (no CSRF: it changes nothing)."""

    unit = SelectField("Unit", validators=[Optional()], validate_choice=False)
    candidate = StringField("Candidate (name or email)", filters=[_strip],
                            validators=[Optional(), Length(max=200)])
    status = SelectField("Status", validators=[Optional()],
                         choices=[SelectChoice("", "Any status"),
                                  *(SelectChoice(k, v) for k, v in QUEUE_STATUSES.items())])
    older_than = IntegerField(
        "Waiting longer than (days)",
        validators=[Optional(), NumberRange(min=0, max=AGE_LIMIT_DAYS,
                                            message=f"Use a number of days from 0 to "
                                                    f"{AGE_LIMIT_DAYS}.")])


class MarkingForm(FlaskForm):
    """The save-draft form; the judgement, comment and rule fields are read by
    ``parse_marking`` because they depend on the unit's criteria."""


class SignForm(FlaskForm):
    password = PasswordField("Your password",
                             validators=[InputRequired("Enter your password to sign.")])
    # The version of the draft the page showed: signing refuses a draft saved since.
    version = HiddenField()


class CorrectForm(FlaskForm):
    reason = TextAreaField(
        "Why does the decision need correcting?", filters=[_strip],
        validators=[DataRequired("Say why the decision needs correcting."),
                    Length(max=REASON_LIMIT,
                           message=f"Keep the reason under {REASON_LIMIT:,} characters.")])


class DiscardForm(FlaskForm):
    """Discarding a draft correction: a button and the CSRF token."""


@dataclass
class MarkingState:
    """What the marking form shows: per criterion the chosen judgement ("satisfactory",
    "not_yet" or "") and the comment, the rules of evidence, the feedback, the version."""

    choices: dict[int, str] = field(default_factory=dict)
    comments: dict[int, str] = field(default_factory=dict)
    rules: dict[str, bool] = field(default_factory=dict)
    feedback: str = ""
    version: int = 0

    @classmethod
    def saved(cls, assessment: Assessment) -> MarkingState:
        return cls(
            choices={j.criterion_id: "satisfactory" if j.satisfactory else "not_yet"
                     for j in assessment.judgements},
            comments={j.criterion_id: j.comment for j in assessment.judgements},
            rules=dict(assessment.rules), feedback=assessment.feedback or "",
            version=assessment.version,
        )

    @classmethod
    def posted(cls, data: MultiDict, version: int) -> MarkingState:
        """What was posted, leniently: shown again with the errors so nothing typed is lost;
        the version stays the one the page had."""
        state = cls(version=version, feedback=data.get("feedback", ""))
        for name, value in data.items():
            prefix, _, rest = name.partition("-")
            if not rest.isdigit():
                if prefix == "rule" and rest in RULES_OF_EVIDENCE:
                    state.rules[rest] = value in TICKED
                continue
            if prefix == "judgement" and value in JUDGEMENTS:
                state.choices[int(rest)] = value
            elif prefix == "comment":
                state.comments[int(rest)] = value
        return state

    def marks(self) -> dict[int, Mark]:
        return {cid: Mark(JUDGEMENTS[choice], self.comments.get(cid, ""))
                for cid, choice in self.choices.items() if choice}


@dataclass
class PostedMarking:
    marks: dict[int, Mark]
    rules: dict[str, bool]
    feedback: str
    version: int


def parse_version(raw: str | None, name: str = "version") -> int:
    """The page's version number; refused (InvalidMarking) when missing or not a number."""
    raw = (raw or "").strip()
    if not raw.isdigit() or not 0 < int(raw) <= VERSION_LIMIT:
        raise InvalidMarking({name: f"{name}: the page's version number is missing or not a "
                                    "number; open the page again."})
    return int(raw)


def parse_marking(data: MultiDict, criteria: Iterable[Criterion]) -> PostedMarking:
    """Read the posted marking form into marks, rules, feedback and the version.

    Raises InvalidMarking, with one message per field (each naming the field), for a field
    about a criterion that is not the unit's, a judgement or tick the page never offers, a
    field sent twice, a comment on a criterion left unjudged, or a missing version.
    """
    known = {c.id: f"Criterion {c.ref or c.position}" for c in criteria}
    errors: dict[str, str] = {}
    choices: dict[int, bool | None] = {}
    comments: dict[int, str] = {}
    rules: dict[str, bool] = {}
    for name in data:
        values = data.getlist(name)
        prefix, _, rest = name.partition("-")
        if prefix not in ("judgement", "comment", "rule"):
            continue  # the CSRF token, the button, anything a browser adds
        if len(values) > 1:
            errors[name] = f"{name}: sent {len(values)} times; send it once."
            continue
        value = values[0]
        if prefix == "rule":
            if rest not in RULES_OF_EVIDENCE:
                errors[name] = (f"{name}: there is no such rule of evidence; the rules are "
                                f"{', '.join(RULES_OF_EVIDENCE)}.")
            elif value not in TICKED:
                errors[name] = f"{name}: {value!r} is not a tick; send 'y' or leave it out."
            else:
                rules[rest] = True
            continue
        if not rest.isdigit() or int(rest) not in known:
            errors[name] = f"{name}: there is no such criterion in this unit."
            continue
        criterion_id = int(rest)
        if prefix == "judgement":
            if value not in JUDGEMENTS:
                errors[name] = (f"{known[criterion_id]} ({name}): {value!r} is not a "
                                "judgement; choose satisfactory, not yet satisfactory or not "
                                "judged.")
            else:
                choices[criterion_id] = JUDGEMENTS[value]
        else:
            comments[criterion_id] = value
    for criterion_id, comment in comments.items():
        if comment.strip() and choices.get(criterion_id) is None \
                and f"judgement-{criterion_id}" not in errors:
            errors[f"comment-{criterion_id}"] = (
                f"{known[criterion_id]} (comment-{criterion_id}): a comment is kept with a "
                "judgement; choose satisfactory or not yet satisfactory, or clear the comment.")
    feedback = data.getlist("feedback")
    if len(feedback) > 1:
        errors["feedback"] = "feedback: sent more than once; send it once."
    try:
        version = parse_version(data.get("version"))
    except InvalidMarking as error:
        errors.update(error.errors)
        version = 0
    if errors:
        raise InvalidMarking(errors)
    marks = {cid: Mark(satisfactory, comments.get(cid, ""))
             for cid, satisfactory in choices.items() if satisfactory is not None}
    return PostedMarking(marks=marks, rules=rules, feedback=feedback[0] if feedback else "",
                         version=version)


__all__ = [
    "JUDGEMENTS",
    "CorrectForm",
    "DiscardForm",
    "MarkingForm",
    "MarkingState",
    "PostedMarking",
    "QueueFilterForm",
    "SignForm",
    "parse_marking",
    "parse_version",
]
