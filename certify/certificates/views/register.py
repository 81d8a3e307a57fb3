"""The provider's register of certificates, one certificate's page, revoking and reissuing,
and the certificate's files (PDF and credential) served from storage.

The register lists every certificate the provider ever issued, revoked and
superseded ones included, searchable and filtered; the same filtered list goes
out as CSV or as one ZIP of PDFs.  A certificate's PDF is the stored file,
checked against its SHA-256 and sent as an attachment; it is never rendered
again after issue.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from certify.accounts.models import Provider, User
from certify.accounts.sessions import current_provider
from certify.assessors.reports import write_csv
from certify.certificates import bp, permissions
from certify.certificates.errors import IssueRefused
from certify.certificates.forms.register import RegisterFilterForm, ReissueForm, RevokeForm
from certify.certificates.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    CertificateUnit,
)
from certify.certificates.operations import revocation
from certify.core.storage import StorageError, current_storage
from certify.core.types import utcnow
from certify.core.web import paginate, requested_page
from certify.evidence.downloads import DOWNLOAD_POLICY
from certify.extensions import db
from certify.units.models import Unit

# A ZIP of more PDFs than this takes too long to build in one request: filter first.
ZIP_MAX = 2000
# Rows read from the database at a time while the CSV streams.
CSV_BATCH = 500
CSV_HEADER = (
    "Number", "Kind", "Candidate (as printed)", "Candidate email", "Qualification",
    "Qualification title", "Units", "Total credits", "Achieved on", "Issued on", "Expires on",
    "Standing", "Revoked on", "Revocation reason", "Replaces", "Superseded by",
    "Reissue reason", "PDF SHA-256", "Verification address",
)
# The registered JWT claims a VC-JWT adds around the credential (OB 3.0 JWT proof format).
JWT_CLAIMS = ("iss", "jti", "sub", "nbf", "exp")


def today() -> date:
    return utcnow().date()


# Reading the register ---------------------------------------------------------------------------


def standing_condition(standing: str, on: date):
    """SQL for "the certificate's standing() is ``standing`` on the day ``on``"."""
    unexpired = or_(Certificate.expires_on.is_(None), Certificate.expires_on >= on)
    return {
        "valid": (Certificate.status == CertificateStatus.VALID) & unexpired,
        "expired": (Certificate.status == CertificateStatus.VALID)
        & (Certificate.expires_on < on),
        "revoked": Certificate.status == CertificateStatus.REVOKED,
        "superseded": Certificate.status == CertificateStatus.SUPERSEDED,
    }[standing]


def _search_condition(term: str):
    """The term in the number, the printed or current name, the email or a unit's code."""
    lowered = term.lower()
    printed_name = Certificate.snapshot[("candidate", "name")].as_string()
    number = re.sub(r"\s+", "", term).upper()
    return or_(
        Certificate.number.contains(number, autoescape=True),
        func.lower(printed_name).contains(lowered, autoescape=True),
        Certificate.candidate_id.in_(select(User.id).where(or_(
            func.lower(User.name).contains(lowered, autoescape=True),
            User.email.contains(lowered, autoescape=True)))),
        exists().where(CertificateUnit.certificate_id == Certificate.id,
                       CertificateUnit.unit_id == Unit.id,
                       func.upper(Unit.code).contains(term.upper(), autoescape=True)),
    )


def register_conditions(provider_id: int, *, term: str | None = None,
                        standing: str | None = None, kind: str | None = None,
                        issued_from: date | None = None, issued_to: date | None = None,
                        on: date | None = None) -> list[Any]:
    """What selects the certificates of the register with these filters (None: any)."""
    conditions: list[Any] = [Certificate.provider_id == provider_id]
    if term:
        conditions.append(_search_condition(term))
    if standing:
        conditions.append(standing_condition(standing, on or today()))
    if kind:
        conditions.append(Certificate.kind == CertificateKind(kind))
    # Issue dates are days in UTC, as printed on the certificate.
    if issued_from:
        conditions.append(Certificate.issued_at >= datetime.combine(issued_from, time(),
                                                                     tzinfo=UTC))
    if issued_to:
        conditions.append(Certificate.issued_at < datetime.combine(
            issued_to + timedelta(days=1), time(), tzinfo=UTC))
    return conditions


def newest_first(query: Select) -> Select:
    return query.order_by(Certificate.issued_at.desc(), Certificate.id.desc())


def _filtered_conditions(provider: Provider, filters: RegisterFilterForm) -> list[Any]:
    return register_conditions(
        provider.id, term=filters.value("q"), standing=filters.value("status"),
        kind=filters.value("kind"), issued_from=filters.value("issued_from"),
        issued_to=filters.value("issued_to"))


