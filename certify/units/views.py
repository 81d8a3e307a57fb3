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
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms.fields.choices import SelectChoice

from certify.accounts.models import Provider
from certify.accounts.sessions import current_provider
from certify.certificates.eligibility import achievements, standing
from certify.core.web import paginate, requested_page
from certify.extensions import db
from certify.units import award_titles, bp, operations, queries, staging
from certify.units.forms import (
    GROUP_EXAMPLE,
    ImportCheckForm,
    ImportConfirmForm,
    QualificationForm,
    QualificationRemoveForm,
    format_groups,
)
from certify.units.importers import DocumentError
from certify.units.models import (
    Criterion,
    CriterionKind,
    ElectiveGroup,
    Framework,
    Qualification,
    QualificationUnit,
    Unit,
    UnitStatus,
)
from certify.units.permissions import (
    can_import_standards,
    can_manage_qualification,
    can_manage_qualifications,
    can_view_catalogue,
)

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


# Qualifications: a provider admin's own qualifications, defined from the catalogue's units.


def _qualification_provider():
    """The provider acted for, when the user manages its qualifications; else 403."""
    provider = current_provider()
    if provider is None or not can_manage_qualifications(current_user, provider):
        abort(403)
    return provider


def _qualification_query():
    return select(Qualification).options(
        joinedload(Qualification.framework),
        selectinload(Qualification.members).joinedload(QualificationUnit.unit),
        selectinload(Qualification.groups).selectinload(ElectiveGroup.members)
        .joinedload(QualificationUnit.unit),
    )


def _visible_qualification(qualification_id: int) -> Qualification:
    """The qualification, when the user manages it; anything else is 404, so that
    another provider's qualification is not even confirmed to exist."""
    found = db.session.scalar(
        _qualification_query()
        .options(joinedload(Qualification.framework).selectinload(Framework.levels))
        .where(Qualification.id == qualification_id)
    )
    if found is None or not can_manage_qualification(current_user, found):
        abort(404)
    return found


@bp.app_template_global("can_manage_qualifications")
def _can_manage_qualifications(user: Any, provider: Any) -> bool:
    return can_manage_qualifications(user, provider)


@bp.get("/qualifications")
@login_required
def qualifications():
    """The current provider's qualifications, in use first, searchable by code or title."""
    provider = _qualification_provider()
    term = request.args.get("q", "").strip()[:200]
    query = (
        select(Qualification)
        .options(
            joinedload(Qualification.framework),
            selectinload(Qualification.members).joinedload(QualificationUnit.unit),
            selectinload(Qualification.groups),
        )
        .where(Qualification.provider_id == provider.id)
        .order_by(Qualification.withdrawn_at.is_not(None), Qualification.code)
    )
    if term:
        pattern = f"%{queries.escape_like(term)}%"
        query = query.where(or_(Qualification.code.ilike(pattern, escape="\\"),
                                Qualification.title.ilike(pattern, escape="\\")))
    page = paginate(db.session, query, requested_page(), current_app.config["PAGE_SIZE"])
    rows = [(q, operations.qualification_rules(q)) for q in page.items]
    return render_template("units/qualifications/list.html", page=page, rows=rows, term=term,
                           provider=provider)


def _framework_choices(form: QualificationForm) -> list[Framework]:
    frameworks = db.session.scalars(
        select(Framework).options(selectinload(Framework.levels)).order_by(Framework.code)
    ).all()
    form.framework.choices = [SelectChoice(f.id, f"{f.code}: {f.name}") for f in frameworks]
    return list(frameworks)


def _save_qualification(form: QualificationForm, frameworks: list[Framework], save) -> Any:
    """Check the submitted form and, when everything is right, ``save`` and commit.

    The operation runs even when the form has problems of its own (in a
    savepoint that is rolled back), so that every problem shows at once.
    Returns what ``save`` returned, or None when nothing was saved.
    """
    if not form.is_submitted():
        return None
    valid = form.validate()
    if form.csrf_token.errors:
        return None
    framework = next((f for f in frameworks if f.id == form.framework.data), None)
    savepoint = db.session.begin_nested()
    try:
        result = save(
            framework=framework, code=form.code.data or "", title=form.title.data or "",
            level=form.level.data, description=form.description.data,
            core_codes=form.core_list, groups=form.group_list(),
            min_credits=form.min_credits.data, min_credits_at_level=form.min_credits_at_level.data,
            at_level=form.at_level.data, validity_months=form.validity_months.data,
            actor=current_user,
        )
    except operations.QualificationInvalid as error:
        savepoint.rollback()
        form.add_problems(error.errors)
        return None
    if not valid:
        savepoint.rollback()
        return None
    savepoint.commit()
    db.session.commit()
    return result


