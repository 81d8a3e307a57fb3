"""Certificate settings for provider admins: who signs, how long candidates may wait, the logo,
and the signing key (generated on first use, or uploaded from a certification authority)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from certify.accounts.models import Provider
from certify.accounts.sessions import current_provider
from certify.certificates import bp, keys, permissions
from certify.certificates.forms.settings import CertificateSettingsForm, SigningKeyForm
from certify.certificates.operations import settings as operations
from certify.extensions import db

# PEM keys and certificates are a few kilobytes; a chain of several certificates fits easily.
PEM_MAX_BYTES = 64 * 1024


def _managing_provider() -> Provider:
    provider = current_provider()
    if provider is None or not permissions.can_manage_certificates(current_user, provider):
        abort(403)
    return provider


def _page(provider: Provider, form: CertificateSettingsForm, key_form: SigningKeyForm,
          status: int = 200):
    signing = keys.provider_keys(db.session, provider)
    active = next((row for row in signing if row.retired_at is None), None)
    return render_template(
        "certificates/settings.html", provider=provider, form=form, key_form=key_form,
        active=active, earlier=[row for row in signing if row is not active],
        days_min=operations.DAYS_MIN, days_max=operations.DAYS_MAX,
    ), status


def _error_on(form: FlaskForm, field: str | None, message: str) -> None:
    if field is not None and field in form:
        form[field].errors = [*form[field].errors, message]
    else:
        form.form_errors.append(message)


@bp.route("/certificates/settings", methods=["GET", "POST"])
@login_required
def settings():
    """The signatory printed on new certificates, the days a candidate may wait before being
    flagged, the logo, and the signing keys."""
    provider = _managing_provider()
    form = CertificateSettingsForm(obj=provider)
    key_form = SigningKeyForm(formdata=None)
    if request.method == "GET":
        return _page(provider, form, key_form)
    if not form.validate_on_submit():
        return _page(provider, form, key_form, 422)
    try:
        operations.update_certificate_settings(
            db.session, provider, actor=current_user, signatory_name=form.signatory_name.data,
            signatory_title=form.signatory_title.data,
            certificate_days=form.certificate_days.data)
        upload = form.logo.data
        if upload is not None and upload.filename:
            operations.set_logo(db.session, provider, upload.stream, upload.filename,
                                actor=current_user)
        elif form.remove_logo.data:
            operations.remove_logo(db.session, provider, actor=current_user)
    except operations.SettingsRefused as refused:
        db.session.rollback()
        _error_on(form, refused.field, refused.message)
        return _page(provider, form, key_form, 422)
    db.session.commit()
    flash("The certificate settings are saved. Certificates issued before keep what they "
          "printed.", "success")
    return redirect(url_for("certificates.settings"), 303)


def _pem(upload) -> bytes:
    """The uploaded file's bytes, read no further than a PEM file can reasonably be."""
    return upload.stream.read(PEM_MAX_BYTES + 1)


@bp.post("/certificates/settings/key")
@login_required
def upload_key():
    """Replace the signing key with an uploaded RSA key and its X.509 certificate."""
    provider = _managing_provider()
    form = CertificateSettingsForm(formdata=None, obj=provider)
    key_form = SigningKeyForm()
    if not key_form.validate_on_submit():
        return _page(provider, form, key_form, 422)
    key_pem, certificate_pem = _pem(key_form.key.data), _pem(key_form.certificate.data)
    for name, data in (("key", key_pem), ("certificate", certificate_pem)):
        if len(data) > PEM_MAX_BYTES:
            _error_on(key_form, name, f"{operations.display_name(key_form[name].data.filename)} "
                                      f"is larger than {PEM_MAX_BYTES // 1024} KB; a PEM "
                                      "file is a few kilobytes.")
            return _page(provider, form, key_form, 422)
    try:
        row = keys.upload_signing_key(
            db.session, provider, key_pem=key_pem, certificate_pem=certificate_pem,
            key_password=key_form.key_password.data or None, actor=current_user)
    except keys.UnusableKey as refused:
        db.session.rollback()
        _error_on(key_form, refused.field, str(refused))
        return _page(provider, form, key_form, 422)
    kid = row.kid
    db.session.commit()
    flash(f"The uploaded key ({kid}) now signs new certificates. Certificates issued before "
          "stay valid: the earlier key stays published, so their signatures still verify.",
          "success")
    return redirect(url_for("certificates.settings"), 303)
