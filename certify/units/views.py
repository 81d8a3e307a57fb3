"""Catalogue pages: frameworks, the unit search and each unit, read-only and public."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

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

from certify.core.web import paginate, requested_page
from certify.extensions import db
from certify.units import bp, operations, queries, staging
from certify.units.forms import ImportCheckForm, ImportConfirmForm
from certify.units.importers import DocumentError
from certify.units.models import Criterion, CriterionKind, Unit, UnitStatus
from certify.units.permissions import can_import_standards, can_view_catalogue

__all__ = ["bp"]

# Names for the language switch (each language in its own words) and for the
# English interface.  Languages not listed show their code.
LANGUAGES: dict[str, tuple[str, str]] = {
    "en": ("English", "English"),
    "pl": ("Polski", "Polish"),
}

SECTION_HEADINGS = {
    CriterionKind.PERFORMANCE_REQUIREMENT: "Performance requirements",
    CriterionKind.ASSESSMENT_CRITERION: "Assessment criteria",
    CriterionKind.LEVEL_STATEMENT: "Level statements",
}


def _viewer() -> Any:
    return current_user


def _authorise(obj: Any) -> None:
    # 404, not 403: what a visitor may not see should not be confirmed to exist.
    if not can_view_catalogue(_viewer(), obj):
        abort(404)


@bp.app_template_global()
def unit_url(unit: Unit, **args: Any) -> str:
    """The address of ``unit``: the stable one while it is current, else its version's."""
    if unit.status == UnitStatus.CURRENT:
        return url_for("units.unit", framework_code=unit.framework.code, code=unit.code, **args)
    return url_for(
        "units.unit_version",
        framework_code=unit.framework.code,
        code=unit.code,
        version=unit.version,
        **args,
    )


@bp.app_template_global()
def language_name(code: str, native: bool = False) -> str:
    """``code``'s name in English, or in the language itself (``native``) for the switch."""
    names = LANGUAGES.get(code)
    return code if names is None else names[0 if native else 1]


@bp.get("/frameworks")
def frameworks():
    """Every framework with its kind, credit rule and number of current units."""
    _authorise(None)
    summaries = queries.framework_summaries(db.session)
    return render_template("units/frameworks.html", summaries=summaries)


@bp.get("/frameworks/<code>")
def framework(code: str):
    """One framework: its generic levels where known and its current units, a page at a time."""
    found = queries.find_framework(db.session, code)
    if found is None:
        abort(404)
    _authorise(found)
    page = paginate(
        db.session,
        queries.unit_search(framework_code=found.code),
        requested_page(),
        current_app.config["PAGE_SIZE"],
    )
    levels = [level for level in found.levels if level.name or level.essence]
    return render_template("units/framework.html", framework=found, levels=levels, page=page)


@bp.get("/units")
def search():
    """Search units by code or title, filter by framework, optionally with old versions."""
    _authorise(None)
    term = request.args.get("q", "").strip()
    framework_code = request.args.get("framework", "").strip()
    include_superseded = request.args.get("superseded") == "1"
    choices = queries.frameworks(db.session)
    page = paginate(
        db.session,
        queries.unit_search(term, framework_code or None, include_superseded),
        requested_page(),
        current_app.config["PAGE_SIZE"],
    )
    return render_template(
        "units/search.html",
        page=page,
        term=term,
        framework_code=framework_code,
        include_superseded=include_superseded,
        frameworks=choices,
    )


@bp.get("/units/<framework_code>/<code>")
def unit(framework_code: str, code: str):
    """The current version of a unit, with every criterion, in the chosen language."""
    return _unit_page(framework_code, code, None)


@bp.get("/units/<framework_code>/<code>/v<int:version>")
def unit_version(framework_code: str, code: str, version: int):
    """One version of a unit, current or superseded, with a link to what replaced it."""
    return _unit_page(framework_code, code, version)


def _unit_page(framework_code: str, code: str, version: int | None):
    found = queries.find_unit(db.session, code, version, framework_code)
    if not found:
        abort(404)
    shown = found[0]
    _authorise(shown)
    versions = queries.unit_versions(db.session, shown)
    successor = next((v for v in versions if v.id == shown.superseded_by_id), None)
    view = localise(shown, request.args.get("lang", ""))
    return render_template(
        "units/unit.html",
        unit=shown,
        view=view,
        versions=versions,
        successor=successor,
        framework_level=next(
            (level for level in shown.framework.levels if level.level == shown.level), None
        ),
    )


# What the unit page shows, in one language, with the language of each text so
# that screen readers pronounce it correctly.


@dataclass(frozen=True)
class Text:
    value: str
    lang: str


@dataclass
class CriterionGroup:
    """Consecutive criteria that share a lead-in ("Be able to:"), shown once before them."""

    lead_in: Text | None
    criteria: list[tuple[str, Text]]


@dataclass
class Section:
    """An element (6.2 and its requirements), or the criteria of one kind outside elements."""

    groups: list[CriterionGroup]
    ref: str | None = None
    title: Text | None = None
    kind: CriterionKind | None = None

    @property
    def heading(self) -> str:
        return SECTION_HEADINGS[self.kind] if self.kind else ""


@dataclass
class LocalisedUnit:
    language: str
    languages: list[str]
    title: Text
    description: Text | None
    guidance: list[Text]
    elements: list[Section] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)


