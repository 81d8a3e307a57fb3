"""Signing in and out, forgotten and changed passwords, and the user's own sessions."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from certify.accounts import bp
from certify.accounts.forms.auth import (
    PASSWORD_HINT,
    ChangePasswordForm,
    ForgotPasswordForm,
    NewPasswordForm,
    SignInForm,
)
from certify.accounts.models import TokenPurpose, UserSession
from certify.accounts.operations import auth as operations
from certify.accounts.sessions import SESSION_KEY, current_session, safe_next
from certify.core import mail
from certify.extensions import db

FORGOT_ANSWER = (
    "If an account exists for that address, we have sent a link to reset its password. "
    "Check your inbox (and spam folder)."
)


def client_address() -> str:
    # Behind a proxy, ProxyFix (configured by the deployment) puts the client here.
    return (request.remote_addr or "unknown")[:45]


def _user_agent() -> str | None:
    return request.user_agent.string or None


# Browsers drop tabs and newlines inside URLs, so "/\t/evil.example" would become
# "//evil.example", another site; such targets are refused outright.
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def next_target() -> str:
    """Where to go after signing in: the ``next`` path when it is on this site, else home."""
    target = request.args.get("next")
    if target and _CONTROL.search(target):
        target = None
    return safe_next(target) or url_for("core.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(next_target())
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        result = operations.sign_in(
            db.session,
            form.email.data,
            form.password.data,
            ip=client_address(),
            user_agent=_user_agent(),
            rules=operations.ThrottleRules.from_config(current_app.config),
        )
        db.session.commit()
        if result.token:
            # A fresh cookie at sign-in: nothing from before it carries over.
            session.clear()
            session.permanent = True
            session[SESSION_KEY] = result.token
            flash(f"Signed in as {result.user.email}.", "success")
            return redirect(next_target())
        error = result.error
    status = 200 if error is None and not form.errors else 422
    if error and error.startswith("Too many"):
        status = 429
    return render_template("accounts/auth/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    """Sign out: the session ends on the server, not only in this browser."""
    user_session = current_session()
    if user_session is not None:
        operations.end_session(db.session, user_session, "signed out", user_session.user)
        db.session.commit()
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("accounts.login"))


# --- Forgotten password ----------------------------------------------------------------------

@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    """Ask for a reset link; the answer is the same whether or not the account exists."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        operations.request_password_reset(
            db.session,
            form.email.data,
            lifetime=timedelta(hours=current_app.config["RESET_TOKEN_HOURS"]),
            link_for=lambda token: mail.link("accounts.reset_password", token=token),
            ip=client_address(),
        )
        db.session.commit()
        return render_template("accounts/auth/forgot_sent.html", answer=FORGOT_ANSWER)
    status = 422 if form.errors else 200
    return render_template("accounts/auth/forgot.html", form=form), status


def _link_not_usable(state: operations.TokenState):
    # 410 for a link that worked once (used or expired), 404 for one that never did.
    status = 404 if state is operations.TokenState.UNKNOWN else 410
    return render_template("accounts/auth/reset_invalid.html", state=state.value), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password through an emailed link; the link works once."""
    if len(token) > 128:
        return _link_not_usable(operations.TokenState.UNKNOWN)
    state = operations.token_state(db.session, token, TokenPurpose.PASSWORD_RESET)
    if state is not operations.TokenState.VALID:
        return _link_not_usable(state)
    row = operations.peek_token(db.session, token, TokenPurpose.PASSWORD_RESET)
    form = NewPasswordForm(row.user)
    if form.validate_on_submit():
        user = operations.reset_password(db.session, token, form.password.data,
                                         ip=client_address())
        if user is None:  # used by another request a moment ago
            db.session.rollback()
            return _link_not_usable(operations.TokenState.USED)
        db.session.commit()
        # Whoever was signed in in this browser is signed out with the old password.
        session.clear()
        flash("Your password has been changed. Sign in with your new password.", "success")
        return redirect(url_for("accounts.login"))
    status = 422 if form.errors else 200
    return render_template("accounts/auth/reset.html", form=form, user=row.user,
                           hint=PASSWORD_HINT), status


# --- The signed-in user's own account --------------------------------------------------------

@bp.get("/account")
@login_required
def account():
    """Who is signed in, with the way to change the password and see sessions."""
    return render_template("accounts/auth/account.html")


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password; other browsers are signed out, this one stays signed in."""
    user = current_user._get_current_object()
    form = ChangePasswordForm(user)
    rules = operations.ThrottleRules.from_config(current_app.config)
    if request.method == "POST":
        wait = operations.minutes_to_wait(db.session, user.email, client_address(), rules)
        if wait:
            unit = "minute" if wait == 1 else "minutes"
            error = f"Too many wrong passwords. Try again in {wait} {unit}."
            return render_template("accounts/auth/change_password.html", form=form,
                                   hint=PASSWORD_HINT, error=error), 429
    if form.validate_on_submit():
        token = operations.change_password(
            db.session, user, form.password.data, ip=client_address(), user_agent=_user_agent()
        )
        db.session.commit()
        session[SESSION_KEY] = token
        flash("Your password has been changed. You have been signed out everywhere else.",
              "success")
        return redirect(url_for("accounts.account"))
    if form.current_password.errors and form.current_password.data:
        operations.note_wrong_password(db.session, user, ip=client_address())
        db.session.commit()
    status = 422 if form.errors else 200
    return render_template("accounts/auth/change_password.html", form=form,
                           hint=PASSWORD_HINT, error=None), status


def _session_limits() -> dict[str, timedelta]:
    config = current_app.config
    return {
        "idle": timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
        "lifetime": timedelta(hours=config["SESSION_MAX_HOURS"]),
    }


@bp.get("/account/sessions")
@login_required
def sessions():
    """Every browser signed in to this account, this one marked."""
    rows = operations.open_sessions(db.session, current_user, **_session_limits())
    return render_template("accounts/auth/sessions.html", rows=rows, this=current_session())


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):
    """Sign one of the user's own browsers out; another user's session answers 404."""
    row = db.session.scalar(
        select(UserSession).where(UserSession.id == session_id,
                                  UserSession.user_id == current_user.id,
                                  UserSession.ended_at.is_(None))
    )
    if row is None:
        abort(404)
    this = current_session()
    operations.end_session(db.session, row, "ended by owner", current_user)
    db.session.commit()
    if this is not None and row.id == this.id:
        session.clear()
        flash("You have signed out of this browser.", "success")
        return redirect(url_for("accounts.login"))
    flash("That session has ended; the browser is signed out.", "success")
    return redirect(url_for("accounts.sessions"))


@bp.post("/account/sessions/end-others")
@login_required
def end_other_sessions():
    """Sign out every browser but this one."""
    ended = operations.end_other_sessions(db.session, current_user, current_session(),
                                          ip=client_address())
    db.session.commit()
    noun = "session" if ended == 1 else "sessions"
    flash(f"Signed out everywhere else ({ended} {noun} ended).", "success")
    return redirect(url_for("accounts.sessions"))


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
            ("Linux", "Linux"))


@bp.app_template_filter("browser")
def browser_label(user_agent: str | None) -> str:
    """"Firefox on Linux" from a User-Agent header; the raw header when it is not recognised."""
    if not user_agent:
        return "Unknown browser"
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if browser is None:
        return user_agent[:80]
    return f"{browser} on {system}" if system else browser
