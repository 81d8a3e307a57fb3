"""What verifiers fetch about an issuer, public and without sign-in.

Credentials name their issuer by a did:web (``did:web:<host>:issuers:<slug>``),
which resolves to ``/issuers/<slug>/did.json``; the same keys are published as
a JWKS, and each provider's revocation list as a Bitstring Status List
credential (JSON, or signed as a VC-JWT).  Everything here is read-only and
built from the register on each request: nothing is created on a GET (a
provider that has issued nothing yet publishes an empty key set).

Verifiers in browsers fetch these from other sites, so they are served with
``Access-Control-Allow-Origin: *``; they hold nothing private.  The status list
must show a revocation at once, so caches revalidate it every time.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, request
from sqlalchemy import select

from certify.accounts.models import Provider
from certify.certificates import bp, credentials, keys, status_list
from certify.extensions import db

# Keys and profiles change rarely (a new key, a renamed provider): a short cache.
PROFILE_CACHE = "public, max-age=300"
# Revocation must show at once: store, but ask the server every time.
STATUS_CACHE = "no-cache"
JWT_TYPE = "application/vc+jwt"


def _provider(slug: str) -> Provider:
    provider = db.session.scalar(select(Provider).where(Provider.slug == slug))
    if provider is None:
        abort(404)
    return provider


def _respond(body: str, mimetype: str, cache: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = cache
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.add_etag()
    return response.make_conditional(request)


def _json(value: dict[str, Any], mimetype: str = "application/json",
          cache: str = PROFILE_CACHE) -> Response:
    return _respond(json.dumps(value, ensure_ascii=False, indent=2), mimetype, cache)


@bp.get("/issuers/<slug>")
def issuer_profile(slug: str):
    """The provider as an Open Badges 3.0 issuer Profile."""
    provider = _provider(slug)
    did = credentials.issuer_did(provider)
    return _json({
        "@context": [credentials.VC_CONTEXT, credentials.OB_CONTEXT],
        "id": did,
        "type": ["Profile"],
        "name": provider.name,
        "url": credentials.issuer_profile_url(provider.slug),
        "otherIdentifier": [{"type": "IdentifierEntry", "identifier": provider.slug,
                             "identifierType": "systemId"}],
    })


def _public_keys(provider: Provider) -> list[dict[str, Any]]:
    return [keys.public_jwk(row) for row in keys.provider_keys(db.session, provider)]


@bp.get("/issuers/<slug>/jwks.json")
def issuer_jwks(slug: str):
    """Every key the provider ever signed with (retired ones too, so that what they
    signed still verifies); public parts only, kid = RFC 7638 thumbprint."""
    provider = _provider(slug)
    return _json({"keys": _public_keys(provider)}, "application/jwk-set+json")


@bp.get("/issuers/<slug>/did.json")
def issuer_did_document(slug: str):
    """The provider's did:web DID document: its keys as verification methods that may
    assert credentials (JsonWebKey2020, which did:web resolvers widely understand)."""
    provider = _provider(slug)
    did = credentials.issuer_did(provider)
    methods = [{"id": f"{did}#{jwk['kid']}", "type": "JsonWebKey2020", "controller": did,
                "publicKeyJwk": jwk} for jwk in _public_keys(provider)]
    return _json({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did,
        "alsoKnownAs": [credentials.issuer_profile_url(provider.slug)],
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
    }, "application/did+json")


def _signed_status_list(provider: Provider) -> Response:
    row = keys.active_key(db.session, provider)
    if row is None:
        # No key yet means nothing issued, so no credential points at this list; a key is
        # never made on a GET.
        abort(404)
    token = credentials.sign_credential(
        status_list.status_list_credential(db.session, provider), keys.load(row))
    return _respond(token, JWT_TYPE, STATUS_CACHE)


@bp.get("/issuers/<slug>/status/revocation")
def status_list_json(slug: str):
    """The provider's revocation list (Bitstring Status List credential); signed as a
    VC-JWT when the client asks for application/vc+jwt."""
    provider = _provider(slug)
    wanted = request.accept_mimetypes.best_match(["application/json", JWT_TYPE])
    if wanted == JWT_TYPE and request.accept_mimetypes[JWT_TYPE] > \
            request.accept_mimetypes["application/json"]:
        response = _signed_status_list(provider)
    else:
        response = _json(status_list.status_list_credential(db.session, provider),
                         cache=STATUS_CACHE)
    response.vary.add("Accept")
    return response


@bp.get("/issuers/<slug>/status/revocation.jwt")
def status_list_jwt(slug: str):
    """The provider's revocation list, signed as a VC-JWT."""
    return _signed_status_list(_provider(slug))
