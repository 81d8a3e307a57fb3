"""Catalogue forms."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    StopValidation,
    ValidationError,
)


class ImportCheckForm(FlaskForm):
    documents = MultipleFileField(
        "Standards documents",
        validators=[InputRequired("Choose at least one document to import.")],
        description="HK QF units of competency, SFIA skill pages, capability pages or "
        "CASE 1.1 JSON; several at once.",
    )


class ImportConfirmForm(FlaskForm):
    batch = HiddenField(validators=[InputRequired()])


# Qualifications: units as text, one elective group a line, so that the form
# works in any browser without script and a definition can be pasted whole.

GROUP_EXAMPLE = "Networking: choose 2 of ITCSCR401A, ITCSCR402A, ITCSCR403A"
_GROUP_LINE = re.compile(
    r"^(?P<title>.*?)\s*:\s*choose\s+(?P<choose>\S+)\s+(?:of|from)(?:\s+(?P<codes>.*))?$",
    re.IGNORECASE,
)
_NUMBER_WORDS = {word: n for n, word in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"])}
_SEPARATORS = re.compile(r"[\s,;]+")
MAX_GROUPS = 50
MAX_CODES = 300


def split_codes(text: str | None) -> list[str]:
    """Unit codes written one a line, or separated by commas, semicolons or spaces."""
    return [code for code in _SEPARATORS.split(text or "") if code]


def parse_groups(text: str | None) -> tuple[list[tuple[str, int, list[str]]], list[str]]:
    """Elective groups, one a line as ``Title: choose N of CODE, CODE``; blank lines skipped.

    Returns the groups read and a message for each line that cannot be read,
    naming its line number.
    """
    groups: list[tuple[str, int, list[str]]] = []
    problems: list[str] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = " ".join(raw.split())
        if not line:
            continue
        where = f"Elective groups, line {number}"
        match = _GROUP_LINE.match(line)
        if match is None:
            problems.append(f"{where}: write “Title: choose N of CODE, CODE, …”, for example "
                            f"“{GROUP_EXAMPLE}”.")
            continue
        title, said, codes = match["title"], match["choose"], split_codes(match["codes"])
        choose = int(said) if said.isdigit() else _NUMBER_WORDS.get(said.casefold())
        line_problems = []
        if not title:
            line_problems.append(f"{where}: give the group a title before the colon.")
        if choose is None:
            line_problems.append(f"{where}: “{said[:20]}” is not a number; write how many "
                                 "units to choose, for example “choose 2 of”.")
        if not codes:
            line_problems.append(f"{where}: list the group's unit codes after “of”.")
        if line_problems:
            problems.extend(line_problems)
            continue
        groups.append((title, choose, codes))
    if len(groups) > MAX_GROUPS:
        problems.append(f"Elective groups: at most {MAX_GROUPS} groups; there are {len(groups)}.")
    return groups, problems


def format_groups(groups: list[tuple[str, int, list[str]]]) -> str:
    """The text ``parse_groups`` reads back as ``groups``."""
    return "\n".join(f"{title}: choose {choose} of {', '.join(codes)}"
                     for title, choose, codes in groups)


class WholeNumberField(IntegerField):
    """An integer field whose message says what to write."""

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        text = valuelist[0].strip()
        if not re.fullmatch(r"-?\d{1,9}", text):
            self.data = None
            raise ValueError(f"Write a whole number, such as 4; “{text[:20]}” is not one.")
        self.data = int(text)


class QualificationForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[InputRequired("Give the qualification a code."), Length(max=40)],
        description="Letters, digits, hyphens and full stops, at most 40; unique at your "
                    "provider. It is printed on certificates and stays once one is issued.",
    )
    title = StringField(
        "Title",
        validators=[InputRequired("Give the qualification a title."), Length(max=300)],
        description="As printed on the certificate. For the HK QF, begin with an award title "
                    "of the Award Titles Scheme allowed at the level, e.g. “Diploma in …” at "
                    "levels 1–3 (60 credits or more), “Higher Diploma in …” at level 4.",
    )
    framework = SelectField("Framework", coerce=int,
                            description="The framework the units come from.")
    level = WholeNumberField(
        "Level",
        validators=[InputRequired("Give the qualification's level.")],
        description="The qualification's level in the framework (HK QF: 1 to 7).",
    )
    description = TextAreaField("Description (optional)",
                                validators=[Optional(), Length(max=5000)])
    core_codes = TextAreaField(
        "Core units",
        validators=[Length(max=20000)],
        description="Every core unit is required. One unit code a line, or separated by "
                    "commas. The current version of each unit is used.",
    )
    groups = TextAreaField(
        "Elective groups",
        validators=[Length(max=20000)],
        description="One group a line: its title, a colon, “choose N of” and its unit codes.",
    )
    min_credits = WholeNumberField(
        "Minimum credits",
        validators=[Optional()],
        description="Total credits needed from the qualification's units; 0 or empty for no "
                    "minimum beyond the units themselves.",
    )
    min_credits_at_level = WholeNumberField(
        "Minimum credits at or above a level",
        validators=[Optional()],
        description="How many of those credits must come from units at or above the level "
                    "below; empty for no such rule.",
    )
    at_level = WholeNumberField("At or above level", validators=[Optional()])
    validity_months = WholeNumberField(
        "Valid for (months, optional)",
        validators=[Optional()],
        description="Certificates expire this many months after issue; empty if they do not "
                    "expire.",
    )

    def validate_core_codes(self, field) -> None:
        if len(split_codes(field.data)) > MAX_CODES:
            raise ValidationError(f"List at most {MAX_CODES} units.")

    def validate_groups(self, field) -> None:
        _, problems = parse_groups(field.data)
        if problems:
            field.errors.extend(problems)
            raise StopValidation()

    @property
    def core_list(self) -> list[str]:
        return split_codes(self.core_codes.data)

    def group_list(self) -> list[tuple[str, int, list[str]]]:
        """The groups that could be read (also when other lines could not)."""
        return parse_groups(self.groups.data)[0]

    def add_problems(self, errors: dict[str, list[str]]) -> None:
        """Put an operation's problems on their fields, keeping the form's own messages.

        A field the form could not read was passed on empty, so the operation's
        message about it would only repeat the form's; elective groups are the
        exception: the lines that could be read were checked, and say more.
        """
        unread_groups = bool(self.groups.errors)
        for name, messages in errors.items():
            field = self._fields.get(name) if name != "csrf_token" else None
            if field is None:
                self.form_errors.extend(messages)
                continue
            if name == "core_codes" and unread_groups:
                messages = [m for m in messages if not m.startswith("List at least one unit")]
            if (field.errors and name != "groups") or not messages:
                continue
            if isinstance(field.errors, tuple):
                field.errors = []
            field.errors.extend(messages)


class QualificationRemoveForm(FlaskForm):
    """Confirmation before a qualification is withdrawn (or, unused, deleted)."""

    action = RadioField(
        "What should happen",
        choices=[SelectChoice("withdraw",
                              "Withdraw it: it stays on record, but is no longer awarded"),
                 SelectChoice("delete", "Delete it: nobody was ever given it")],
        default="withdraw",
        validators=[InputRequired("Choose withdraw or delete.")],
    )
    confirm = BooleanField(
        "I understand that no further certificates will be issued for this qualification",
        validators=[DataRequired("Tick the box to confirm.")],
    )