def _register_provider() -> Provider:
    """The provider the user acts for, when they keep its register; 404 for anyone else, so
    that the page is not confirmed to exist."""
    provider = current_provider()
    if provider is None or not permissions.can_manage_certificates(current_user, provider):
        abort(404)
    return provider


def _filters() -> RegisterFilterForm:
    filters = RegisterFilterForm(request.args)
    filters.validate()
    return filters


def _register_page(provider: Provider, filters: RegisterFilterForm, *,
                   refusal: str | None = None, status: int = 200):
    query = newest_first(
        select(Certificate).where(*_filtered_conditions(provider, filters))
        .options(joinedload(Certificate.superseded_by)))
    page = paginate(db.session, query, requested_page(), current_app.config["PAGE_SIZE"])
    if filters.errors and status == 200:
        status = 422
    return render_template("certificates/register.html", provider=provider, page=page,
                           filters=filters, refusal=refusal, zip_max=ZIP_MAX,
                           today=today()), status


@bp.get("/certificates")
@login_required
def register():
    """Provider admins: every certificate the provider issued, newest first, searchable by
    number, name, email or unit code and filtered by standing, kind and issue date."""
    provider = _register_provider()
    return _register_page(provider, _filters())


def _refuse_bad_filters(provider: Provider, filters: RegisterFilterForm):
    """The register page naming the bad filters: an export never leaves one out silently."""
    return _register_page(provider, filters, refusal=(
        "Nothing was downloaded: correct the filters named above first."), status=422)


def _csv_row(certificate: Certificate, email: str, superseded_by: str | None,
             on: date) -> list[Any]:
    # Read with .get(): a snapshot states only what the certificate printed.
    snapshot = certificate.snapshot
    qualification = snapshot.get("qualification") or {}
    return [
        certificate.number, snapshot.get("kind_label") or certificate.kind.label,
        (snapshot.get("candidate") or {}).get("name", ""), email,
        qualification.get("code", ""), qualification.get("title", ""),
        "; ".join(unit.get("code", "") for unit in snapshot.get("units") or []),
        snapshot.get("total_credits", ""), snapshot.get("achieved_on", ""),
        snapshot.get("issued_on") or certificate.issued_at.date().isoformat(),
        snapshot.get("expires_on") or "", certificate.standing(on),
        certificate.revoked_at.date().isoformat() if certificate.revoked_at else "",
        certificate.revocation_reason or "", snapshot.get("replaces") or "",
        superseded_by or "", certificate.reissue_reason or "", certificate.pdf_sha256,
        snapshot.get("verification_url", ""),
    ]


@bp.get("/certificates/export.csv")
@login_required
def export_csv():
    """The register with the same search and filters as a CSV file, streamed."""
    provider = _register_provider()
    filters = _filters()
    if filters.errors:
        return _refuse_bad_filters(provider, filters)
    newer = aliased(Certificate)
    query = newest_first(
        select(Certificate, User.email, newer.number)
        .join(User, User.id == Certificate.candidate_id)
        .outerjoin(newer, newer.id == Certificate.superseded_by_id)
        .where(*_filtered_conditions(provider, filters)))
    on = today()

    def lines() -> Iterator[str]:
        # write_csv makes each batch safe for spreadsheets; every batch repeats the header,
        # which is cut off all but the first time.
        header = write_csv(CSV_HEADER, [])
        yield header
        batch: list[list[Any]] = []
        rows = db.session.execute(query.execution_options(yield_per=CSV_BATCH))
        for certificate, email, superseded_by in rows:
            batch.append(_csv_row(certificate, email, superseded_by, on))
            if len(batch) == CSV_BATCH:
                yield write_csv(CSV_HEADER, batch)[len(header):]
                batch = []
        if batch:
            yield write_csv(CSV_HEADER, batch)[len(header):]

    filename = f"certificates-{provider.slug}-{on.isoformat()}.csv"
    return Response(stream_with_context(lines()), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, no-store",
    })


def _refuse_to_send(title: str, message: str) -> Response:
    return Response(render_template("core/error.html", code=500, title=title,
                                    message=message), status=500)


