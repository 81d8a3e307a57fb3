"""The signed credential of a certificate: an Open Badges 3.0 OpenBadgeCredential.

What it states is built only from the certificate's frozen snapshot (with its
number, status-list bit and dates), so it says exactly what the PDF says and
never changes with later edits to a name, a unit or the provider.

- The issuer is the provider, named by a did:web identifier that resolves to
  ``<BASE_URL>/issuers/<slug>/did.json``; its keys are also published as a JWKS
  at ``/issuers/<slug>/jwks.json``.
- The achievement is the qualification (or, for a statement of attainment, the
  set of units), aligned to each unit's CASE CFItem; each unit is also a
  ResultDescription whose level is the unit's QF level, and the subject carries a
  Result per unit (completed, at that level, with its credits).
- ``credentialStatus`` points at the provider's Bitstring Status List
  (``status_list``), so a revocation shows without the credential changing.
- It is signed as a VC-JWT with RS256 (Open Badges 3.0, "JSON Web Token Proof
  Format"), with the provider's signing key.

``check_credential`` does what a verifier does: checks the form, the issuer,
the signature against the keys the issuer publishes, and then the status list
and the register.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from flask import current_app
from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from certify.accounts.models import Provider
from certify.certificates import keys, status_list
from certify.certificates.models import Certificate, CertificateStatus
from certify.core.types import utcnow

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_SCHEMA = ("https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
             "ob_v3p0_achievementcredential_schema.json")
ALGORITHM = "RS256"
# Names derived from a certificate (credential, subject, achievement ids) are
# UUIDv5 in this namespace, so rebuilding a credential gives the same ids.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:certify:credentials")
# A credential far larger than any we issue is refused before it is parsed.
MAX_TOKEN_CHARS = 512 * 1024
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
JWT_PATTERN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


# --- Identifiers -------------------------------------------------------------------

def _base_url() -> str:
    return current_app.config["BASE_URL"].rstrip("/")


def _did_prefix() -> str:
    """``did:web:<host>[:<path segments>]`` of this deployment (BASE_URL)."""
    parts = urlsplit(_base_url())
    # did:web percent-encodes the port's colon; path segments become colon-separated.
    host = quote(parts.netloc, safe="")
    segments = [quote(s, safe="") for s in parts.path.split("/") if s]
    return ":".join(["did:web", host, *segments])


def did_for_slug(slug: str) -> str:
    return f"{_did_prefix()}:issuers:{quote(slug, safe='')}"


def issuer_did(provider: Provider) -> str:
    """The provider's did:web, e.g. ``did:web:127.0.0.1%3A5000:issuers:north``; it
    resolves to ``<BASE_URL>/issuers/<slug>/did.json``."""
    return did_for_slug(provider.slug)


def slug_of_did(did: str) -> str | None:
    """The provider slug a did:web of this deployment names, or None if it is not ours."""
    prefix = f"{_did_prefix()}:issuers:"
    if not did.startswith(prefix) or ":" in did[len(prefix):]:
        return None
    return unquote(did[len(prefix):]) or None


def issuer_profile_url(slug: str) -> str:
    return f"{_base_url()}/issuers/{slug}"


def _urn(*parts: str) -> str:
    # A separator that cannot occur in codes keeps ("A", "BC") apart from ("AB", "C").
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, chr(31).join(parts))}"


def credential_id(number: str) -> str:
    return _urn("credential", number)


# --- Building --------------------------------------------------------------------

def _level_text(framework: str, level: Any) -> str:
    return f"{framework} Level {level}" if level is not None else framework


def _credits_text(credits: Any) -> str:
    if credits is None:
        return "no credits"
    return f"{credits} credit" + ("" if credits == 1 else "s")


def _alignment(unit: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": ["Alignment"],
        "targetUrl": unit["case_item"],
        "targetName": unit["title"],
        "targetCode": unit["code"],
        "targetFramework": unit.get("framework_name") or unit.get("framework"),
        "targetType": "CFItem",
        "targetDescription": (f"{_level_text(unit.get('framework') or 'QF', unit.get('level'))}"
                              f", {_credits_text(unit.get('credits'))}, "
                              f"version {unit.get('version')}"),
    }


def _achievement_type(snapshot: dict[str, Any]) -> str:
    """An AchievementType from the Open Badges 3.0 vocabulary.

    A qualification is a "Diploma" when its award title is one (HK QF Award Titles
    Scheme: Diploma, Higher/Advanced Diploma), otherwise a "Certificate"; a statement
    of attainment records units completed, a "CertificateOfCompletion".
    """
    qualification = snapshot.get("qualification")
    if qualification is None:
        return "CertificateOfCompletion"
    title = qualification["title"].lower()
    if re.match(r"^(higher |advanced |professional )?diploma\b", title):
        return "Diploma"
    return "Certificate"


def _criteria(snapshot: dict[str, Any]) -> str:
    units = snapshot["units"]
    lines = [f"- {u['code']} {u['title']} (version {u.get('version')}): "
             f"{_level_text(u.get('framework') or 'QF', u.get('level'))}, "
             f"{_credits_text(u.get('credits'))}" for u in units]
    qualification = snapshot.get("qualification")
    if qualification is None:
        lead = ("Each unit of competency below was achieved: the candidate was judged "
                "competent against every performance requirement and assessment criterion "
                "of the unit by an authorised assessor, and the decision was confirmed.")
    else:
        level = _level_text(qualification.get("framework") or "QF", qualification.get("level"))
        lead = (f"The rules of the qualification {qualification['code']} "
                f"{qualification['title']} ({level})"
                " were met (its core units, any elective choices and its minimum credits). "
                "Each unit below was achieved: the candidate was judged competent against "
                "every performance requirement and assessment criterion of the unit by an "
                "authorised assessor, and the decision was confirmed.")
    total = f"Total: {_credits_text(snapshot.get('total_credits'))}."
    return "\n".join([lead, "", *lines, "", total])


def _achievement(snapshot: dict[str, Any]) -> dict[str, Any]:
    units = snapshot["units"]
    provider = snapshot["provider"]
    qualification = snapshot.get("qualification")
    total = snapshot.get("total_credits") or 0
    codes = [u["code"] for u in units]
    if qualification is not None:
        # Every holder of the same qualification shares one achievement id.
        achievement_id = _urn("qualification", provider["slug"], qualification["code"])
        level = _level_text(qualification.get("framework") or "QF", qualification.get("level"))
        name = qualification["title"]
        human_code = qualification["code"]
        description = (f"{qualification['title']} ({qualification['code']}), "
                       f"{level}, {_credits_text(total)}, awarded by {provider['name']}.")
        tags = [level, qualification.get("framework_name") or qualification.get("framework")]
    else:
        achievement_id = _urn("statement", snapshot["number"])
        if len(units) == 1:
            name = f"Statement of attainment: {units[0]['code']} {units[0]['title']}"
        else:
            name = f"Statement of attainment: {len(units)} units of competency"
        human_code = " + ".join(codes)
        description = (f"Units of competency achieved with {provider['name']}: "
                       f"{', '.join(codes)}; {_credits_text(total)} in total.")
        tags = sorted({u.get("framework_name") or u.get("framework") for u in units} - {None})
    achievement: dict[str, Any] = {
        "id": achievement_id,
        "type": ["Achievement"],
        "achievementType": _achievement_type(snapshot),
        "name": name,
        "description": description,
        "criteria": {"narrative": _criteria(snapshot)},
        "humanCode": human_code,
        "creditsAvailable": float(total),
        "alignment": [_alignment(u) for u in units],
        "resultDescription": [_result_description(achievement_id, u) for u in units],
        "tag": [t for t in tags if t],
    }
    return achievement


def _result_description_id(achievement_id: str, unit: dict[str, Any]) -> str:
    return _urn(achievement_id, "unit", unit["case_item"])


def _level_id(achievement_id: str, unit: dict[str, Any]) -> str:
    return _urn(achievement_id, "unit", unit["case_item"], "level")


def _result_description(achievement_id: str, unit: dict[str, Any]) -> dict[str, Any]:
    """A unit as one result of the achievement; its single level is the unit's QF level
    (and credits), which the subject's Result for the unit names as achieved."""
    framework = unit.get("framework") or "QF"
    level = {
        "id": _level_id(achievement_id, unit),
        "type": ["RubricCriterionLevel"],
        "name": _level_text(framework, unit.get("level")),
        "description": (f"Competent in {unit['code']} at "
                        f"{_level_text(framework, unit.get('level'))}, "
                        f"worth {_credits_text(unit.get('credits'))}."),
    }
    if unit.get("level") is not None:
        level["level"] = str(unit["level"])
    if unit.get("credits") is not None:
        level["points"] = str(unit["credits"])
    return {
        "id": _result_description_id(achievement_id, unit),
        "type": ["ResultDescription"],
        "name": f"{unit['code']} {unit['title']}",
        "resultType": "RubricCriterionLevel",
        "alignment": [_alignment(unit)],
        "rubricCriterionLevel": [level],
    }


