"""Forms for providers, invitations, roles, authorisations and the audit trail's filters.

Rules that need the database sit in ``validate_<field>``; the operations check
the same rules again (the command line has no forms), with the same messages.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Form,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    Email,
    EqualTo,
    InputRequired,
    Length,
    Optional,
)
from wtforms.widgets import CheckboxInput, ListWidget

from certify.accounts.models import Provider, Role
from certify.accounts.operations.auth import find_user
from certify.accounts.operations.authorisations import today
from certify.accounts.operations.people import (
    EMAIL_MESSAGE,
    normalise_prefix,
    normalise_slug,
    provider_clash,
    roles_of,
)
from certify.accounts.passwords import password_problems
from certify.extensions import db
from certify.units.models import Framework, Unit, UnitStatus

ROLE_VALUES = frozenset(role.value for role in Role)
ROLE_CHOICES = [SelectChoice(role.value, role.label) for role in Role]
AUTHORISABLE_CHOICES = [SelectChoice(r.value, r.label) for r in (Role.ASSESSOR, Role.VERIFIER)]


class MultiCheckboxField(SelectMultipleField):
    """A group of checkboxes; templates render it as a fieldset with a legend."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form) -> None:
        # Unknown values are reported by name instead of WTForms' generic message.
        allowed = {str(choice.value) for choice in self.choices}
        unknown = [v for v in self.data or [] if str(v) not in allowed]
        if unknown:
            raise ValidationError(f"{', '.join(map(str, unknown))} is not one of the choices.")


def _email_field(label: str = "Email address") -> EmailField:
    return EmailField(
        label,
        validators=[InputRequired("Enter the person's email address."),
                    Length(max=254, message="An email address has at most 254 characters."),
                    Email(EMAIL_MESSAGE)],
        filters=[lambda v: v.strip().lower() if isinstance(v, str) else v],
    )


def _name_field(label: str, required: bool = True) -> StringField:
    # No Optional() when not required: it would stop validate_<field> from running.
    validators = [Length(max=200, message="Use at most 200 characters.")]
    if required:
        validators.insert(0, InputRequired("Enter the person's name."))
    return StringField(label, validators=validators,
                       filters=[lambda v: v.strip() if isinstance(v, str) else v])


class ProviderForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[InputRequired("Enter the provider's name."),
                    Length(max=200, message="Use at most 200 characters.")],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    slug = StringField(
        "Short name",
        validators=[InputRequired("Enter a short name."), Length(max=60)],
        filters=[normalise_slug],
    )
    certificate_prefix = StringField(
        "Certificate prefix",
        validators=[InputRequired("Enter a certificate prefix."), Length(max=12)],
        filters=[normalise_prefix],
    )
    admin_email = _email_field("First provider admin's email address")
    admin_name = _name_field("First provider admin's name", required=False)

    def _clash(self, field) -> None:
        problem = provider_clash(db.session, field.name, field.data)
        if problem:
            raise ValidationError(problem)

    validate_name = validate_slug = validate_certificate_prefix = _clash

    def validate_admin_name(self, field) -> None:
        if not field.data and self.admin_email.data and not self.admin_email.errors \
                and find_user(db.session, self.admin_email.data) is None:
            raise ValidationError("Enter the admin's name (they do not have an account yet).")


class InviteForm(FlaskForm):
    email = _email_field()
    name = _name_field("Name", required=False)
    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES)

    def __init__(self, *args, provider: Provider, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.provider = provider

    def validate_roles(self, field) -> None:
        if not field.data:
            raise ValidationError("Tick at least one role.")

    def validate_email(self, field) -> None:
        user = find_user(db.session, field.data)
        if user is None:
            return
        if user.is_disabled:
            raise ValidationError(
                f"The account for {user.email} is disabled; a platform administrator can "
                "restore it."
            )
        wanted = {Role(r) for r in self.roles.data or [] if r in ROLE_VALUES}
        if wanted and user.password_hash is not None and wanted <= roles_of(user, self.provider):
            raise ValidationError(
                f"{user.name} already holds every role you ticked in {self.provider.name}."
            )

    def validate_name(self, field) -> None:
        if not field.data and self.email.data and find_user(db.session, self.email.data) is None:
            raise ValidationError("Enter the person's name.")


class RolesForm(FlaskForm):
    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES)

    def validate_roles(self, field) -> None:
        if not field.data:
            raise ValidationError("Tick at least one role.")


class AcceptInvitationForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[InputRequired("Choose a password."), Length(max=1024)],
    )
    confirm = PasswordField(
        "New password again",
        validators=[InputRequired("Type the password again."),
                    EqualTo("password", "The two passwords are not the same.")],
    )

    def __init__(self, *args, email: str = "", name: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._person = (email, name)

    def validate_password(self, field) -> None:
        problems = password_problems(field.data, email=self._person[0], name=self._person[1])
        if problems:
            raise ValidationError(" ".join(problems))


class AuthorisationForm(FlaskForm):
    # validate_user names the problem better than "Not a valid choice".
    user = SelectField("Person", coerce=int, validate_choice=False,
                       validators=[InputRequired("Choose the person to authorise.")])
    role = SelectField("Role", choices=AUTHORISABLE_CHOICES,
                       validators=[InputRequired("Choose a role.")])
    scope = RadioField(
        "Authorised for",
        choices=[SelectChoice("unit", "One unit"),
                 SelectChoice("framework", "Every unit of a framework")],
        default="unit",
        validators=[InputRequired("Choose one unit or a whole framework.")],
    )
    unit_code = StringField(
        "Unit code",
        validators=[Length(max=60)],
        filters=[lambda v: v.strip().upper() if isinstance(v, str) else v],
    )
    framework = SelectField("Framework", validate_choice=False)
    valid_from = DateField("Valid from", validators=[InputRequired("Enter the start date.")],
                           default=today)
    valid_to = DateField("Valid to", validators=[Optional()])

    def __init__(self, *args, provider: Provider, people: list, frameworks: list[Framework],
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.provider = provider
        self.people = {person.id: person for person in people}
        self.frameworks = {framework.code: framework for framework in frameworks}
        self.user.choices = [SelectChoice(0, "Choose a person")] + [
            SelectChoice(person.id, f"{person.name} ({person.email})") for person in people
        ]
        self.framework.choices = [SelectChoice("", "—")] + [
            SelectChoice(f.code, f"{f.code} — {f.name}") for f in frameworks
        ]
        self.unit: Unit | None = None
        self.framework_obj: Framework | None = None

    @property
    def person(self):
        return self.people.get(self.user.data)

    def validate_user(self, field) -> None:
        person = self.people.get(field.data)
        if person is None:
            raise ValidationError("Choose the person to authorise.")
        if self.role.data in ROLE_VALUES:
            role = Role(self.role.data)
            if role not in roles_of(person, self.provider):
                raise ValidationError(
                    f"{person.name} does not hold the {role.label.lower()} role in "
                    f"{self.provider.name}; give them the role first."
                )

    def validate_unit_code(self, field) -> None:
        if self.scope.data != "unit":
            return
        if not field.data:
            raise ValidationError("Enter the code of the unit, for example ITCSCR405A.")
        query = (
            select(Unit)
            .join(Unit.framework)
            .options(joinedload(Unit.framework))
            .where(Unit.code == field.data, Unit.status == UnitStatus.CURRENT)
        )
        if self.framework.data:
            query = query.where(Framework.code == self.framework.data)
        units = list(db.session.scalars(query))
        where = f" in {self.framework.data}" if self.framework.data else ""
        if not units:
            raise ValidationError(f"No current unit has the code {field.data}{where}.")
        if len(units) > 1:
            raise ValidationError(
                f"Several frameworks have a unit {field.data}; choose the framework too."
            )
        self.unit = units[0]

    def validate_framework(self, field) -> None:
        if self.scope.data != "framework":
            return
        framework = self.frameworks.get(field.data or "")
        if framework is None:
            raise ValidationError("Choose the framework.")
        self.framework_obj = framework

    def validate_valid_to(self, field) -> None:
        if field.data and self.valid_from.data and field.data < self.valid_from.data:
            raise ValidationError("The end date must not be before the start date.")


class RevokeForm(FlaskForm):
    confirm = BooleanField(
        "I understand that this person can no longer be given this work under this "
        "authorisation.",
        validators=[InputRequired("Tick the box to confirm.")],
    )


class AuditFilterForm(Form):
    """Filters of the audit trail, read from the query string (no CSRF: it changes nothing)."""

    action = SelectField("Action", validators=[Optional()], validate_choice=False)
    actor = StringField("Done by (email)", validators=[Optional(), Length(max=254)],
                        filters=[lambda v: v.strip().lower() if isinstance(v, str) else v])
    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])

    def validate_until(self, field) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("The 'to' date must not be before the 'from' date.")


__all__ = [
    "AcceptInvitationForm",
    "AuditFilterForm",
    "AuthorisationForm",
    "InviteForm",
    "ProviderForm",
    "RevokeForm",
    "RolesForm",
]
