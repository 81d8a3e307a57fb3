"""Each provider's revocation list, published as a W3C Bitstring Status List.

Every certificate gets one bit (``Certificate.status_index``) when it is issued;
the bit is set while the certificate is revoked.  A verifier fetches the list
named by the credential's ``credentialStatus`` and reads the bit, so a
revocation shows at once, without the credential itself changing.

Encoding, as the Bitstring Status List v1.0 specification requires: the
bitstring is at least 16 KB (131,072 entries) so that one certificate's bit
cannot be told apart from the crowd, bit 0 is the left-most (most significant)
bit of the first byte, and ``encodedList`` is the GZIP-compressed bitstring,
base64url-encoded without padding and marked with the multibase prefix "u".

Only revocation is published here: a superseded certificate was replaced, not
withdrawn, so its bit stays clear and the verification page says which number
replaced it.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certify.accounts.models import Provider
from certify.certificates.models import Certificate, CertificateStatus
from certify.core.types import utcnow

# The specification's privacy minimum: 16 KB of bits.
MIN_BITS = 16 * 1024 * 8
MULTIBASE_BASE64URL = "u"
# A list larger than this is refused on decoding (a gzip bomb, or not ours).
MAX_DECODED_BYTES = 16 * 1024 * 1024
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"


class MalformedStatusList(ValueError):
    """An ``encodedList`` that is not multibase base64url GZIP data."""


def list_url(slug: str) -> str:
    """The address of a provider's revocation list (credentials point here)."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/issuers/{slug}/status/revocation"


def list_size(highest_index: int | None) -> int:
    """Bits in the list: whole 131,072-bit blocks covering every index handed out."""
    needed = 0 if highest_index is None else highest_index + 1
    blocks = max(1, -(-needed // MIN_BITS))
    return blocks * MIN_BITS


def encode(bits: bytes | bytearray) -> str:
    # mtime=0: the same list always encodes to the same text (stable ETags).
    compressed = gzip.compress(bytes(bits), compresslevel=9, mtime=0)
    return MULTIBASE_BASE64URL + base64.urlsafe_b64encode(compressed).decode().rstrip("=")


def decode(encoded: str) -> bytes:
    """The raw bitstring of an ``encodedList`` (the "u" prefix may be missing, as in the
    older StatusList2021 lists)."""
    text = (encoded or "").strip()
    if text.startswith(MULTIBASE_BASE64URL):
        text = text[1:]
    try:
        compressed = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_",
                                      validate=True)
    except (binascii.Error, ValueError):
        raise MalformedStatusList("encodedList is not base64url text") from None
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        bits = inflater.decompress(compressed, MAX_DECODED_BYTES + 1)
    except zlib.error:
        raise MalformedStatusList("encodedList is not GZIP-compressed") from None
    if len(bits) > MAX_DECODED_BYTES or inflater.unconsumed_tail:
        raise MalformedStatusList("encodedList is larger than any status list here")
    if not inflater.eof or not bits:
        raise MalformedStatusList("encodedList is cut short or empty")
    return bits


def encoded_list(session: Session, provider: Provider) -> str:
    """The provider's revocation bitstring, encoded for ``encodedList``."""
    highest = session.scalar(select(func.max(Certificate.status_index))
                             .where(Certificate.provider_id == provider.id))
    bits = bytearray(list_size(highest) // 8)
    revoked = session.scalars(select(Certificate.status_index).where(
        Certificate.provider_id == provider.id,
        Certificate.status == CertificateStatus.REVOKED))
    for index in revoked:
        bits[index // 8] |= 0x80 >> (index % 8)
    return encode(bits)


def is_revoked(encoded: str, index: int) -> bool:
    """Whether bit ``index`` of an ``encodedList`` is set.

    Raises MalformedStatusList for text that is not a status list, and IndexError for
    an index beyond its end (a verifier must not read that as "not revoked").
    """
    bits = decode(encoded)
    if index < 0 or index >= len(bits) * 8:
        raise IndexError(f"status list index {index} is outside the list "
                         f"(0 to {len(bits) * 8 - 1})")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(session: Session, provider: Provider) -> dict[str, Any]:
    """The provider's revocation list as a BitstringStatusListCredential (unsigned; the
    issuers view also serves it signed as a VC-JWT)."""
    from certify.certificates.credentials import issuer_did

    url = list_url(provider.slug)
    return {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "name": f"{provider.name}: revoked certificates",
        "issuer": issuer_did(provider),
        "validFrom": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded_list(session, provider),
        },
    }
