"""What verifiers fetch, without signing in: issuer profile, keys, DID document, status list.

The signature checks here use only what the endpoints publish, as an outside
verifier would.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import func, select

from certify.certificates import credentials, keys, status_list
from certify.certificates.models import SigningKey
from certify.certificates.operations.revocation import revoke_certificate
from tests.certificates.test_credentials import make_certificate, revoke, segments

ROUTES = ["/issuers/{slug}", "/issuers/{slug}/jwks.json", "/issuers/{slug}/did.json",
          "/issuers/{slug}/status/revocation", "/issuers/{slug}/status/revocation.jwt"]


def get_json(client, path: str, **kwargs):
    response = client.get(path, **kwargs)
    assert response.status_code == 200, (path, response.status_code)
    return response, json.loads(response.get_data(as_text=True))


def published_keys(client, slug: str) -> KeySet:
    _response, jwks = get_json(client, f"/issuers/{slug}/jwks.json")
    return KeySet.import_key_set(jwks)


def key_for(token: str, key_set: KeySet) -> RSAKey:
    """The published key a VC-JWT names: its kid is a DID URL whose fragment is the
    key's kid (thumbprint) in the JWKS."""
    header, _payload = segments(token)
    return key_set.get_by_kid(header["kid"].rpartition("#")[2])


def test_issuer_profile_is_public_json(app, client, provider):
    response, profile = get_json(client, "/issuers/north-college")
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    with app.app_context():
        assert profile["id"] == credentials.issuer_did(provider)
    assert profile["type"] == ["Profile"]
    assert profile["name"] == "North College"
    assert profile["@context"][0] == "https://www.w3.org/ns/credentials/v2"


@pytest.mark.parametrize("route", ROUTES)
def test_unknown_issuers_are_not_found(client, provider, route):
    assert client.get(route.format(slug="no-such-college")).status_code == 404


@pytest.mark.parametrize("route", ROUTES[:4])
def test_issuer_routes_only_answer_reads(client, provider, route):
    assert client.post(route.format(slug="north-college")).status_code == 405


def test_a_provider_without_a_key_publishes_none_and_gets_none_on_get(client, session, provider):
    response, jwks = get_json(client, "/issuers/north-college/jwks.json")
    assert response.mimetype == "application/jwk-set+json"
    assert jwks == {"keys": []}
    _response, document = get_json(client, "/issuers/north-college/did.json")
    assert document["verificationMethod"] == [] and document["assertionMethod"] == []
    # The list is served (all clear); only its signed form needs a key.
    _response, listed = get_json(client, "/issuers/north-college/status/revocation")
    assert not status_list.is_revoked(listed["credentialSubject"]["encodedList"], 0)
    assert client.get("/issuers/north-college/status/revocation.jwt").status_code == 404
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(SigningKey)) == 0


