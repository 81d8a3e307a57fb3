"""Assessment pages: the marking page, saving a draft, signing, corrections, discarding.

One page serves everyone who may read an assessment: the assigned assessor marks
a draft on it; other staff of the provider, and everyone once it is signed, read
it without forms.  Every refusal re-renders the page with the message where it
belongs and changes nothing (422 for input the page never offers or the rules
refuse, 409 for an action that cannot be taken now, including a save made from
an older version of the page).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from certify.assessors import bp, permissions, queries
from certify.assessors.errors import AssessmentConflict, AssessmentError, InvalidMarking
from certify.assessors.forms.marking import (
    CorrectForm,
    DiscardForm,
    MarkingForm,
    MarkingState,
    SignForm,
    parse_marking,
    parse_version,
)
from certify.assessors.models import (
    RULE_LABELS,
    RULES_OF_EVIDENCE,
    Assessment,
    AssessmentKind,
    AssessmentStatus,
)
from certify.assessors.operations import marking
from certify.core.types import utcnow
from certify.evidence.operations.submissions import unit_criteria
from certify.extensions import db

GROUP_HEADINGS = {
    "performance_requirement": "Performance requirements",
    "assessment_criterion": "Assessment criteria",
    "level_statement": "Level statements",
}


def _load(assessment_id: int) -> Assessment:
    """The assessment with its page's data, for staff of its provider; 404 for anyone else
    (candidates read their released decisions on their own page)."""
    assessment = queries.load_assessment(db.session, assessment_id)
    if assessment is None or not permissions.can_view_assessment(current_user, assessment):
        abort(404)
    return assessment


def _reload(assessment_id: int) -> Assessment:
    """After a refused action: forget what the operation changed and read the page again."""
    db.session.rollback()
    return _load(assessment_id)


def _require_assessor(assessment: Assessment) -> None:
    """Only the assessor the work belongs to acts on it; other staff may read it (403)."""
    if assessment.assessor_id != current_user.id or not permissions.can_assess(
            current_user, assessment.provider):
        abort(403)


def _error_targets(errors: dict[str, str], criteria) -> dict[str, str]:
    """The element each error message links to from the summary, when the page has it."""
    ids = {str(c.id) for c in criteria}
    targets = {}
    for name in errors:
        prefix, _, rest = name.partition("-")
        if prefix in ("judgement", "criterion") and rest in ids:
            targets[name] = f"judgement-{rest}"
        elif ((prefix == "comment" and rest in ids)
              or (prefix == "rule" and rest in RULES_OF_EVIDENCE)
              or name in ("feedback", "rules")):
            targets[name] = name
    return targets


def _render(assessment: Assessment, *, status: int = 200, state: MarkingState | None = None,
            errors: dict[str, str] | None = None, conflict: AssessmentConflict | None = None,
            action_error: str | None = None, sign_form: SignForm | None = None,
            sign_error: AssessmentError | None = None, correct_form: CorrectForm | None = None):
    """The marking page (editable for the assigned assessor while a draft, else read-only),
    read in a fixed number of queries."""
    submission = assessment.submission
    criteria = unit_criteria(db.session, assessment.unit_id)
    can = {
        "mark": permissions.can_mark(current_user, assessment),
        "correct": permissions.can_correct(current_user, assessment),
        "discard": permissions.can_discard(current_user, assessment),
        "verify": permissions.can_verify(current_user, assessment),
        "flag": permissions.can_flag(current_user, assessment),
        "queue": permissions.can_assess(current_user, assessment.provider),
    }
    # Posted values are shown again only on the form; everyone else reads what is saved.
    if state is None or not can["mark"]:
        state = MarkingState.saved(assessment)
    previous = queries.previous_attempt(db.session, submission)
    comparison = (queries.compare_attempts(previous[0], submission, criteria, previous[1])
                  if previous is not None else None)
    if sign_form is None:
        sign_form = SignForm(formdata=None, version=str(assessment.version))
    now = utcnow()
    context: dict[str, Any] = {
        "assessment": assessment,
        "submission": submission,
        "enrolment": submission.enrolment,
        "candidate": submission.enrolment.candidate,
        "unit": assessment.unit,
        "groups": queries.group_by_element(criteria),
        "group_headings": GROUP_HEADINGS,
        "criteria": criteria,
        "evidence": queries.evidence_by_criterion(submission),
        "previewable": queries.previewable,
        "state": state,
        "summary": queries.summarise(criteria, state.marks(), state.rules),
        "errors": errors or {},
        "error_targets": _error_targets(errors or {}, criteria),
        "conflict": conflict,
        "action_error": action_error,
        "comparison": comparison,
        "appeal": queries.appeal_for(db.session, assessment),
        "history": queries.decisions_on(db.session, submission.id),
        "can": can,
        "kinds": AssessmentKind,
        "statuses": AssessmentStatus,
        "rules": RULES_OF_EVIDENCE,
        "rule_labels": RULE_LABELS,
        "sign_form": sign_form,
        "sign_error": sign_error,
        "correct_form": correct_form or CorrectForm(formdata=None),
        "waited": queries.waited(submission.submitted_at, now),
        "assigned_ago": queries.waited(assessment.assigned_at, now),
        "comment_limit": marking.COMMENT_LIMIT,
    }
    return render_template("assessors/assessment.html", **context), status


@bp.route("/assessment/assessments/<int:assessment_id>", methods=["GET", "POST"])
@login_required
def assessment(assessment_id: int):
    """GET: the marking page.  POST: save the judgements, rules of evidence and feedback as
    a draft; refused with the differences when the page's version is no longer the saved
    one, so nobody's work is overwritten."""
    found = _load(assessment_id)
    if request.method == "GET":
        return _render(found)
    _require_assessor(found)
    if not MarkingForm().validate_on_submit():
        abort(400)  # only the CSRF token is checked here, as CSRFProtect already did
    criteria = unit_criteria(db.session, found.unit_id)
    try:
        posted = parse_marking(request.form, criteria)
    except InvalidMarking as error:
        version = request.form.get("version", "")
        state = MarkingState.posted(request.form,
                                    int(version) if version.isdigit() else found.version)
        return _render(found, state=state, errors=error.errors, status=422)
    try:
        marking.save_marking(db.session, found, marks=posted.marks, rules=posted.rules,
                             feedback=posted.feedback, expected_version=posted.version,
                             actor=current_user)
    except AssessmentConflict as error:
        return _render(_reload(assessment_id), conflict=error, status=409)
    except InvalidMarking as error:
        state = MarkingState.posted(request.form, posted.version)
        return _render(_reload(assessment_id), state=state, errors=error.errors, status=422)
    except AssessmentError as error:
        return _render(_reload(assessment_id), action_error=str(error), status=409)
    judged, total = len(found.judgements), len(criteria)
    db.session.commit()
    flash(f"Draft saved: {judged} of {total} criteria judged.", "success")
    return redirect(url_for("assessors.assessment", assessment_id=assessment_id), 303)


