"""Who may do what with certificates, as ``can_*`` rules used by views and templates alike.

Verification is public (no rule: anyone may verify); everything else belongs to
the provider's admins, and a certificate also to the candidate it was issued to.
Views answer 404 for objects a rule refuses, so another provider's or another
candidate's certificate is not confirmed to exist.
"""

from __future__ import annotations

from typing import Any

from certify.accounts.models import Role
from certify.accounts.permissions import roles_in
from certify.certificates.models import Certificate, CertificateStatus, IssueJob


def _signed_in(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def can_issue(user: Any, provider: Any) -> bool:
    """Provider admins see eligibility, issue certificates and keep the register."""
    return provider is not None and Role.PROVIDER_ADMIN in roles_in(user, provider)


def can_manage_certificates(user: Any, provider: Any) -> bool:
    """The register, its exports, the certificate settings and signing keys."""
    return can_issue(user, provider)


def can_view_certificate(user: Any, certificate: Certificate) -> bool:
    """The provider's admins, and the candidate it was issued to."""
    if not _signed_in(user):
        return False
    return certificate.candidate_id == user.id or can_issue(user, certificate.provider)


def can_revoke(user: Any, certificate: Certificate) -> bool:
    return (can_issue(user, certificate.provider)
            and certificate.status == CertificateStatus.VALID)


def can_reissue(user: Any, certificate: Certificate) -> bool:
    """A valid certificate (expired ones included, to renew them) can be reissued."""
    return can_revoke(user, certificate)


def can_view_job(user: Any, job: IssueJob) -> bool:
    return can_issue(user, job.provider)


def can_hold_certificates(user: Any) -> bool:
    """Everyone signed in has a "my certificates" page (empty for staff without any)."""
    return _signed_in(user)
