"""Providers' signing keys: made on first use or uploaded, stored only encrypted.

One RSA key per provider signs both the PDFs (PAdES, with its X.509
certificate) and the credentials (VC-JWT RS256, published as a JWK whose
``kid`` is the key's RFC 7638 thumbprint).  A generated key comes with a
self-signed certificate; a provider may upload a key and a certificate from a
certification authority instead, which retires the previous key (it stays
published so that what it signed still verifies).  Private keys are kept as
encrypted PKCS#8, the passphrase coming from configuration (KEY_PASSPHRASE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import current_app
from joserfc.jwk import RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from certify.accounts.models import Provider, User
from certify.certificates.models import KeySource, SigningKey
from certify.core import audit
from certify.core.types import utcnow

KEY_BITS = 3072
CERTIFICATE_YEARS = 10
# Keys shorter than this are refused on upload (NIST SP 800-131A).
MIN_UPLOAD_BITS = 2048


class UnusableKey(ValueError):
    """An uploaded key or certificate is unusable; ``field`` names the form field."""

    def __init__(self, message: str, field: str = "certificate") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class LoadedKey:
    """A signing key ready to use: the row, the private key and its certificate."""

    row: SigningKey
    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def kid(self) -> str:
        return self.row.kid

    def jwk(self) -> RSAKey:
        """The private key as a JOSE key (for signing)."""
        return RSAKey.import_key(self.private_key, {"kid": self.kid, "alg": "RS256",
                                                    "use": "sig"})


def _passphrase() -> bytes:
    return current_app.config["KEY_PASSPHRASE"].encode()


def encrypt_private_key(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(_passphrase()),
    ).decode()


def decrypt_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=_passphrase())
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def thumbprint(public_key: rsa.RSAPublicKey) -> str:
    return RSAKey.import_key(public_key).thumbprint()


def public_jwk(row: SigningKey) -> dict:
    """The published form of a key: public parts only, with kid, alg and use."""
    certificate = x509.load_pem_x509_certificate(row.certificate_pem.encode())
    key = RSAKey.import_key(certificate.public_key(), {"kid": row.kid, "alg": "RS256",
                                                       "use": "sig"})
    return key.as_dict(private=False)


def load(row: SigningKey) -> LoadedKey:
    return LoadedKey(row, decrypt_private_key(row.private_key),
                     x509.load_pem_x509_certificate(row.certificate_pem.encode()))


def self_signed_certificate(key: rsa.RSAPrivateKey, provider: Provider) -> x509.Certificate:
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, provider.name[:64]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, provider.name[:64]),
    ])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * CERTIFICATE_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )


def provider_keys(session: Session, provider: Provider) -> list[SigningKey]:
    """Every key the provider ever had, newest first (all are published)."""
    return list(session.scalars(
        select(SigningKey).where(SigningKey.provider_id == provider.id)
        .order_by(SigningKey.created_at.desc(), SigningKey.id.desc())
    ))


def active_key(session: Session, provider: Provider) -> SigningKey | None:
    return session.scalars(
        select(SigningKey).where(SigningKey.provider_id == provider.id,
                                 SigningKey.retired_at.is_(None))
        .order_by(SigningKey.id.desc()).limit(1)
    ).first()


def _store(session: Session, provider: Provider, key: rsa.RSAPrivateKey,
           certificate: x509.Certificate, source: KeySource, actor: User | None) -> SigningKey:
    for old in session.scalars(select(SigningKey).where(
            SigningKey.provider_id == provider.id, SigningKey.retired_at.is_(None))):
        old.retired_at = utcnow()
    row = SigningKey(
        provider_id=provider.id, kid=thumbprint(key.public_key()),
        private_key=encrypt_private_key(key),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
        source=source, subject=certificate.subject.rfc4514_string()[:500],
        not_after=certificate.not_valid_after_utc, created_by_id=getattr(actor, "id", None),
    )
    session.add(row)
    session.flush()
    audit.record(session, f"signing_key.{source.value}", actor=actor, provider=provider,
                 target=row, changes={"kid": row.kid, "subject": row.subject,
                                      "not_after": row.not_after.isoformat()})
    return row


def signing_key(session: Session, provider: Provider, *, actor: User | None = None) -> LoadedKey:
    """The provider's current key, generated (with a self-signed certificate) on first use.

    Locks nothing itself; issuing calls it after taking the certificate counter's
    row, so two first issues cannot both generate a key.  Flushes and audits.
    """
    row = active_key(session, provider)
    if row is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        row = _store(session, provider, key, self_signed_certificate(key, provider),
                     KeySource.GENERATED, actor)
    return load(row)


def upload_signing_key(
    session: Session, provider: Provider, *, key_pem: bytes, certificate_pem: bytes,
    key_password: str | None, actor: User,
) -> SigningKey:
    """Replace the provider's key with an uploaded RSA key and its X.509 certificate.

    Refuses (UnusableKey naming the field) a file that is not PEM, a key that is not
    RSA or shorter than 2048 bits, a wrong password, a certificate that is expired
    or not yet valid, or one whose public key is not the key's.  Flushes and audits.
    """
    try:
        key = serialization.load_pem_private_key(
            key_pem, password=key_password.encode() if key_password else None)
    except TypeError:
        if key_password:
            raise UnusableKey("The key is not encrypted: leave its password empty.",
                            "key_password") from None
        raise UnusableKey("The key is encrypted: enter its password.", "key_password") from None
    except ValueError:
        if key_password and b"ENCRYPTED" in key_pem:
            raise UnusableKey("The password does not open this key.", "key_password") from None
        raise UnusableKey("The key file is not a PEM private key (-----BEGIN PRIVATE KEY-----).",
                        "key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UnusableKey("The key must be an RSA key (credentials are signed with RS256).", "key")
    if key.key_size < MIN_UPLOAD_BITS:
        raise UnusableKey(f"The key has {key.key_size} bits; at least {MIN_UPLOAD_BITS} are "
                        "needed.", "key")
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError:
        raise UnusableKey("The certificate file is not a PEM X.509 certificate "
                        "(-----BEGIN CERTIFICATE-----).") from None
    now = datetime.now(UTC)
    if certificate.not_valid_after_utc <= now:
        raise UnusableKey(f"The certificate expired on {certificate.not_valid_after_utc:%d %b %Y}.")
    if certificate.not_valid_before_utc > now:
        raise UnusableKey("The certificate is not valid until "
                        f"{certificate.not_valid_before_utc:%d %b %Y}.")
    if certificate.public_key().public_numbers() != key.public_key().public_numbers():
        raise UnusableKey("The certificate is for a different key than the one uploaded.")
    return _store(session, provider, key, certificate, KeySource.UPLOADED, actor)