def localise(unit: Unit, language: str) -> LocalisedUnit:
    """``unit``'s texts in ``language`` where translated, in its own language otherwise.

    An unknown language shows the unit's own text.  Reads only what
    ``queries.find_unit`` loaded, so it sends no queries.
    """
    translations = {t.language: t for t in unit.translations}
    own = unit.language
    if language not in translations:
        language = own

    def pick(original: str | None, translated: str | None) -> Text | None:
        if translated:
            return Text(translated, language)
        return Text(original, own) if original else None

    def translation(rows: list) -> Any:
        return next((row for row in rows if row.language == language), None)

    head = translations.get(language)
    guidance = pick(unit.guidance, head and head.guidance)

    def groups(criteria: list[Criterion]) -> list[CriterionGroup]:
        parts = []
        for criterion in criteria:
            row = translation(criterion.translations)
            parts.append(
                (
                    criterion.ref,
                    pick(criterion.text, row and row.text),
                    pick(criterion.lead_in, row and row.lead_in),
                )
            )
        return [
            CriterionGroup(lead_in, [(ref, text) for ref, text, _ in members])
            for lead_in, members in groupby(parts, key=lambda part: part[2])
        ]

    # Grouped here rather than through Element.criteria, which would load lazily per element.
    by_element: dict[int | None, list[Criterion]] = {}
    for criterion in unit.criteria:
        by_element.setdefault(criterion.element_id, []).append(criterion)
    by_kind: dict[CriterionKind, list[Criterion]] = {}
    for criterion in by_element.get(None, []):
        by_kind.setdefault(criterion.kind, []).append(criterion)

    return LocalisedUnit(
        language=language,
        languages=sorted({own, *translations}),
        title=pick(unit.title, head and head.title) or Text(unit.code, own),
        description=pick(unit.description, head and head.description),
        guidance=[Text(line, guidance.lang) for line in guidance.value.split("\n") if line]
        if guidance
        else [],
        elements=[
            Section(
                groups=groups(by_element.get(element.id, [])),
                ref=element.ref,
                title=pick(element.title, (row := translation(element.translations)) and row.title),
            )
            for element in unit.elements
        ],
        sections=[Section(groups=groups(members), kind=kind) for kind, members in by_kind.items()],
    )


# Importing documents through the browser: upload, see what each would change, confirm.

IMPORT_BATCHES = "import_batches"


@dataclass
class ImportPreview:
    name: str
    key: str | None = None
    report: operations.ImportReport | None = None
    error: str | None = None


def _authorise_import() -> None:
    if not can_import_standards(current_user):
        abort(404)


@bp.app_template_global("can_import_standards")
def _can_import_standards(user: Any) -> bool:
    return can_import_standards(user)


@bp.route("/units/import", methods=["GET", "POST"])
@login_required
def import_documents():
    """Upload standards documents and see what importing each would create or change."""
    _authorise_import()
    form = ImportCheckForm()
    if not form.validate_on_submit():
        status = 422 if form.errors else 200
        return render_template("units/import.html", form=form), status
    limit = current_app.config["MAX_IMPORT_MB"] * 1024 * 1024
    instance = current_app.instance_path
    previews = []
    for upload in request.files.getlist(form.documents.name):
        # The name is only ever shown; the bytes are stored under a random key.
        name = (upload.filename or "document").replace("\\", "/").rsplit("/", 1)[-1][:255]
        try:
            staged = staging.stage(instance, upload.stream, name, limit)
        except staging.TooLarge as error:
            previews.append(ImportPreview(name, error=str(error)))
            continue
        _, data = staging.load(instance, staged.key)
        try:
            report = operations.preview_file(db.session, data, name)
        except DocumentError as error:
            staging.discard(instance, staged.key)
            previews.append(ImportPreview(name, error=str(error.located(name))))
            continue
        previews.append(ImportPreview(name, key=staged.key, report=report))
    keys = [p.key for p in previews if p.key]
    confirm = None
    if keys:
        batch = secrets.token_hex(16)
        batches = dict(session.get(IMPORT_BATCHES, {}))
        batches[batch] = keys
        session[IMPORT_BATCHES] = dict(list(batches.items())[-5:])
        confirm = ImportConfirmForm(batch=batch)
    return render_template("units/import.html", form=ImportCheckForm(formdata=None),
                           previews=previews, confirm=confirm)


@bp.post("/units/import/confirm")
@login_required
def confirm_import():
    """Import the documents checked a moment ago, each whole or not at all."""
    _authorise_import()
    form = ImportConfirmForm()
    batches = dict(session.get(IMPORT_BATCHES, {}))
    keys = batches.pop(form.batch.data, None) if form.validate_on_submit() else None
    if not keys:
        flash("That check has expired or was already imported; upload the documents again.",
              "warning")
        return redirect(url_for("units.import_documents"))
    session[IMPORT_BATCHES] = batches
    instance = current_app.instance_path
    results = []
    for key in keys:
        loaded = staging.load(instance, key)
        if loaded is None:
            results.append(ImportPreview(key, error="the checked file is gone or was altered; "
                                                    "upload it again"))
            continue
        staged, data = loaded
        savepoint = db.session.begin_nested()
        try:
            report = operations.import_file(db.session, data, staged.name, actor=current_user)
            savepoint.commit()
            results.append(ImportPreview(staged.name, report=report))
        except DocumentError as error:
            savepoint.rollback()
            results.append(ImportPreview(staged.name, error=str(error.located(staged.name))))
    db.session.commit()
    for key in keys:
        staging.discard(instance, key)
    return render_template("units/import_done.html", results=results)
