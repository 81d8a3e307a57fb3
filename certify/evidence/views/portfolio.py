"""The candidate's portfolio: enrolments with coverage, a unit's checklist, evidence items,
their files and their mappings to criteria.

Candidates change their own evidence; staff of the provider may read it.
Anything else (another candidate's item, another provider's enrolment) is 404,
so that it is not even confirmed to exist.  Adding files answers JSON to the
page's script (``Accept: application/json``) and redirects a plain form post.
"""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from certify.accounts.models import Enrolment, Provider
from certify.accounts.sessions import current_provider
from certify.core.filetypes import PREVIEWABLE
from certify.core.web import paginate, requested_page
from certify.evidence import bp, queries, uploads
from certify.evidence.downloads import blob_response
from certify.evidence.forms.portfolio import (
    ConfirmForm,
    FilesForm,
    ItemForm,
    MappingChoice,
    MappingForm,
    NewItemForm,
    chosen_files,
)
from certify.evidence.models import EvidenceFile, EvidenceItem
from certify.evidence.operations import items as operations
from certify.evidence.permissions import (
    can_edit_item,
    can_keep_portfolio,
    can_map_item,
    can_submit,
    can_view_enrolment_evidence,
    can_view_item,
)
from certify.extensions import db
from certify.units.views import SECTION_HEADINGS, localise

# --- Who may see what ---------------------------------------------------------------------------


def _portfolio_provider() -> Provider:
    """The provider acted for, when the user is a candidate there; else 403."""
    provider = current_provider()
    if provider is None or not can_keep_portfolio(current_user, provider):
        abort(403)
    return provider


def _staff_here(provider_id: int) -> bool:
    provider = current_provider()
    return provider is not None and provider.id == provider_id


def _check_item_visible(item: EvidenceItem | None) -> EvidenceItem:
    if item is None:
        abort(404)
    if item.candidate_id == current_user.id:
        return item
    # Staff read evidence of the provider they act for, and of no other.
    if not _staff_here(item.provider_id) or not can_view_item(current_user, item):
        abort(404)
    return item


def _visible_item(item_id: int) -> EvidenceItem:
    return _check_item_visible(queries.find_item(db.session, item_id))


def _own_item(item_id: int) -> EvidenceItem:
    """The user's own item (staff who may read it get 403: they cannot change it)."""
    item = _visible_item(item_id)
    if item.candidate_id != current_user.id:
        abort(403)
    return item


def _visible_enrolment(enrolment_id: int) -> Enrolment:
    enrolment = queries.find_enrolment(db.session, enrolment_id)
    if enrolment is None:
        abort(404)
    if enrolment.candidate_id == current_user.id:
        return enrolment
    if (not _staff_here(enrolment.provider_id)
            or not can_view_enrolment_evidence(current_user, enrolment)):
        abort(404)
    return enrolment


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > 0


def _locked(item: EvidenceItem):
    """The refusal for a change to a submitted item: 409, as JSON or as a page."""
    message = str(operations.ItemLocked(item))
    if _wants_json():
        return jsonify(ok=False, error=message), 409
    return render_template("evidence/locked.html", item=item, message=message), 409