def test_credential_verifies_with_only_the_published_jwks(app, client, session, provider,
                                                         candidate):
    certificate = make_certificate(app, session, provider, candidate)
    key_set = published_keys(client, "north-college")
    (published,) = key_set.keys
    assert published.as_dict(private=False) == published.as_dict()
    assert "d" not in published.as_dict() and published.kid == published.thumbprint()
    header, _payload = segments(certificate.credential)
    assert header["kid"].endswith(f"#{published.kid}")
    token = jwt.decode(certificate.credential, published, algorithms=["RS256"])
    assert token.claims["credentialSubject"]["licenseNumber"] == certificate.number
    # A key of someone else does not verify it.
    stranger = RSAKey.import_key(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    with pytest.raises(BadSignatureError):
        jwt.decode(certificate.credential, stranger, algorithms=["RS256"])


def test_did_document_resolves_the_credentials_kid(app, client, session, provider, candidate):
    certificate = make_certificate(app, session, provider, candidate)
    header, payload = segments(certificate.credential)
    # did:web resolution, done as a verifier does: the DID's host and path, then did.json.
    did, _, fragment = header["kid"].partition("#")
    assert did == payload["iss"]
    path = "/" + "/".join(did.split(":")[3:]) + "/did.json"
    assert path == "/issuers/north-college/did.json"
    response, document = get_json(client, path)
    assert response.mimetype == "application/did+json"
    assert document["id"] == did
    (method,) = document["verificationMethod"]
    assert method == {"id": header["kid"], "type": "JsonWebKey2020", "controller": did,
                      "publicKeyJwk": method["publicKeyJwk"]}
    assert document["assertionMethod"] == [header["kid"]]
    assert method["publicKeyJwk"]["kid"] == fragment and "d" not in method["publicKeyJwk"]
    jwt.decode(certificate.credential, RSAKey.import_key(method["publicKeyJwk"]),
               algorithms=["RS256"])


def test_revoking_flips_the_bit_in_the_served_list(app, client, session, provider, candidate,
                                                   admin):
    certificate = make_certificate(app, session, provider, candidate)
    other = make_certificate(app, session, provider, candidate)
    _header, payload = segments(certificate.credential)
    entry = payload["credentialStatus"]
    index = int(entry["statusListIndex"])
    path = entry["statusListCredential"].removeprefix(app.config["BASE_URL"])
    assert path == "/issuers/north-college/status/revocation"

    response, before = get_json(client, path)
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "Accept" in response.headers["Vary"]
    assert not status_list.is_revoked(before["credentialSubject"]["encodedList"], index)
    with app.app_context():
        assert credentials.check_credential(session, certificate.credential).status == "valid"

    with app.app_context():
        revoke_certificate(session, certificate, actor=admin,
                           reason="Evidence found not to be the candidate's own work.")
        session.commit()
    _response, after = get_json(client, path)
    assert status_list.is_revoked(after["credentialSubject"]["encodedList"], index)
    assert not status_list.is_revoked(after["credentialSubject"]["encodedList"],
                                      other.status_index)
    with app.app_context():
        verdict = credentials.check_credential(session, certificate.credential)
        assert credentials.check_credential(session, other.credential).status == "valid"
    assert verdict.status == "revoked"
    assert verdict.reason == "Evidence found not to be the candidate's own work."


def test_signed_status_list_verifies_with_the_published_keys(app, client, session, provider,
                                                            candidate):
    certificate = make_certificate(app, session, provider, candidate)
    revoke(session, certificate, "Issued in error.")
    key_set = published_keys(client, "north-college")
    by_suffix = client.get("/issuers/north-college/status/revocation.jwt")
    by_accept = client.get("/issuers/north-college/status/revocation",
                           headers={"Accept": "application/vc+jwt"})
    for response in (by_suffix, by_accept):
        assert response.status_code == 200
        assert response.mimetype == "application/vc+jwt"
        assert response.headers["Cache-Control"] == "no-cache"
        body = response.get_data(as_text=True)
        token = jwt.decode(body, key_for(body, key_set), algorithms=["RS256"])
        claims = token.claims
        assert claims["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
        assert claims["iss"] == claims["issuer"]
        assert status_list.is_revoked(claims["credentialSubject"]["encodedList"],
                                      certificate.status_index)
    # A browser's Accept still gets JSON.
    response = client.get("/issuers/north-college/status/revocation",
                          headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.mimetype == "application/json"


def test_unchanged_keys_answer_not_modified(app, client, session, provider, candidate):
    make_certificate(app, session, provider, candidate)
    first = client.get("/issuers/north-college/jwks.json")
    again = client.get("/issuers/north-college/jwks.json",
                       headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_retired_keys_stay_published_so_old_credentials_still_verify(
        app, client, session, provider, candidate, admin):
    old = make_certificate(app, session, provider, candidate)
    with app.app_context():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        certificate = keys.self_signed_certificate(key, provider)
        keys.upload_signing_key(
            session, provider, actor=admin, key_password=None,
            key_pem=key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()),
            certificate_pem=certificate.public_bytes(serialization.Encoding.PEM))
        session.commit()
    new = make_certificate(app, session, provider, candidate)
    assert segments(old.credential)[0]["kid"] != segments(new.credential)[0]["kid"]
    key_set = published_keys(client, "north-college")
    assert len(key_set.keys) == 2
    for certificate in (old, new):
        jwt.decode(certificate.credential, key_for(certificate.credential, key_set),
                   algorithms=["RS256"])
    _response, document = get_json(client, "/issuers/north-college/did.json")
    assert len(document["assertionMethod"]) == 2
    with app.app_context():
        assert credentials.check_credential(session, old.credential).status == "valid"
        assert credentials.check_credential(session, new.credential).status == "valid"


def test_endpoints_use_base_url_not_the_request_host(app, client, provider, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "https://register.example.hk")
    _response, profile = get_json(client, "/issuers/north-college",
                                  headers={"Host": "attacker.example"})
    assert profile["id"] == "did:web:register.example.hk:issuers:north-college"
    _response, listed = get_json(client, "/issuers/north-college/status/revocation")
    assert listed["id"] == "https://register.example.hk/issuers/north-college/status/revocation"
    assert datetime.fromisoformat(listed["validFrom"]) <= datetime.now(UTC)