def _result(achievement_id: str, unit: dict[str, Any]) -> dict[str, Any]:
    framework = unit.get("framework") or "QF"
    return {
        "type": ["Result"],
        "resultDescription": _result_description_id(achievement_id, unit),
        "achievedLevel": _level_id(achievement_id, unit),
        "status": "Completed",
        "value": (f"{_level_text(framework, unit.get('level'))}, "
                  f"{_credits_text(unit.get('credits'))}"),
    }


def _issued_at(certificate: Certificate) -> str:
    frozen = certificate.snapshot.get("issued_at")
    if frozen:
        return frozen
    issued = certificate.issued_at
    if issued.tzinfo is None:
        issued = issued.replace(tzinfo=UTC)
    return issued.astimezone(UTC).strftime(DATETIME_FORMAT)


def _valid_until(expires_on: date) -> str:
    # A certificate is valid through its expiry date (Certificate.is_expired).
    return f"{expires_on.isoformat()}T23:59:59Z"


def build_credential(certificate: Certificate) -> dict[str, Any]:
    """The OpenBadgeCredential of ``certificate`` (unsigned), from its frozen snapshot."""
    snapshot = certificate.snapshot
    provider = snapshot["provider"]
    did = did_for_slug(provider["slug"])
    achievement = _achievement(snapshot)
    total = snapshot.get("total_credits") or 0
    status_url = status_list.list_url(provider["slug"])
    valid_from = _issued_at(certificate)
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": credential_id(certificate.number),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": achievement["name"],
        "description": (f"{snapshot.get('kind_label') or 'Certificate'} {certificate.number} "
                        f"issued by {provider['name']} to {snapshot['candidate']['name']}."),
        "issuer": {
            "id": did,
            "type": ["Profile"],
            "name": provider["name"],
            "url": issuer_profile_url(provider["slug"]),
        },
        "validFrom": valid_from,
        "awardedDate": valid_from,
        "credentialSubject": {
            # A subject id of this certificate alone: the JWT's "sub" must name one, and
            # it links nothing about the candidate across certificates.
            "id": _urn("subject", certificate.number),
            "type": ["AchievementSubject"],
            "identifier": [{
                "type": "IdentityObject",
                "hashed": False,
                "identityHash": snapshot["candidate"]["name"],
                "identityType": "name",
            }],
            "achievement": achievement,
            "creditsEarned": float(total),
            "licenseNumber": certificate.number,
            "activityEndDate": f"{snapshot.get('achieved_on') or certificate.achieved_on}"
                               "T00:00:00Z",
            "result": [_result(achievement["id"], u) for u in snapshot["units"]],
        },
        "credentialStatus": {
            "id": f"{status_url}#{certificate.status_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(certificate.status_index),
            "statusListCredential": status_url,
        },
        "credentialSchema": [{"id": OB_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
    }
    if certificate.expires_on is not None:
        credential["validUntil"] = _valid_until(certificate.expires_on)
    return credential


# --- Signing ---------------------------------------------------------------------

def _timestamp(value: str) -> int:
    return int(datetime.strptime(value, DATETIME_FORMAT).replace(tzinfo=UTC).timestamp())


def _issuer_id(credential: dict[str, Any]) -> str:
    issuer = credential["issuer"]
    return issuer if isinstance(issuer, str) else issuer["id"]


def sign_credential(credential: dict[str, Any], key: keys.LoadedKey) -> str:
    """The credential as a VC-JWT (compact JWS, RS256), signed with ``key``.

    Open Badges 3.0 (section "JSON Web Token Proof Format", following VC Data Model
    2.0) makes the JWT payload the credential itself, not a "vc" claim as under VC
    Data Model 1.1, with the registered claims copied from it: iss = issuer.id,
    jti = id, sub = credentialSubject.id, nbf = validFrom and exp = validUntil.
    The header's kid is a DID URL that the issuer's DID document resolves to the key.
    """
    issuer = _issuer_id(credential)
    claims = dict(credential)
    claims["iss"] = issuer
    claims["jti"] = credential["id"]
    subject_id = credential["credentialSubject"].get("id")
    if subject_id:
        claims["sub"] = subject_id
    claims["nbf"] = _timestamp(credential["validFrom"])
    if credential.get("validUntil"):
        claims["exp"] = _timestamp(credential["validUntil"])
    header = {"alg": ALGORITHM, "kid": f"{issuer}#{key.kid}", "typ": "JWT"}
    return jwt.encode(header, claims, key.jwk(), algorithms=[ALGORITHM])


# --- Checking --------------------------------------------------------------------

@dataclass
class CredentialVerdict:
    """What checking a credential found, said for a person and for a machine.

    ``status`` is one of: valid, revoked, superseded, expired (the signature is good
    and the register knows the certificate), bad-signature, unknown-issuer, malformed.
    """

    status: str
    message: str
    certificate: Certificate | None = None
    provider: Provider | None = None
    credential: dict[str, Any] | None = field(default=None, repr=False)
    number: str | None = None
    revoked_at: datetime | None = None
    reason: str | None = None
    superseded_by: str | None = None
    expires_on: date | None = None

    @property
    def ok(self) -> bool:
        return self.status == "valid"

    @property
    def genuine(self) -> bool:
        """Signed by the issuer it names, whatever its status now."""
        return self.status in ("valid", "revoked", "superseded", "expired")

    def as_dict(self) -> dict[str, Any]:
        """The verdict as JSON-ready values (what the verification page serves machines)."""
        snapshot = self.certificate.snapshot if self.certificate is not None else None
        return {
            "status": self.status,
            "message": self.message,
            "number": self.number,
            "issuer": None if self.provider is None else {
                "name": self.provider.name,
                "id": _named_issuer(self.credential)},
            "candidate": snapshot["candidate"]["name"] if snapshot else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "reason": self.reason,
            "superseded_by": self.superseded_by,
            "expires_on": self.expires_on.isoformat() if self.expires_on else None,
        }


def _named_issuer(credential: dict[str, Any] | None) -> str | None:
    issuer = (credential or {}).get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


class _Malformed(ValueError):
    pass


def _b64_json(segment: str, what: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _Malformed(f"Its {what} is not base64url-encoded JSON, so this is not a "
                         "signed credential (or it was cut short when copied).") from None
    if not isinstance(value, dict):
        raise _Malformed(f"Its {what} is not a JSON object, so this is not a signed "
                         "credential.")
    return value


def _find_token(text: str) -> str:
    """The compact JWS in ``text``: the bare token, a JSON string holding it, or a JSON
    object holding it under "proof"/"jwt"/"credential"/"vc" (as some wallets export)."""
    text = (text or "").strip().lstrip("\ufeff")
    if not text:
        raise _Malformed("There is nothing to check: paste the credential (a long text of "
                         "three parts separated by dots) or choose the file that holds it.")
    if len(text) > MAX_TOKEN_CHARS:
        raise _Malformed(f"This is {len(text):,} characters long; a credential of this "
                         "register is far shorter, so it is not one.")
    if text[0] in "{[\"":
        try:
            value = json.loads(text)
        except ValueError:
            raise _Malformed("The file starts like JSON but is not valid JSON.") from None
        token = _token_in_json(value)
        if token is None:
            raise _Malformed("This JSON holds no signed credential: credentials of this "
                             "register are VC-JWTs (three parts separated by dots), found "
                             "in the file as the text itself or under \"proof\" or \"jwt\".")
        text = token
    # A token never holds whitespace; a file may wrap it over several lines.
    return re.sub(r"\s+", "", text)


def _token_in_json(value: Any, depth: int = 0) -> str | None:
    if isinstance(value, str):
        return value if JWT_PATTERN.fullmatch(value.strip()) else None
    if isinstance(value, dict) and depth < 3:
        for name in ("jwt", "proof", "credential", "vc", "jws", "token"):
            if name in value:
                found = _token_in_json(value[name], depth + 1)
                if found:
                    return found
    if isinstance(value, list) and depth < 3:
        for item in value[:10]:
            found = _token_in_json(item, depth + 1)
            if found:
                return found
    return None


def _parse(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    parts = token.split(".")
    if len(parts) != 3:
        raise _Malformed(f"This is not a signed credential: a VC-JWT has three parts "
                         f"separated by dots, and this text has {len(parts)}.")
    if not JWT_PATTERN.fullmatch(token):
        raise _Malformed("This is not a signed credential: it holds characters that never "
                         "appear in a VC-JWT (only letters, digits, '-', '_' and dots do). "
                         "Was it changed when copied?")
    header = _b64_json(parts[0], "first part (the header)")
    payload = _b64_json(parts[1], "second part (the credential)")
    return header, payload


def _credential_of(payload: dict[str, Any]) -> dict[str, Any]:
    # VC Data Model 1.1 VC-JWTs carried the credential in a "vc" claim.
    inner = payload.get("vc")
    return inner if isinstance(inner, dict) else payload


def _revocation_index(credential: dict[str, Any]) -> int | None:
    entries = credential.get("credentialStatus")
    for entry in entries if isinstance(entries, list) else [entries]:
        if isinstance(entry, dict) and entry.get("statusPurpose") == "revocation":
            try:
                return int(str(entry.get("statusListIndex")))
            except ValueError:
                return None
    return None


def _claims_agree(payload: dict[str, Any], credential: dict[str, Any]) -> str | None:
    """What the JWT claims get wrong about the credential they carry, if anything."""
    subject = credential.get("credentialSubject") or {}
    issuer = _named_issuer(credential)
    if issuer is None:
        return "it names no issuer"
    expected = {"iss": issuer,
                "jti": credential.get("id"),
                "sub": subject.get("id") if isinstance(subject, dict) else None}
    for claim, value in expected.items():
        if value is not None and payload.get(claim) != value:
            return f"its “{claim}” claim does not match the credential inside it"
    valid_from = credential.get("validFrom")
    if not isinstance(valid_from, str) or "nbf" not in payload:
        return "it has no validFrom date"
    try:
        if _timestamp(valid_from) != payload["nbf"]:
            return "its “nbf” claim does not match the credential's validFrom"
    except ValueError:
        # validFrom in another (valid) ISO form than ours: compare as instants.
        try:
            moment = datetime.fromisoformat(valid_from.replace("Z", "+00:00"))
        except ValueError:
            return "its validFrom is not a date and time"
        if moment.tzinfo is None or int(moment.timestamp()) != payload["nbf"]:
            return "its “nbf” claim does not match the credential's validFrom"
    return None


def check_credential(session: Session, token_or_file_text: str) -> CredentialVerdict:
    """Check a credential as a verifier would: its form, its issuer, its signature (with
    the keys the issuer publishes), then its bit in the issuer's status list and the
    register's record.  Never raises for bad input; the verdict says what is wrong."""
    try:
        token = _find_token(token_or_file_text)
        header, payload = _parse(token)
    except _Malformed as error:
        return CredentialVerdict("malformed", str(error))

    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm.lower() == "none":
        return CredentialVerdict(
            "malformed", "The credential is not signed (its header names no signature "
            "algorithm, or “none”): anyone could have written it.")
    if algorithm != ALGORITHM:
        return CredentialVerdict(
            "bad-signature", f"The credential is signed with {algorithm[:20]}, which no "
            f"issuer of this register uses: its credentials are signed with {ALGORITHM} "
            "and the issuer's published key, so this signature cannot be the issuer's.")

    credential = _credential_of(payload)
    kid = header.get("kid") if isinstance(header.get("kid"), str) else ""
    did, _, key_id = kid.partition("#")
    if not did:
        issuer = payload.get("iss")
        did = issuer if isinstance(issuer, str) else ""
    slug = slug_of_did(did) if did else None
    provider = None if slug is None else session.scalar(
        select(Provider).where(Provider.slug == slug))
    if provider is None:
        named = f" ({did[:120]})" if did else ""
        return CredentialVerdict(
            "unknown-issuer", f"The credential names an issuer{named} that is not a "
            "provider of this register, so it cannot be checked here.")

    published = keys.provider_keys(session, provider)
    rows = [row for row in published if not key_id or row.kid == key_id]
    if not rows:
        return CredentialVerdict(
            "bad-signature", f"The credential claims to be signed by {provider.name} with "
            f"a key ({key_id[:64] or 'none named'}) that {provider.name} never published.",
            provider=provider)
    for row in rows:
        public = RSAKey.import_key(keys.public_jwk(row))
        try:
            jwt.decode(token, public, algorithms=[ALGORITHM])
        except BadSignatureError:
            continue
        except JoseError as error:
            return CredentialVerdict("malformed", f"The credential could not be read: "
                                     f"{error.description or error.error}.", provider=provider)
        except ValueError as error:
            return CredentialVerdict("malformed", f"The credential could not be read: {error}.",
                                     provider=provider)
        break
    else:
        return CredentialVerdict(
            "bad-signature", f"The signature does not match {provider.name}'s published "
            "key: the credential was changed after it was signed, or was not signed by "
            f"{provider.name}.", provider=provider)

    if not isinstance(credential.get("credentialSubject"), dict):
        return CredentialVerdict("malformed", "The credential has no credentialSubject.",
                                 provider=provider, credential=credential)
    disagreement = _claims_agree(payload, credential)
    if disagreement:
        return CredentialVerdict("malformed", f"The signature is {provider.name}'s, but "
                                 f"{disagreement}.", provider=provider, credential=credential)

    number = credential["credentialSubject"].get("licenseNumber")
    certificate = None
    if isinstance(number, str):
        certificate = session.scalar(select(Certificate).where(
            Certificate.number == number, Certificate.provider_id == provider.id))
    if certificate is None or credential.get("id") != credential_id(certificate.number):
        return CredentialVerdict(
            "unknown-issuer", f"The credential is signed by {provider.name}, but its register "
            "holds no certificate it describes.", provider=provider, credential=credential)
    return _standing(session, provider, certificate, credential, payload)


def _standing(session: Session, provider: Provider, certificate: Certificate,
              credential: dict[str, Any], payload: dict[str, Any]) -> CredentialVerdict:
    snapshot = certificate.snapshot
    what = f"{snapshot.get('kind_label') or 'Certificate'} {certificate.number}"
    who = snapshot["candidate"]["name"]
    common = {"certificate": certificate, "provider": provider, "credential": credential,
              "number": certificate.number, "expires_on": certificate.expires_on}

    index = _revocation_index(credential)
    bit_set = False
    if index is not None:
        try:
            bit_set = status_list.is_revoked(status_list.encoded_list(session, provider), index)
        except (IndexError, status_list.MalformedStatusList):
            bit_set = False
    if bit_set or certificate.status == CertificateStatus.REVOKED:
        when = certificate.revoked_at
        on = f" on {when:%d %B %Y}" if when else ""
        reason = certificate.revocation_reason or "no reason recorded"
        return CredentialVerdict(
            "revoked", f"{what} was revoked by {provider.name}{on}: {reason}. It is genuine "
            "but no longer valid.", revoked_at=when, reason=certificate.revocation_reason,
            **common)
    if certificate.status == CertificateStatus.SUPERSEDED:
        newer = certificate.superseded_by.number if certificate.superseded_by else None
        by = f" by {newer}" if newer else ""
        return CredentialVerdict(
            "superseded", f"{what} was replaced{by}; "
            f"{'check that one' if newer else 'ask the holder for the newer certificate'}.",
            superseded_by=newer,
            reason=certificate.superseded_by.reissue_reason if certificate.superseded_by else None,
            **common)
    expires_at = payload.get("exp")
    now = utcnow()
    if certificate.standing() == "expired" or (
            isinstance(expires_at, int | float) and expires_at < now.timestamp()):
        until = certificate.expires_on
        on = f" on {until:%d %B %Y}" if until else ""
        return CredentialVerdict(
            "expired", f"{what} of {who} is genuine but expired{on}.", **common)
    issued = snapshot.get("issued_on") or certificate.issued_at.date().isoformat()
    return CredentialVerdict(
        "valid", f"Genuine and valid: {what}, issued by {provider.name} to {who} on "
        f"{issued}. The signature matches the issuer's published key and the certificate "
        "is not revoked.", **common)