def _attachment(file: IO[bytes], name: str, mimetype: str, size: int) -> Response:
    """``file`` sent as a download called ``name``: never shown as a page."""
    response = send_file(file, mimetype=mimetype, as_attachment=True, download_name=name,
                         conditional=False, etag=False, max_age=0)
    response.content_length = size
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/certificates/download.zip")
@login_required
def download_zip():
    """The PDFs of the register with the same search and filters, as one ZIP file.

    The archive is written to a temporary file one stored PDF at a time, each checked
    against its SHA-256 as it is copied; a PDF that fails the check stops the download
    with an error page rather than putting a changed file in the archive.
    """
    provider = _register_provider()
    filters = _filters()
    if filters.errors:
        return _refuse_bad_filters(provider, filters)
    rows = db.session.execute(newest_first(
        select(Certificate.number, Certificate.pdf_key, Certificate.issued_at)
        .where(*_filtered_conditions(provider, filters))).limit(ZIP_MAX + 1)).all()
    if len(rows) > ZIP_MAX:
        return _register_page(provider, filters, refusal=(
            f"More than {ZIP_MAX:,} certificates match, too many for one download. Narrow "
            "the list (for example by issue dates or status) and download each part."),
            status=422)
    if not rows:
        return _register_page(provider, filters, refusal=(
            "No certificate matches these filters, so there is nothing to download."),
            status=422)
    storage = current_storage()
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - send_file closes it after sending
    number = ""
    try:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as archive:
            for number, key, issued_at in rows:
                member = zipfile.ZipInfo(f"{number}.pdf", date_time=issued_at.timetuple()[:6])
                with archive.open(member, "w") as out:
                    for chunk in storage.verified_chunks(key):
                        out.write(chunk)
    except StorageError as error:
        spool.close()
        current_app.logger.error("register ZIP of %s refused: %s (%s)", provider.slug, error,
                                 number)
        return _refuse_to_send("The ZIP could not be made", (
            f"The stored PDF of {number} does not match the fingerprint recorded when it was "
            "issued (or is missing), so no ZIP was sent. The problem has been logged; "
            "download the other certificates by filtering it out, and ask for the file "
            "store to be checked."))
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)
    filename = f"certificates-{provider.slug}-{today().isoformat()}.zip"
    return _attachment(spool, filename, "application/zip", size)


# One certificate --------------------------------------------------------------------------------


def _certificate(certificate_id: int) -> Certificate:
    """The certificate, when the user may see it (its provider's admins and its holder);
    404 for anyone else, so that it is not confirmed to exist."""
    certificate = db.session.scalar(
        select(Certificate)
        .options(joinedload(Certificate.provider), joinedload(Certificate.issued_by),
                 joinedload(Certificate.revoked_by), joinedload(Certificate.replaces),
                 joinedload(Certificate.superseded_by))
        .where(Certificate.id == certificate_id))
    if certificate is None or not permissions.can_view_certificate(current_user, certificate):
        abort(404)
    return certificate


def _managed_certificate(certificate_id: int) -> Certificate:
    """The certificate, when the user keeps its provider's register (else 404)."""
    certificate = _certificate(certificate_id)
    if not permissions.can_manage_certificates(current_user, certificate.provider):
        abort(404)
    return certificate


def _detail_page(certificate: Certificate, *, revoke_form: RevokeForm | None = None,
                 reissue_form: ReissueForm | None = None, refusal: str | None = None,
                 status: int = 200):
    if reissue_form is None:
        reissue_form = ReissueForm(
            formdata=None, name=(certificate.snapshot.get("candidate") or {}).get("name", ""))
    return render_template(
        "certificates/detail.html", certificate=certificate, snapshot=certificate.snapshot,
        standing=certificate.standing(), today=today(),
        may_manage=permissions.can_manage_certificates(current_user, certificate.provider),
        may_revoke=permissions.can_revoke(current_user, certificate),
        may_reissue=permissions.can_reissue(current_user, certificate),
        revoke_form=revoke_form or RevokeForm(formdata=None), reissue_form=reissue_form,
        refusal=refusal,
    ), status


@bp.get("/certificates/<int:certificate_id>")
@login_required
def detail(certificate_id: int):
    """A certificate as issued (its frozen content), its standing and history, its files,
    and for the provider's admins the forms to revoke or reissue it."""
    return _detail_page(_certificate(certificate_id))


def _refused(certificate_id: int, form, error: IssueRefused, which: str):
    """The certificate's page again, with the operation's refusal on the field it names."""
    db.session.rollback()
    certificate = _certificate(certificate_id)
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, error.message]
        refusal = None
    else:
        refusal = error.message
    forms = {"revoke_form": form} if which == "revoke" else {"reissue_form": form}
    return _detail_page(certificate, refusal=refusal, status=409 if refusal else 422,
                        **forms)


