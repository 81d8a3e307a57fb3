"""Signing in and out."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from certify.accounts import bp
from certify.accounts.forms.auth import SignInForm
from certify.accounts.operations import auth as operations
from certify.accounts.sessions import SESSION_KEY, current_session, safe_next
from certify.extensions import db


def client_address() -> str:
    # Behind a proxy, ProxyFix (configured by the deployment) puts the client here.
    return (request.remote_addr or "unknown")[:45]


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("core.home"))
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        result = operations.sign_in(
            db.session,
            form.email.data,
            form.password.data,
            ip=client_address(),
            user_agent=request.user_agent.string,
            rules=operations.ThrottleRules.from_config(current_app.config),
        )
        db.session.commit()
        if result.token:
            # A fresh cookie at sign-in: nothing from before it carries over.
            session.clear()
            session.permanent = True
            session[SESSION_KEY] = result.token
            flash(f"Signed in as {result.user.email}.", "success")
            return redirect(safe_next(request.args.get("next")) or url_for("core.home"))
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
