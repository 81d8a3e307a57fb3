"""The revocation list: W3C Bitstring Status List encoding, and which bits are set."""

from __future__ import annotations

import base64
import gzip

import pytest

from certify.certificates import status_list
from certify.certificates.models import CertificateStatus
from tests.certificates.test_credentials import make_certificate, revoke


def raw_bits(encoded: str) -> bytes:
    assert encoded.startswith("u"), "encodedList must carry the multibase base64url prefix"
    body = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_encoding_is_multibase_base64url_of_gzip_without_padding():
    bits = bytearray(status_list.MIN_BITS // 8)
    bits[0] = 0x80  # index 0 is the left-most bit
    bits[1] = 0x40  # index 9
    encoded = status_list.encode(bits)
    assert encoded.startswith("u")
    assert not set("=+/") & set(encoded)
    assert raw_bits(encoded) == bytes(bits)
    assert status_list.encode(bits) == encoded, "the same list encodes to the same text"
    assert status_list.is_revoked(encoded, 0)
    assert status_list.is_revoked(encoded, 9)
    assert not any(status_list.is_revoked(encoded, i) for i in (1, 7, 8, 10, 131_071))
    # Lists written without the multibase prefix (StatusList2021) still read.
    assert status_list.is_revoked(encoded[1:], 9)


def test_lists_hold_at_least_the_privacy_minimum_in_whole_blocks():
    assert status_list.MIN_BITS == 131_072
    assert status_list.list_size(None) == 131_072
    assert status_list.list_size(0) == 131_072
    assert status_list.list_size(131_071) == 131_072
    assert status_list.list_size(131_072) == 262_144


def test_reading_a_bit_outside_the_list_or_a_broken_list_is_an_error():
    encoded = status_list.encode(bytearray(status_list.MIN_BITS // 8))
    with pytest.raises(IndexError, match="outside the list"):
        status_list.is_revoked(encoded, status_list.MIN_BITS)
    with pytest.raises(IndexError):
        status_list.is_revoked(encoded, -1)
    with pytest.raises(status_list.MalformedStatusList, match="not GZIP"):
        status_list.is_revoked("u" + base64.urlsafe_b64encode(b"plain").decode(), 0)
    with pytest.raises(status_list.MalformedStatusList, match="not base64url"):
        status_list.is_revoked("u!!!", 0)
    with pytest.raises(status_list.MalformedStatusList, match="cut short"):
        status_list.is_revoked(encoded[: 1 + 4 * (len(encoded) // 8)], 0)
    bomb = status_list.encode(bytes(status_list.MAX_DECODED_BYTES + 1))
    with pytest.raises(status_list.MalformedStatusList, match="larger than"):
        status_list.is_revoked(bomb, 0)


def test_only_this_providers_revoked_certificates_set_bits(app, session, provider, candidate,
                                                          make_provider):
    kept = make_certificate(app, session, provider, candidate)
    revoked = make_certificate(app, session, provider, candidate)
    superseded = make_certificate(app, session, provider, candidate)
    other = make_provider("South College", "south-college", "SCOL")
    elsewhere = make_certificate(app, session, other, candidate)
    superseded.status = CertificateStatus.SUPERSEDED
    session.commit()
    with app.app_context():
        before = status_list.encoded_list(session, provider)
    revoke(session, revoked, "Issued in error.")
    revoke(session, elsewhere, "Issued in error.")
    with app.app_context():
        after = status_list.encoded_list(session, provider)
    assert len(raw_bits(after)) * 8 == status_list.MIN_BITS
    assert not status_list.is_revoked(before, revoked.status_index)
    assert status_list.is_revoked(after, revoked.status_index)
    assert not status_list.is_revoked(after, kept.status_index)
    # Superseded is not revocation: its bit stays clear.
    assert not status_list.is_revoked(after, superseded.status_index)
    # South's revocation is in South's list only (both lists count from 0).
    assert elsewhere.status_index == kept.status_index
    assert sum(bin(b).count("1") for b in raw_bits(after)) == 1


def test_the_list_grows_by_whole_blocks_past_the_first(app, session, provider, candidate):
    certificate = make_certificate(app, session, provider, candidate)
    certificate.status_index = 131_072 + 5
    session.commit()
    revoke(session, certificate, "Issued in error.")
    with app.app_context():
        encoded = status_list.encoded_list(session, provider)
    assert len(raw_bits(encoded)) * 8 == 2 * status_list.MIN_BITS
    assert status_list.is_revoked(encoded, 131_077)


def test_status_list_credential_shape(app, session, provider, candidate):
    certificate = make_certificate(app, session, provider, candidate)
    revoke(session, certificate, "Issued in error.")
    with app.app_context():
        credential = status_list.status_list_credential(session, provider)
        url = status_list.list_url(provider.slug)
    assert url == f"{app.config['BASE_URL']}/issuers/north-college/status/revocation"
    assert credential["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert credential["id"] == url
    assert credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert credential["issuer"].startswith("did:web:")
    subject = credential["credentialSubject"]
    assert subject["type"] == "BitstringStatusList"
    assert subject["statusPurpose"] == "revocation"
    assert subject["id"] == f"{url}#list"
    assert status_list.is_revoked(subject["encodedList"], certificate.status_index)
