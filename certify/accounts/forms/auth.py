"""Sign-in and password forms."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, ValidationError
from wtforms.validators import Email, EqualTo, InputRequired, Length, Optional

from certify.accounts.models import User
from certify.accounts.passwords import MAX_LENGTH, MIN_LENGTH, check_password, password_problems

PASSWORD_HINT = (
    f"At least {MIN_LENGTH} characters (up to {MAX_LENGTH}). A few unrelated words make a "
    "strong password that is easy to remember. Common passwords are refused."
)

# Argon2 work is bounded by refusing absurd input before it is hashed.
_INPUT_LIMIT = Length(max=1024, message="That is far too long for a password.")


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _email_field(label: str = "Email address") -> EmailField:
    # Addresses pasted from elsewhere often carry a space at either end.
    return EmailField(
        label,
        filters=[_strip],
        validators=[InputRequired("Enter your email address."), Length(max=254),
                    Email("Enter an email address like name@example.com.")],
    )


class SignInForm(FlaskForm):
    email = _email_field()
    password = PasswordField(
        "Password", validators=[InputRequired("Enter your password."), Length(max=1024)]
    )


class ForgotPasswordForm(FlaskForm):
    email = _email_field()


def _new_password() -> PasswordField:
    return PasswordField(
        "New password", validators=[InputRequired("Enter a new password."), _INPUT_LIMIT]
    )


def _confirm() -> PasswordField:
    return PasswordField(
        "Confirm new password",
        validators=[InputRequired("Enter the new password again."),
                    EqualTo("password", "The two passwords do not match.")],
    )


class _PasswordRules:
    user: User

    def validate_password(self, field: PasswordField) -> None:
        problems = password_problems(field.data, email=self.user.email, name=self.user.name)
        if problems:
            raise ValidationError(" ".join(problems))


class NewPasswordForm(_PasswordRules, FlaskForm):
    """A new password, typed twice, checked against the rules for ``user``."""

    password = _new_password()
    confirm = _confirm()

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user


class ChangePasswordForm(_PasswordRules, FlaskForm):
    """The current password, then a new one typed twice."""

    current_password = PasswordField(
        "Current password",
        validators=[InputRequired("Enter your current password."), _INPUT_LIMIT],
    )
    password = _new_password()
    confirm = _confirm()

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_current_password(self, field: PasswordField) -> None:
        if not check_password(self.user.password_hash, field.data):
            raise ValidationError("Your current password is not right.")

    def validate_password(self, field: PasswordField) -> None:
        super().validate_password(field)
        if self.current_password.data and field.data == self.current_password.data:
            raise ValidationError("Choose a password different from your current one.")


class AccountActionForm(FlaskForm):
    """Confirms disabling or enabling an account; the reason goes into the audit trail."""

    reason = StringField(
        "Reason (optional)",
        validators=[Optional(), Length(max=200, message="Keep the reason under 200 characters.")],
    )
