"""What a certificate states, frozen at issue (the shape is documented on Certificate.snapshot).

Everything printed on the PDF, put in the credential and shown at verification
comes from the snapshot, never from the live rows, so later edits to a name, a
unit or the provider do not change an issued certificate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from flask import current_app

from certify.accounts.models import Provider
from certify.certificates.eligibility import Achievement
from certify.certificates.models import CertificateKind
from certify.units.importers.case import unit_item_uri
from certify.units.models import Qualification


def verification_url(code: str) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/verify/{code}"


def unit_entry(achievement: Achievement) -> dict[str, Any]:
    unit = achievement.unit
    return {
        "unit_id": unit.id, "code": unit.code, "title": unit.title, "version": unit.version,
        "level": unit.level, "credits": unit.credits, "framework": unit.framework.code,
        "framework_name": unit.framework.name, "case_item": unit_item_uri(unit),
        "achieved_on": achievement.achieved_on.isoformat(),
    }


def build_snapshot(
    *, provider: Provider, candidate_name: str, kind: CertificateKind,
    qualification: Qualification | None, achieved: Sequence[Achievement], number: str,
    code: str, issued_at: datetime, achieved_on: date, expires_on: date | None,
    signatory: dict[str, str], replaces: str | None,
) -> dict[str, Any]:
    units = [unit_entry(a) for a in achieved]
    return {
        "number": number,
        "verification_code": code,
        "verification_url": verification_url(code),
        "kind": kind.value,
        "kind_label": kind.label,
        "candidate": {"name": candidate_name},
        "provider": {"name": provider.name, "slug": provider.slug,
                     "prefix": provider.certificate_prefix, "logo_key": provider.logo_key},
        "qualification": None if qualification is None else {
            "code": qualification.code, "title": qualification.title,
            "level": qualification.level, "framework": qualification.framework.code,
            "framework_name": qualification.framework.name,
            "validity_months": qualification.validity_months,
        },
        "units": units,
        "total_credits": sum(u["credits"] or 0 for u in units),
        "achieved_on": achieved_on.isoformat(),
        "issued_on": issued_at.date().isoformat(),
        "issued_at": issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expires_on": expires_on.isoformat() if expires_on else None,
        "signatory": signatory,
        "replaces": replaces,
    }
