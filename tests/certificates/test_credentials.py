"""The signed credential: Open Badges 3.0 content, VC-JWT signing, and checking it.

Certificates are inserted directly (the issuing operation has its own tests); the
credential is built from the snapshot and signed with the provider's key, as
issuing does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import RSAKey
from jsonschema import Draft202012Validator, FormatChecker

from certify.certificates import credentials, keys, numbering, status_list
from certify.certificates.models import Certificate, CertificateKind, CertificateStatus

SCHEMA = json.loads((Path(__file__).parent / "ob3_required.json").read_text())
OB3 = Draft202012Validator(SCHEMA, format_checker=FormatChecker())

UNITS = [
    {"unit_id": 1, "code": "ITCSCR405A", "title": "Develop a customer service strategy",
     "version": 1, "level": 4, "credits": 3, "framework": "HKQF",
     "framework_name": "Hong Kong Qualifications Framework",
     "case_item": "urn:uuid:6f1c3f4e-2a7b-5c1d-9e0f-1a2b3c4d5e6f", "achieved_on": "2026-11-20"},
    {"unit_id": 2, "code": "ITCSCR406A", "title": "Manage customer loyalty programmes",
     "version": 2, "level": 5, "credits": 4, "framework": "HKQF",
     "framework_name": "Hong Kong Qualifications Framework",
     "case_item": "urn:uuid:0b7a9d21-4c3e-5f60-8a1b-2c3d4e5f6a7b", "achieved_on": "2026-11-21"},
]


def make_certificate(app, session, provider, candidate, *, name: str = "陳大文",
                     units: list[dict] | None = None, qualification: dict | None = None,
                     issued_at: datetime | None = None, expires_on: date | None = None,
                     sign: bool = True) -> Certificate:
    """A certificate row as issuing leaves it, with its credential signed; committed."""
    units = UNITS[:1] if units is None else units
    issued_at = issued_at or datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        number, sequence = numbering.next_number(session, provider.id,
                                                 provider.certificate_prefix, issued_at.year)
        index = numbering.next_status_index(session, provider.id)
        code = numbering.verification_code()
        base = app.config["BASE_URL"].rstrip("/")
        kind = CertificateKind.QUALIFICATION if qualification else CertificateKind.STATEMENT
        snapshot = {
            "number": number, "verification_code": code,
            "verification_url": f"{base}/verify/{code}",
            "kind": kind.value, "kind_label": kind.label,
            "candidate": {"name": name},
            "provider": {"name": provider.name, "slug": provider.slug,
                         "prefix": provider.certificate_prefix, "logo_key": None},
            "qualification": qualification,
            "units": units,
            "total_credits": sum(u["credits"] or 0 for u in units),
            "achieved_on": max(u["achieved_on"] for u in units),
            "issued_on": issued_at.date().isoformat(),
            "issued_at": issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "expires_on": expires_on.isoformat() if expires_on else None,
            "signatory": {"name": "Sam Signatory", "title": "Registrar"},
            "replaces": None,
        }
        certificate = Certificate(
            provider_id=provider.id, candidate_id=candidate.id, kind=kind, number=number,
            year=issued_at.year, sequence=sequence, verification_code=code,
            status=CertificateStatus.VALID, snapshot=snapshot,
            achieved_on=date.fromisoformat(snapshot["achieved_on"]), issued_at=issued_at,
            expires_on=expires_on, pdf_key="ab/cd", pdf_sha256="0" * 64, pdf_size=1,
            credential="", status_index=index)
        if sign:
            certificate.credential = credentials.sign_credential(
                credentials.build_credential(certificate), keys.signing_key(session, provider))
        session.add(certificate)
        session.commit()
    return certificate


def revoke(session, certificate: Certificate, reason: str) -> None:
    """Revoke on the row, as the revocation operation does (tested with the operation)."""
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at = datetime.now(UTC).replace(microsecond=0)
    certificate.revocation_reason = reason
    session.commit()


DIPLOMA = {"code": "DIP-CS", "title": "Diploma in Customer Service", "level": 4,
           "framework": "HKQF", "framework_name": "Hong Kong Qualifications Framework",
           "validity_months": 36}


def segments(token: str) -> list[dict]:
    head, body, _signature = token.split(".")
    return [json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
            for part in (head, body)]


def b64(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def schema_errors(credential: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in OB3.iter_errors(credential)]


# --- identifiers ---------------------------------------------------------------------

def test_issuer_did_is_did_web_of_the_base_url_with_the_port_percent_encoded(
        app, make_provider, monkeypatch):
    provider = make_provider("North", "north", "NRTH")
    with app.app_context():
        monkeypatch.setitem(app.config, "BASE_URL", "http://127.0.0.1:5000")
        assert credentials.issuer_did(provider) == "did:web:127.0.0.1%3A5000:issuers:north"
        assert credentials.slug_of_did("did:web:127.0.0.1%3A5000:issuers:north") == "north"
        monkeypatch.setitem(app.config, "BASE_URL", "https://certs.example.org/hk/")
        did = credentials.issuer_did(provider)
        assert did == "did:web:certs.example.org:hk:issuers:north"
        # did:web resolution: colons become slashes, then /did.json.
        path = did.removeprefix("did:web:").replace(":", "/")
        assert f"https://{path}/did.json" == "https://certs.example.org/hk/issuers/north/did.json"
        assert credentials.slug_of_did("did:web:elsewhere.example:issuers:north") is None
        assert credentials.slug_of_did(did + ":more") is None


# --- content ---------------------------------------------------------------------------

def test_statement_credential_meets_the_ob3_schema_and_states_the_snapshot(
        app, session, provider, candidate):
    certificate = make_certificate(app, session, provider, candidate, units=UNITS)
    with app.app_context():
        credential = credentials.build_credential(certificate)
        did = credentials.issuer_did(provider)
        status_url = status_list.list_url(provider.slug)
    assert schema_errors(credential) == []
    assert credential["@context"] == ["https://www.w3.org/ns/credentials/v2",
                                      "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["id"].startswith("urn:uuid:")
    assert credential["issuer"] == {"id": did, "type": ["Profile"], "name": "North College",
                                    "url": f"{app.config['BASE_URL']}/issuers/north-college"}
    assert credential["validFrom"] == certificate.snapshot["issued_at"]
    assert "validUntil" not in credential

    subject = credential["credentialSubject"]
    assert subject["identifier"] == [{"type": "IdentityObject", "hashed": False,
                                      "identityHash": "陳大文", "identityType": "name"}]
    assert subject["licenseNumber"] == certificate.number
    assert subject["creditsEarned"] == 7
    achievement = subject["achievement"]
    assert achievement["achievementType"] == "CertificateOfCompletion"
    assert achievement["creditsAvailable"] == 7
    assert achievement["humanCode"] == "ITCSCR405A + ITCSCR406A"
    assert "ITCSCR405A Develop a customer service strategy" in achievement["criteria"]["narrative"]
    assert "HKQF Level 5, 4 credits" in achievement["criteria"]["narrative"]
    assert [(a["targetUrl"], a["targetCode"], a["targetType"], a["targetFramework"])
            for a in achievement["alignment"]] == [
        (UNITS[0]["case_item"], "ITCSCR405A", "CFItem", "Hong Kong Qualifications Framework"),
        (UNITS[1]["case_item"], "ITCSCR406A", "CFItem", "Hong Kong Qualifications Framework")]

    # One result per unit, completed at the unit's QF level, which its description defines.
    descriptions = {d["id"]: d for d in achievement["resultDescription"]}
    for unit, result in zip(UNITS, subject["result"], strict=True):
        described = descriptions[result["resultDescription"]]
        assert described["name"] == f"{unit['code']} {unit['title']}"
        (level,) = described["rubricCriterionLevel"]
        assert result["achievedLevel"] == level["id"]
        assert (level["level"], level["points"]) == (str(unit["level"]), str(unit["credits"]))
        assert result["status"] == "Completed"
        assert result["value"] == f"HKQF Level {unit['level']}, {unit['credits']} credits"
        assert described["alignment"][0]["targetUrl"] == unit["case_item"]

    assert credential["credentialStatus"] == {
        "id": f"{status_url}#{certificate.status_index}",
        "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
        "statusListIndex": str(certificate.status_index), "statusListCredential": status_url}


def test_qualification_credential_carries_title_level_and_validity(
        app, session, provider, candidate):
    expires = datetime.now(UTC).date() + timedelta(days=3 * 365)
    certificate = make_certificate(app, session, provider, candidate, units=UNITS,
                                   qualification=DIPLOMA, expires_on=expires)
    with app.app_context():
        credential = credentials.build_credential(certificate)
    assert schema_errors(credential) == []
    achievement = credential["credentialSubject"]["achievement"]
    assert credential["name"] == achievement["name"] == "Diploma in Customer Service"
    assert achievement["achievementType"] == "Diploma"
    assert achievement["humanCode"] == "DIP-CS"
    assert "HKQF Level 4" in achievement["description"]
    assert "HKQF Level 4" in achievement["tag"]
    assert credential["validUntil"] == f"{expires.isoformat()}T23:59:59Z"


def test_credential_is_built_from_the_frozen_snapshot_only(app, session, provider, candidate):
    certificate = make_certificate(app, session, provider, candidate)
    with app.app_context():
        before = credentials.build_credential(certificate)
        provider.name = "Renamed College"
        candidate.name = "Someone Else"
        session.flush()
        after = credentials.build_credential(certificate)
    assert after == before
    assert before["issuer"]["name"] == "North College"


def test_schema_rejects_credentials_missing_what_ob3_requires(app, session, provider, candidate):
    certificate = make_certificate(app, session, provider, candidate)
    with app.app_context():
        credential = credentials.build_credential(certificate)
    for path in (["validFrom"], ["issuer"], ["credentialSubject", "achievement", "criteria"],
                 ["credentialSubject", "achievement", "alignment", 0, "targetUrl"]):
        broken = json.loads(json.dumps(credential))
        holder = broken
        for step in path[:-1]:
            holder = holder[step]
        del holder[path[-1]]
        assert schema_errors(broken), f"the schema accepted a credential without {path}"
    broken = json.loads(json.dumps(credential))
    broken["credentialSubject"]["result"][0]["status"] = "Passed"
    assert schema_errors(broken)


# --- signing ---------------------------------------------------------------------------

def test_vc_jwt_header_and_claims_follow_ob3(app, session, provider, candidate):
    expires = datetime.now(UTC).date() + timedelta(days=30)
    certificate = make_certificate(app, session, provider, candidate, qualification=DIPLOMA,
                                   expires_on=expires)
    with app.app_context():
        key = keys.signing_key(session, provider)
        credential = credentials.build_credential(certificate)
    header, payload = segments(certificate.credential)
    assert header == {"alg": "RS256", "kid": f"{credential['issuer']['id']}#{key.kid}",
                      "typ": "JWT"}
    # VC Data Model 2.0: the payload is the credential itself, with the JWT claims.
    assert "vc" not in payload
    assert {k: v for k, v in payload.items() if k not in ("iss", "jti", "sub", "nbf", "exp")} \
        == credential
    assert payload["iss"] == credential["issuer"]["id"]
    assert payload["jti"] == credential["id"]
    assert payload["sub"] == credential["credentialSubject"]["id"]
    assert payload["nbf"] == int(certificate.issued_at.timestamp())
    assert payload["exp"] == int(datetime(expires.year, expires.month, expires.day, 23, 59, 59,
                                          tzinfo=UTC).timestamp())
    token = jwt.decode(certificate.credential, RSAKey.import_key(keys.public_jwk(key.row)),
                       algorithms=["RS256"])
    assert token.claims["credentialSubject"]["identifier"][0]["identityHash"] == "陳大文"


# --- checking --------------------------------------------------------------------------

def test_a_genuine_credential_checks_valid(app, session, provider, candidate):
    certificate = make_certificate(app, session, provider, candidate)
    with app.app_context():
        verdict = credentials.check_credential(session, certificate.credential)
    assert verdict.status == "valid", verdict.message
    assert verdict.ok and verdict.genuine
    assert verdict.certificate.id == certificate.id
    assert certificate.number in verdict.message and "North College" in verdict.message
    assert verdict.as_dict()["candidate"] == "陳大文"


def test_the_token_is_found_in_a_file_with_whitespace_or_in_json(app, session, provider,
                                                                 candidate):
    certificate = make_certificate(app, session, provider, candidate)
    token = certificate.credential
    with app.app_context():
        wrapped = "\n".join(token[i:i + 76] for i in range(0, len(token), 76))
        for text in (f"\n  {token}\r\n", wrapped, json.dumps(token), json.dumps({"proof": token}),
                     json.dumps({"jwt": token, "name": "my certificate"}),
                     json.dumps({"proof": {"type": "JWT", "jwt": token}})):
            verdict = credentials.check_credential(session, text)
            assert verdict.status == "valid", (text[:40], verdict.message)
        verdict = credentials.check_credential(session, json.dumps({"name": "no proof here"}))
    assert verdict.status == "malformed"
    assert "holds no signed credential" in verdict.message


def test_revoked_credential_is_reported_with_reason_and_date(app, session, provider,
                                                            candidate):
    certificate = make_certificate(app, session, provider, candidate)
    revoke(session, certificate, "Assessment found to be plagiarised.")
    with app.app_context():
        verdict = credentials.check_credential(session, certificate.credential)
    assert verdict.status == "revoked"
    assert verdict.reason == "Assessment found to be plagiarised."
    assert verdict.revoked_at == certificate.revoked_at
    assert "plagiarised" in verdict.message
    assert f"{certificate.revoked_at:%d %B %Y}" in verdict.message
    assert verdict.genuine and not verdict.ok


def test_superseded_credential_names_the_newer_number(app, session, provider, candidate):
    old = make_certificate(app, session, provider, candidate, name="Chan Tai Man")
    new = make_certificate(app, session, provider, candidate, name="陳大文")
    new.reissue_reason = "Name corrected to the Chinese characters."
    old.status = CertificateStatus.SUPERSEDED
    old.superseded_by_id = new.id
    old.superseded_at = datetime.now(UTC)
    session.commit()
    with app.app_context():
        verdict = credentials.check_credential(session, old.credential)
        assert credentials.check_credential(session, new.credential).status == "valid"
    assert verdict.status == "superseded"
    assert verdict.superseded_by == new.number
    assert new.number in verdict.message
    assert verdict.reason == "Name corrected to the Chinese characters."


def test_expired_credential_says_so_and_carries_valid_until(app, session, provider, candidate):
    issued = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3 * 365 + 10)
    expires = issued.date() + timedelta(days=3 * 365)
    certificate = make_certificate(app, session, provider, candidate, qualification=DIPLOMA,
                                   issued_at=issued, expires_on=expires)
    _header, payload = segments(certificate.credential)
    assert payload["validUntil"] == f"{expires.isoformat()}T23:59:59Z"
    assert payload["exp"] < datetime.now(UTC).timestamp()
    with app.app_context():
        verdict = credentials.check_credential(session, certificate.credential)
    assert verdict.status == "expired"
    assert f"{expires:%d %B %Y}" in verdict.message
    assert verdict.expires_on == expires


def test_a_changed_credential_fails_its_signature(app, session, provider, candidate):
    certificate = make_certificate(app, session, provider, candidate)
    head, body, signature = certificate.credential.split(".")
    _header, payload = segments(certificate.credential)
    payload["credentialSubject"]["identifier"][0]["identityHash"] = "Mallory"
    tampered = f"{head}.{b64(payload)}.{signature}"
    with app.app_context():
        verdict = credentials.check_credential(session, tampered)
        # One character of the signature changed.
        flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
        verdict_signature = credentials.check_credential(session, f"{head}.{body}.{flipped}")
    assert verdict.status == "bad-signature"
    assert "changed after it was signed" in verdict.message
    assert verdict_signature.status == "bad-signature"


def test_a_key_the_issuer_never_published_is_refused(app, session, provider, candidate):
    certificate = make_certificate(app, session, provider, candidate)
    _header, payload = segments(certificate.credential)
    stranger = RSAKey.import_key(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    with app.app_context():
        did = credentials.issuer_did(provider)
        published = keys.signing_key(session, provider).kid
        # Signed by an outsider, naming a key of its own under the provider's DID...
        own_kid = jwt.encode({"alg": "RS256", "kid": f"{did}#{stranger.thumbprint()}"},
                             payload, stranger, algorithms=["RS256"])
        # ...or naming the provider's real key.
        real_kid = jwt.encode({"alg": "RS256", "kid": f"{did}#{published}"}, payload,
                              stranger, algorithms=["RS256"])
        # An issuer that is not a provider of this register at all.
        foreign = jwt.encode({"alg": "RS256",
                              "kid": f"did:web:issuer.example:issuers:north#{published}"},
                             payload, stranger, algorithms=["RS256"])
        verdicts = [credentials.check_credential(session, t) for t in (own_kid, real_kid, foreign)]
    assert [v.status for v in verdicts] == ["bad-signature", "bad-signature", "unknown-issuer"]
    assert "never published" in verdicts[0].message
    assert "does not match North College's published key" in verdicts[1].message
    assert "issuer.example" in verdicts[2].message


@pytest.mark.parametrize(("text", "expected"), [
    ("", "nothing to check"),
    ("   \n ", "nothing to check"),
    ("hello world", "three parts separated by dots, and this text has 1"),
    ("a.b", "this text has 2"),
    ("a.b.c.d", "this text has 4"),
    ("!!!.###.$$$", "characters that never appear"),
    ("bm90IGpzb24.e30.c2ln", "first part (the header) is not base64url-encoded JSON"),
    ("W10.e30.c2ln", "first part (the header) is not a JSON object"),
    ("{not json", "not valid JSON"),
])
def test_garbage_is_malformed_with_a_message_saying_why(app, session, text, expected):
    with app.app_context():
        verdict = credentials.check_credential(session, text)
    assert verdict.status == "malformed"
    assert expected in verdict.message


def test_unsigned_and_shared_secret_tokens_are_refused(app, session, provider, candidate):
    certificate = make_certificate(app, session, provider, candidate)
    header, payload = segments(certificate.credential)
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload)}."
    with app.app_context():
        # The classic confusion: the public key's bytes used as an HMAC secret.
        public_pem = keys.signing_key(session, provider).certificate.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        # (joserfc itself refuses to make such a key, so the MAC is computed here.)
        signing_input = f"{b64({'alg': 'HS256', 'kid': header['kid']})}.{b64(payload)}"
        mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        hs256 = f"{signing_input}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"
        verdicts = [credentials.check_credential(session, t) for t in (unsigned, hs256)]
    assert verdicts[0].status == "malformed"
    assert "not signed" in verdicts[0].message
    assert verdicts[1].status == "bad-signature"
    assert "HS256" in verdicts[1].message and "RS256" in verdicts[1].message


def test_a_signed_credential_the_register_does_not_hold_is_not_valid(app, session, provider,
                                                                    candidate):
    certificate = make_certificate(app, session, provider, candidate)
    _header, payload = segments(certificate.credential)
    payload["credentialSubject"]["licenseNumber"] = "NCOL-2026-999999-0"
    with app.app_context():
        forged = jwt.encode({"alg": "RS256", "kid": segments(certificate.credential)[0]["kid"]},
                            payload, keys.signing_key(session, provider).jwk(),
                            algorithms=["RS256"])
        verdict = credentials.check_credential(session, forged)
    assert verdict.status == "unknown-issuer"
    assert "holds no certificate" in verdict.message


def test_a_credential_of_one_provider_cannot_pass_as_another(app, session, provider, candidate,
                                                            make_provider):
    other = make_provider("South College", "south-college", "SCOL")
    certificate = make_certificate(app, session, other, candidate)
    _header, payload = segments(certificate.credential)
    with app.app_context():
        did = credentials.issuer_did(provider)
        kid = keys.signing_key(session, provider).kid
        session.commit()
        # South's credential claimed under North's DID, signed with South's key.
        claimed = jwt.encode({"alg": "RS256", "kid": f"{did}#{kid}"}, payload,
                             keys.signing_key(session, other).jwk(), algorithms=["RS256"])
        verdict = credentials.check_credential(session, claimed)
    assert verdict.status == "bad-signature"


def test_an_issued_certificate_carries_a_conforming_credential_that_checks_valid(
        app, session, issued):
    _header, payload = segments(issued.credential)
    assert schema_errors(payload) == []
    unit = issued.snapshot["units"][0]
    alignment = payload["credentialSubject"]["achievement"]["alignment"][0]
    assert (alignment["targetCode"], alignment["targetUrl"]) == (unit["code"],
                                                                 unit["case_item"])
    with app.app_context():
        assert credentials.check_credential(session, issued.credential).status == "valid"