def _put_error(form, error: operations.ItemError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and isinstance(getattr(field, "errors", None), list):
        field.errors.append(str(error))
    else:
        form.form_errors.append(str(error))


def _upload_message(filename: str | None, error: Exception) -> str:
    """The upload pipeline's message, naming the file when the message does not already."""
    message = str(error)
    name = uploads.display_name_for(filename or "")
    return message if name and name in message else f"{name}: {message}"


def _file_json(evidence_file: EvidenceFile) -> dict[str, Any]:
    blob = evidence_file.blob
    return {
        "id": evidence_file.id,
        "name": evidence_file.display_name,
        "size": blob.size,
        "media_type": blob.media_type,
        "sha256": blob.sha256,
        "download_url": url_for("evidence.download_file", file_id=evidence_file.id),
        "preview_url": url_for("evidence.preview_file", file_id=evidence_file.id)
        if blob.media_type in PREVIEWABLE else None,
    }


def _item_fields(form: ItemForm) -> dict[str, Any]:
    return {"title": form.title.data, "kind": form.kind.data,
            "description": form.description.data or "", "url": form.url.data or None}


# --- Pages --------------------------------------------------------------------------------------


@bp.get("/evidence")
@login_required
def portfolio():
    """The candidate's enrolments here, each with its coverage, and their evidence items."""
    provider = _portfolio_provider()
    enrolments = queries.enrolments_with_coverage(db.session, current_user, provider)
    page = paginate(db.session, queries.items_query(current_user, provider), requested_page(),
                    current_app.config["PAGE_SIZE"])
    counts = queries.item_counts(db.session, page.items)
    return render_template("evidence/portfolio.html", provider=provider, enrolments=enrolments,
                           page=page, counts=counts)


@bp.get("/evidence/enrolments/<int:enrolment_id>")
@login_required
def unit(enrolment_id: int):
    """An enrolled unit's elements and criteria as a checklist: the evidence mapped to each."""
    enrolment = _visible_enrolment(enrolment_id)
    evidence = queries.unit_evidence(db.session, enrolment)
    own = enrolment.candidate_id == current_user.id
    views = current_app.view_functions
    submit_url = attempts_url = None
    if "evidence.submit" in views and can_submit(current_user, enrolment):
        submit_url = url_for("evidence.submit", enrolment_id=enrolment.id)
    if "evidence.attempts" in views:
        attempts_url = url_for("evidence.attempts", enrolment_id=enrolment.id)
    return render_template(
        "evidence/unit.html", enrolment=enrolment, unit=evidence.unit,
        view=localise(evidence.unit, evidence.unit.language), evidence=evidence, own=own,
        submit_url=submit_url, attempts_url=attempts_url,
    )


@bp.route("/evidence/items/new", methods=["GET", "POST"])
@login_required
def new_item():
    """Add an evidence item, with its files in the same plain form post.

    The page's script posts the text alone (asking for JSON), then sends each
    file to the item's files address with its own progress bar.
    """
    provider = _portfolio_provider()
    try:
        form = NewItemForm()
        valid = form.validate_on_submit()
    except RequestEntityTooLarge:
        return _too_large()
    status = 200
    if valid:
        upload = None
        try:
            item = operations.create_item(db.session, current_user, provider,
                                          actor=current_user, **_item_fields(form))
            for upload in chosen_files(form.files):
                operations.add_file(db.session, item, upload.stream, upload.filename,
                                    actor=current_user)
        except operations.ItemError as error:
            db.session.rollback()
            _put_error(form, error)
        except uploads.UploadError as error:
            db.session.rollback()
            # Nothing is kept, not even the item: the person sends the form again.
            form.files.errors.append(_upload_message(upload.filename, error))
            status = 413 if isinstance(error, uploads.UploadTooLarge) else 422
        else:
            db.session.commit()
            if _wants_json():
                return jsonify(ok=True, item={
                    "id": item.id,
                    "url": url_for("evidence.item", item_id=item.id),
                    "files_url": url_for("evidence.add_files", item_id=item.id),
                }), 201
            count = len(item.files)
            flash(f"“{item.title}” is added to your portfolio"
                  + (f" with {count} file{'s' if count != 1 else ''}." if count else ".")
                  + " Now map it to the criteria it shows.", "success")
            return redirect(url_for("evidence.item", item_id=item.id))
    if form.errors and status == 200:
        status = 422
    if _wants_json() and form.errors:
        return jsonify(ok=False, error=_first_error(form), errors=form.errors), status
    return render_template("evidence/item_form.html", form=form, item=None,
                           provider=provider), status


def _first_error(form) -> str:
    for errors in form.errors.values():
        for error in errors:
            return str(error)
    return "The form has a problem."


def _too_large():
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    size = f" (at most {limit // (1024 * 1024)} MB in one request)" if limit else ""
    message = f"The upload is larger than this site accepts{size}."
    if _wants_json():
        return jsonify(ok=False, error=message), 413
    abort(413)


@bp.get("/evidence/items/<int:item_id>")
@login_required
def item(item_id: int):
    """One item: its text, its files (size, type, hash, download and preview) and mappings."""
    found = _visible_item(item_id)
    own = found.candidate_id == current_user.id
    return render_template(
        "evidence/item.html", item=found, own=own, previewable=PREVIEWABLE,
        can_edit=can_edit_item(current_user, found), can_map=can_map_item(current_user, found),
        files_form=FilesForm(formdata=None) if can_edit_item(current_user, found) else None,
    )


@bp.route("/evidence/items/<int:item_id>/edit", methods=["GET", "POST"])
@login_required
def edit_item(item_id: int):
    """Change a draft item's title, type, description or link address."""
    found = _own_item(item_id)
    if found.is_locked:
        return _locked(found)
    form = ItemForm(obj=found)
    if form.validate_on_submit():
        try:
            changes = operations.update_item(db.session, found, actor=current_user,
                                             **_item_fields(form))
        except operations.ItemError as error:
            db.session.rollback()
            _put_error(form, error)
        else:
            db.session.commit()
            flash("Your changes are saved." if changes else "Nothing was changed.", "success")
            return redirect(url_for("evidence.item", item_id=found.id))
    status = 422 if form.errors else 200
    return render_template("evidence/item_form.html", form=form, item=found,
                           provider=found.provider), status


@bp.post("/evidence/items/<int:item_id>/files")
@login_required
def add_files(item_id: int):
    """Add files to a draft item: JSON for the page's script, a redirect for a plain post.

    Several files in one post are kept together or not at all.
    """
    found = _own_item(item_id)
    if found.is_locked:
        return _locked(found)
    try:
        form = FilesForm()
        valid = form.validate_on_submit()
    except RequestEntityTooLarge:
        return _too_large()
    status = 422
    if valid:
        added: list[EvidenceFile] = []
        upload = None
        try:
            for upload in chosen_files(form.files):
                added.append(operations.add_file(db.session, found, upload.stream,
                                                 upload.filename, actor=current_user))
        except operations.ItemError as error:
            db.session.rollback()
            form.files.errors.append(str(error))
        except uploads.UploadError as error:
            db.session.rollback()
            form.files.errors.append(_upload_message(upload.filename, error))
            status = 413 if isinstance(error, uploads.UploadTooLarge) else 422
        else:
            db.session.commit()
            if _wants_json():
                files = [_file_json(f) for f in added]
                return jsonify(ok=True, file=files[0], files=files), 201
            names = ", ".join(f"“{f.display_name}”" for f in added)
            flash(f"Added {names}.", "success")
            return redirect(url_for("evidence.item", item_id=found.id))
    if _wants_json():
        return jsonify(ok=False, error=_first_error(form)), status
    found = queries.find_item(db.session, item_id)
    return render_template(
        "evidence/item.html", item=found, own=True, previewable=PREVIEWABLE,
        can_edit=True, can_map=True, files_form=form,
    ), status


@bp.route("/evidence/items/<int:item_id>/files/<int:file_id>/delete", methods=["GET", "POST"])
@login_required
def delete_file(item_id: int, file_id: int):
    """Ask, then take one file off a draft item."""
    found = _own_item(item_id)
    evidence_file = next((f for f in found.files if f.id == file_id), None)
    if evidence_file is None:
        abort(404)
    if found.is_locked:
        return _locked(found)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = evidence_file.display_name
        try:
            operations.remove_file(db.session, evidence_file, actor=current_user)
        except operations.ItemLocked:
            db.session.rollback()
            return _locked(found)
        db.session.commit()
        flash(f"“{name}” is removed from “{found.title}”.", "success")
        return redirect(url_for("evidence.item", item_id=found.id))
    return render_template("evidence/delete_file.html", item=found, file=evidence_file,
                           form=form)


@bp.route("/evidence/items/<int:item_id>/delete", methods=["GET", "POST"])
@login_required
def delete_item(item_id: int):
    """Ask, then delete a draft item with its files and mappings."""
    found = _own_item(item_id)
    if found.is_locked:
        return _locked(found)
    form = ConfirmForm()
    if form.validate_on_submit():
        title = found.title
        try:
            operations.delete_item(db.session, found, actor=current_user)
        except operations.ItemLocked:
            db.session.rollback()
            return _locked(found)
        db.session.commit()
        flash(f"“{title}” is deleted.", "success")
        return redirect(url_for("evidence.portfolio"))
    return render_template("evidence/delete_item.html", item=found, form=form)


def _serve(file_id: int, preview: bool):
    evidence_file = queries.find_file(db.session, file_id)
    if evidence_file is None:
        abort(404)
    _check_item_visible(evidence_file.item)
    if preview and evidence_file.blob.media_type not in PREVIEWABLE:
        abort(404)
    return blob_response(evidence_file.blob, evidence_file.display_name, preview=preview)


@bp.get("/evidence/files/<int:file_id>/download")
@login_required
def download_file(file_id: int):
    """The file's bytes as an attachment, for whoever may see its item."""
    return _serve(file_id, preview=False)


@bp.get("/evidence/files/<int:file_id>/preview")
@login_required
def preview_file(file_id: int):
    """An image or PDF shown in the browser, for whoever may see its item."""
    return _serve(file_id, preview=True)


# --- Mapping ------------------------------------------------------------------------------------


def _choice_groups(item: EvidenceItem) -> list[tuple[Enrolment, list[tuple[str, list]]]]:
    """Every criterion of every enrolment the item may map to, as the catalogue orders them:
    each element's criteria, then the criteria outside elements by kind."""
    existing = {(m.enrolment_id, m.criterion_id): m for m in item.mappings}
    result = []
    for enrolment in queries.mapping_choices(db.session, item):
        unit = enrolment.unit
        by_element: dict[int | None, list] = {}
        for criterion in unit.criteria:
            by_element.setdefault(criterion.element_id, []).append(criterion)
        sections: list[tuple[str, list]] = [
            (f"{element.ref} {element.title}".strip(), by_element.get(element.id, []))
            for element in unit.elements
        ]
        by_kind: dict[Any, list] = {}
        for criterion in by_element.get(None, []):
            by_kind.setdefault(criterion.kind, []).append(criterion)
        sections += [(SECTION_HEADINGS[kind], members) for kind, members in by_kind.items()]
        groups = []
        for heading, criteria in sections:
            choices = []
            for criterion in criteria:
                mapping = existing.get((enrolment.id, criterion.id))
                choices.append(MappingChoice(enrolment, criterion, checked=mapping is not None,
                                             explanation=mapping.explanation if mapping else ""))
            if choices:
                groups.append((heading, choices))
        result.append((enrolment, groups))
    return result


@bp.route("/evidence/items/<int:item_id>/mappings", methods=["GET", "POST"])
@login_required
def item_mappings(item_id: int):
    """Choose the criteria, in any unit the candidate is enrolled on here, that an item shows.

    Allowed for submitted items too: what was submitted stays frozen in its attempt.
    """
    found = _visible_item(item_id)
    if not can_map_item(current_user, found):
        abort(403)
    groups = _choice_groups(found)
    choices = [choice for _, sections in groups for _, members in sections
               for choice in members]
    form = MappingForm()
    status = 200
    if form.validate_on_submit():
        if form.read(choices):
            wanted = [(c.enrolment, c.criterion, c.explanation) for c in choices if c.checked]
            try:
                changes = operations.set_mappings(db.session, found, wanted, current_user)
            except operations.MappingError as error:
                db.session.rollback()
                form.form_errors.append(str(error))
            else:
                db.session.commit()
                units = len({c.enrolment.id for c in choices if c.checked})
                flash(
                    (f"“{found.title}” is mapped to {len(wanted)} "
                     f"criteri{'on' if len(wanted) == 1 else 'a'}"
                     f"{f' in {units} units' if units > 1 else ''}."
                     if wanted else f"“{found.title}” is not mapped to any criterion now.")
                    if changes.any else "Nothing was changed.",
                    "success",
                )
                return redirect(url_for("evidence.item", item_id=found.id))
        status = 422
    elif form.errors:
        status = 422
    errors = [c for c in choices if c.error]
    return render_template("evidence/mappings.html", item=found, groups=groups, form=form,
                           errors=errors), status