@bp.route("/qualifications/new", methods=["GET", "POST"])
@login_required
def new_qualification():
    """Define a qualification: units, elective groups, credit rules and an award title."""
    provider = _qualification_provider()
    form = QualificationForm()
    frameworks = _framework_choices(form)
    if not form.is_submitted():
        form.framework.data = next((f.id for f in frameworks
                                    if award_titles.applies_hk_rules(f)), None)
    saved = _save_qualification(
        form, frameworks,
        lambda **values: operations.create_qualification(db.session, provider, **values),
    )
    if saved is not None:
        flash(f"{saved.code} {saved.title} is defined.", "success")
        return redirect(url_for("units.qualification", qualification_id=saved.id))
    status = 422 if form.errors else 200
    return render_template("units/qualifications/form.html", form=form, provider=provider,
                           qualification=None, certified=False,
                           group_example=GROUP_EXAMPLE), status


@bp.get("/qualifications/<int:qualification_id>")
@login_required
def qualification(qualification_id: int):
    """One qualification: its units, its rules in words, and who already meets them."""
    found = _visible_qualification(qualification_id)
    rules = operations.qualification_rules(found)
    provider = db.session.get(Provider, found.provider_id)
    preview = None
    if found.withdrawn_at is None:
        achieved = achievements(db.session, provider)
        standings = [standing(found, items) for items in achieved.values()]
        preview = {"met": sum(1 for s in standings if s.met),
                   "started": sum(1 for s in standings if s.started and not s.met)}
    return render_template(
        "units/qualifications/detail.html", qualification=found, rules=rules,
        provider=provider, preview=preview,
        certified=operations.has_certificates(db.session, found),
        hk_rules=award_titles.applies_hk_rules(found.framework),
    )


@bp.route("/qualifications/<int:qualification_id>/edit", methods=["GET", "POST"])
@login_required
def edit_qualification(qualification_id: int):
    """Change a qualification; its code stays once certificates were issued for it."""
    found = _visible_qualification(qualification_id)
    provider = db.session.get(Provider, found.provider_id)
    rules = operations.qualification_rules(found)
    form = QualificationForm(data={
        "code": found.code, "title": found.title, "framework": found.framework_id,
        "level": found.level, "description": found.description,
        "core_codes": "\n".join(unit.code for unit in rules.core),
        "groups": format_groups([(g.title, g.choose, [u.code for u in g.units])
                                 for g in rules.groups]),
        "min_credits": found.min_credits,
        "min_credits_at_level": found.min_credits_at_level or None,
        "at_level": found.at_level, "validity_months": found.validity_months,
    })
    frameworks = _framework_choices(form)
    saved = _save_qualification(
        form, frameworks,
        lambda **values: operations.update_qualification(db.session, found, **values),
    )
    if saved is not None:
        flash(f"{saved.code} is saved.", "success")
        return redirect(url_for("units.qualification", qualification_id=saved.id))
    status = 422 if form.errors else 200
    return render_template("units/qualifications/form.html", form=form, provider=provider,
                           qualification=found,
                           certified=operations.has_certificates(db.session, found),
                           group_example=GROUP_EXAMPLE), status


@bp.route("/qualifications/<int:qualification_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw_qualification(qualification_id: int):
    """Ask for confirmation, then withdraw a qualification (or delete one never awarded)."""
    found = _visible_qualification(qualification_id)
    certified = operations.has_certificates(db.session, found)
    form = QualificationRemoveForm()
    choices = [c for c in form.action.choices
               if (c.value == "withdraw" and found.withdrawn_at is None)
               or (c.value == "delete" and not certified)]
    if not choices:
        flash(f"{found.code} is withdrawn already, and certificates issued for it keep it on "
              "record.", "info")
        return redirect(url_for("units.qualification", qualification_id=found.id))
    form.action.choices = choices
    if not form.is_submitted():
        form.action.data = choices[0].value
    if form.validate_on_submit():
        code = found.code
        try:
            if form.action.data == "delete":
                operations.delete_qualification(db.session, found, actor=current_user)
            else:
                operations.withdraw_qualification(db.session, found, actor=current_user)
        except operations.QualificationInvalid as error:
            db.session.rollback()
            form.form_errors.extend(str(error).split("; "))
        else:
            db.session.commit()
            if form.action.data == "delete":
                flash(f"{code} is deleted.", "success")
                return redirect(url_for("units.qualifications"))
            flash(f"{code} is withdrawn: it is no longer offered for certificates.", "success")
            return redirect(url_for("units.qualification", qualification_id=found.id))
    status = 422 if form.errors else 200
    return render_template("units/qualifications/withdraw.html", form=form,
                           qualification=found, certified=certified), status