@bp.post("/certificates/<int:certificate_id>/revoke")
@login_required
def revoke(certificate_id: int):
    """Revoke a certificate with a reason, in two steps: the reason is posted first and a
    confirmation page shows it; posting again from there revokes."""
    certificate = _managed_certificate(certificate_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        return _detail_page(certificate, revoke_form=form, status=422)
    if not form.is_confirmed:
        return render_template("certificates/revoke_confirm.html", certificate=certificate,
                               form=form)
    number = certificate.number
    try:
        revocation.revoke_certificate(db.session, certificate, reason=form.reason.data,
                                      actor=current_user)
    except IssueRefused as error:
        return _refused(certificate_id, form, error, "revoke")
    db.session.commit()
    flash(f"{number} is revoked. Anyone who verifies it now sees that it was revoked, and "
          "why.", "success")
    return redirect(url_for("certificates.detail", certificate_id=certificate_id), 303)


@bp.post("/certificates/<int:certificate_id>/reissue")
@login_required
def reissue(certificate_id: int):
    """Issue a new certificate in place of this one (a corrected name, or renewing an
    expired qualification): a new number; this one becomes superseded and points to it."""
    certificate = _managed_certificate(certificate_id)
    form = ReissueForm()
    if not form.validate_on_submit():
        return _detail_page(certificate, reissue_form=form, status=422)
    old_number = certificate.number
    try:
        new = revocation.reissue_certificate(db.session, certificate, reason=form.reason.data,
                                             actor=current_user, name=form.name.data)
    except IssueRefused as error:
        return _refused(certificate_id, form, error, "reissue")
    new_id, new_number = new.id, new.number
    db.session.commit()
    flash(f"{old_number} was reissued as {new_number}; {old_number} is now marked superseded "
          f"and points to {new_number}.", "success")
    return redirect(url_for("certificates.detail", certificate_id=new_id), 303)


# The certificate's files ------------------------------------------------------------------------


@bp.get("/certificates/<int:certificate_id>/pdf")
@login_required
def pdf(certificate_id: int):
    """The PDF as it was issued: the stored file, checked against its SHA-256, as a
    download.  Never rendered again."""
    certificate = _certificate(certificate_id)
    try:
        file = current_storage().open_verified(certificate.pdf_key)
    except StorageError as error:
        current_app.logger.error("refused to send the PDF of %s (sha256 %s): %s",
                                 certificate.number, certificate.pdf_sha256, error)
        return _refuse_to_send("This PDF cannot be sent", (
            f"The stored PDF of {certificate.number} does not match the fingerprint recorded "
            "when it was issued (or is missing), so it was not sent. The problem has been "
            "logged; please tell the provider."))
    return _attachment(file, f"{certificate.number}.pdf", "application/pdf",
                       certificate.pdf_size)


def decoded_credential(token: str) -> dict[str, Any]:
    """The credential a VC-JWT carries: its payload without the JWT's registered claims.

    The token is the one stored at issue, so it is read, not verified here (the
    verification page checks signatures).
    """
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError) as error:
        raise StorageError("the stored credential is not a readable VC-JWT") from error
    inner = claims.get("vc")
    if isinstance(inner, dict):
        return inner
    return {name: value for name, value in claims.items() if name not in JWT_CLAIMS}


@bp.get("/certificates/<int:certificate_id>/credential")
@login_required
def credential(certificate_id: int):
    """The signed credential (Open Badges 3.0, VC-JWT) as a download; ``?format=json`` gives
    the credential it carries as JSON, for wallets and people who read JSON."""
    certificate = _certificate(certificate_id)
    if request.args.get("format") == "json":
        try:
            data = json.dumps(decoded_credential(certificate.credential), ensure_ascii=False,
                              indent=2).encode()
        except StorageError as error:
            current_app.logger.error("credential of %s: %s", certificate.number, error)
            return _refuse_to_send("This credential cannot be sent", (
                f"The stored credential of {certificate.number} cannot be read. The problem "
                "has been logged; please tell the provider."))
        return _attachment(io.BytesIO(data), f"{certificate.number}.json",
                           "application/json", len(data))
    data = certificate.credential.encode("ascii")
    return _attachment(io.BytesIO(data), f"{certificate.number}.jwt", "application/vc+jwt",
                       len(data))


@bp.app_template_filter("standing_label")
def standing_label(standing: str) -> str:
    """A standing in words for a badge: "Valid", "Expired", "Revoked", "Superseded"."""
    return standing.capitalize()


__all__ = ["bp", "register_conditions", "standing_condition"]