@bp.post("/assessment/assessments/<int:assessment_id>/sign")
@login_required
def sign(assessment_id: int):
    """Sign the saved draft as the decision, with the assessor's password; the outcome is
    derived, and the sampling plan confirms it now or sends it to internal verification."""
    found = _load(assessment_id)
    _require_assessor(found)
    form = SignForm()
    if not form.validate_on_submit():
        return _render(found, sign_form=form, status=422)
    version = None
    if form.version.data:
        try:
            version = parse_version(form.version.data)
        except InvalidMarking as error:
            form.version.errors = [error.errors["version"]]
            return _render(found, sign_form=form, status=422)
    try:
        marking.sign(db.session, found, actor=current_user, password=form.password.data,
                     expected_version=version)
    except AssessmentConflict as error:
        return _render(_reload(assessment_id), conflict=error, status=409)
    except AssessmentError as error:
        return _render(_reload(assessment_id), sign_error=error, status=409)
    outcome = found.outcome.label.lower() if found.outcome else "decided"
    if found.status == AssessmentStatus.CONFIRMED:
        message = (f"Decision signed and confirmed: {outcome}. The candidate has been told and "
                   "can read your feedback.")
    else:
        message = (f"Decision signed: {outcome}. It was sampled for internal verification "
                   f"({found.sample_reason}); the candidate is told once a verifier agrees.")
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("assessors.assessment", assessment_id=assessment_id), 303)


@bp.post("/assessment/assessments/<int:assessment_id>/correct")
@login_required
def correct(assessment_id: int):
    """Start a correction of the assessor's own confirmed decision: a new draft that starts
    from it and, once signed and confirmed, supersedes it."""
    found = _load(assessment_id)
    _require_assessor(found)
    form = CorrectForm()
    if not form.validate_on_submit():
        return _render(found, correct_form=form, status=422)
    try:
        correction = marking.start_correction(db.session, found, actor=current_user,
                                              reason=form.reason.data)
    except AssessmentError as error:
        form.reason.errors = [*form.reason.errors, str(error)]
        return _render(_reload(assessment_id), correct_form=form, status=409)
    db.session.commit()
    flash("Correction started from your decision. Change what needs correcting, then sign it; "
          "until then the decision stands.", "success")
    return redirect(url_for("assessors.assessment", assessment_id=correction.id), 303)


@bp.post("/assessment/assessments/<int:assessment_id>/discard")
@login_required
def discard(assessment_id: int):
    """Abandon a draft correction; the decision it would have corrected stands."""
    found = _load(assessment_id)
    _require_assessor(found)
    if not DiscardForm().validate_on_submit():
        abort(400)
    try:
        marking.discard_draft(db.session, found, actor=current_user)
    except AssessmentError as error:
        return _render(_reload(assessment_id), action_error=str(error), status=409)
    db.session.commit()
    flash("The draft correction was discarded; the decision it would have corrected stands.",
          "success")
    target = found.replaces_id or assessment_id
    return redirect(url_for("assessors.assessment", assessment_id=target), 303)
