"""Providers' signing keys: made once, stored only encrypted, replaced by upload, never lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from certify.certificates import keys
from certify.certificates.models import KeySource


def ca_issued(key: rsa.RSAPrivateKey) -> bytes:
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "North College")]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example CA")]))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
        .sign(ca_key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM)


def test_a_key_is_made_once_and_stored_only_encrypted(app, session, provider):
    with app.app_context():
        first = keys.signing_key(session, provider)
        again = keys.signing_key(session, provider)
        assert again.kid == first.kid and len(keys.provider_keys(session, provider)) == 1
        stored = first.row.private_key
        assert stored.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        with pytest.raises(TypeError):
            serialization.load_pem_private_key(stored.encode(), password=None)
        with pytest.raises(ValueError, match="Incorrect password"):
            serialization.load_pem_private_key(stored.encode(), password=b"not the passphrase")
        assert first.private_key.key_size == keys.KEY_BITS
        assert first.row.source == KeySource.GENERATED
        assert first.certificate.subject == first.certificate.issuer  # self-signed
        assert keys.public_jwk(first.row)["kid"] == first.kid == keys.thumbprint(
            first.private_key.public_key())
        assert "d" not in keys.public_jwk(first.row)


def test_an_uploaded_key_takes_over_and_the_old_one_stays_published(app, session, provider,
                                                                     admin):
    uploaded = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = uploaded.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.BestAvailableEncryption(b"open sesame"))
    with app.app_context():
        generated = keys.signing_key(session, provider)
        row = keys.upload_signing_key(session, provider, key_pem=pem,
                                      certificate_pem=ca_issued(uploaded),
                                      key_password="open sesame", actor=admin)
        assert row.source == KeySource.UPLOADED and "Example CA" not in row.subject
        assert keys.signing_key(session, provider).kid == row.kid != generated.kid
        published = [k.kid for k in keys.provider_keys(session, provider)]
        assert published == [row.kid, generated.kid]
        assert generated.row.retired_at is not None


@pytest.mark.parametrize(("password", "field", "message"), [
    (None, "key_password", "encrypted: enter its password"),
    ("wrong", "key_password", "does not open this key"),
])
def test_an_encrypted_key_needs_its_password(app, session, provider, admin, password, field,
                                            message):
    uploaded = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = uploaded.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.BestAvailableEncryption(b"right"))
    with app.app_context(), pytest.raises(keys.UnusableKey, match=message) as refused:
        keys.upload_signing_key(session, provider, key_pem=pem,
                                certificate_pem=ca_issued(uploaded), key_password=password,
                                actor=admin)
    assert refused.value.field == field
    assert keys.provider_keys(session, provider) == []
