"""Certificate settings: signatory, timeliness limit, logo (typed by its bytes), and uploading a
signing key and certificate from a certification authority."""

from __future__ import annotations

import hashlib
import html
import io
import struct
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from certify.certificates.models import CertificateStatus, KeySource, SigningKey
from certify.core.models import AuditEntry
from certify.core.storage import current_storage
from tests.people import csrf_token

SETTINGS = "/certificates/settings"
UPLOAD_KEY = "/certificates/settings/key"
PASSWORD = "correct key battery"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def png(width: int = 2, height: int = 1) -> bytes:
    """A real, tiny PNG (8-bit greyscale)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture
def signed_in(world, login, client):
    assert login(world.admin).status_code in (302, 303)
    return client


def settings_token(client) -> str:
    return csrf_token(text(client.get(SETTINGS)))


def audit_actions(session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def multipart(client, url: str, fields: dict):
    """POST ``fields`` as multipart/form-data; (content, name) tuples are files.

    The body is encoded in memory: the test client would spool a large one to a temporary
    file that nothing closes."""
    values = {name: FileStorage(io.BytesIO(value[0]), filename=value[1],
                                content_type="application/octet-stream")
              if isinstance(value, tuple) else value for name, value in fields.items()}
    boundary, body = encode_multipart(values)
    return client.post(url, data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def post_settings(client, **fields):
    return multipart(client, SETTINGS, {"csrf_token": settings_token(client),
                                        "signatory_name": "", "signatory_title": "",
                                        "certificate_days": "30", **fields})


# --- signatory and timeliness ----------------------------------------------------------------


def test_settings_are_shown_saved_and_audited(app, session, world, signed_in):
    page = text(signed_in.get(SETTINGS))
    assert 'value="30"' in page
    assert "No logo is printed yet" in page
    assert "No key yet" in page
    response = post_settings(signed_in, signatory_name="  Dr  Wong Siu-ming ",
                             signatory_title="Principal", certificate_days="45")
    assert response.status_code == 303
    session.expire_all()
    provider = world.provider
    session.refresh(provider)
    assert (provider.signatory_name, provider.signatory_title, provider.certificate_days) == (
        "Dr Wong Siu-ming", "Principal", 45)
    assert "provider.certificate_settings_changed" in audit_actions(session)
    after = text(signed_in.get(SETTINGS))
    assert "The certificate settings are saved." in after
    assert 'value="Dr Wong Siu-ming"' in after and 'value="45"' in after
    # Saved again unchanged: nothing new in the audit trail.
    before = audit_actions(session).count("provider.certificate_settings_changed")
    post_settings(signed_in, signatory_name="Dr Wong Siu-ming", signatory_title="Principal",
                  certificate_days="45")
    assert audit_actions(session).count("provider.certificate_settings_changed") == before


@pytest.mark.parametrize(("fields", "message"), [
    ({"certificate_days": "0"}, "Use a number of days from 1 to 365."),
    ({"certificate_days": "366"}, "Use a number of days from 1 to 365."),
    ({"certificate_days": "thirty"}, "Use a number of days from 1 to 365."),
    ({"certificate_days": ""}, "Enter a number of days from 1 to 365."),
    ({"signatory_name": "x" * 201}, "At most 200 characters."),
    ({"signatory_title": "Principal\u200b"}, "signatory's title contains invisible control"),
])
def test_bad_settings_are_refused_and_change_nothing(app, session, world, signed_in, fields,
                                                     message):
    response = post_settings(signed_in, **{"signatory_name": "Someone", **fields})
    assert response.status_code == 422
    assert message in text(response)
    session.expire_all()
    session.refresh(world.provider)
    assert world.provider.certificate_days == 30
    assert world.provider.signatory_name is None


def test_only_admins_reach_the_settings(app, session, world, login, client):
    assert client.get(SETTINGS).status_code == 302  # to sign in
    login(world.candidate)
    assert client.get(SETTINGS).status_code == 403
    token = csrf_token(text(client.get("/account")))
    assert client.post(SETTINGS, data={"csrf_token": token,
                                       "certificate_days": "5"}).status_code == 403
    assert client.post(UPLOAD_KEY, data={"csrf_token": token}).status_code == 403
    session.refresh(world.provider)
    assert world.provider.certificate_days == 30


# --- the logo ---------------------------------------------------------------------------------


def stored(app, key: str) -> bytes:
    with app.app_context(), current_storage().open_verified(key) as file:
        return file.read()


def test_a_png_logo_is_stored_and_can_be_removed(app, session, world, signed_in):
    image = png()
    response = post_settings(signed_in, logo=(image, "crest.png"))
    assert response.status_code == 303, text(response)
    session.expire_all()
    session.refresh(world.provider)
    key = world.provider.logo_key
    assert key and stored(app, key) == image
    assert key.endswith(hashlib.sha256(image).hexdigest())
    assert "provider.certificate_logo_changed" in audit_actions(session)
    page = text(signed_in.get(SETTINGS))
    assert "A logo is printed on new certificates." in page and "Remove the logo" in page

    assert post_settings(signed_in, remove_logo="y").status_code == 303
    session.expire_all()
    session.refresh(world.provider)
    assert world.provider.logo_key is None
    assert "provider.certificate_logo_removed" in audit_actions(session)
    # The bytes stay: the same logo may be another provider's, and issued PDFs embed their own.
    assert stored(app, key) == image


def test_a_jpeg_logo_is_accepted(app, session, world, signed_in):
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
    response = post_settings(signed_in, logo=(jpeg + b"\xff\xd9", "crest.jpg"))
    assert response.status_code == 303, text(response)
    session.refresh(world.provider)
    assert world.provider.logo_key


@pytest.mark.parametrize(("content", "name", "message"), [
    (b"MZ\x90\x00" + b"\x00" * 200, "crest.png",
     "crest.png is a Windows executable, not an accepted file type; the logo must be a PNG or "
     "JPEG image."),
    (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "crest.gif",
     "crest.gif is a GIF image; the logo must be a PNG or JPEG image."),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "crest.png",
     "crest.png is an SVG image"),
    (png() + b"\x00" * (1024 * 1024), "huge.png", "huge.png is larger than 1 MB"),
])
def test_a_logo_that_is_not_a_png_or_jpeg_is_refused(app, session, world, signed_in, content,
                                                     name, message):
    response = post_settings(signed_in, signatory_name="Someone",
                             logo=(content, name))
    assert response.status_code == 422
    assert message in text(response)
    session.expire_all()
    session.refresh(world.provider)
    # Nothing changed, the other settings included.
    assert world.provider.logo_key is None
    assert world.provider.signatory_name is None
    assert "provider.certificate_logo_changed" not in audit_actions(session)


# --- the signing key --------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "North College")])


def _certificate(key, issuer_key, issuer: x509.Name, subject: x509.Name, *, days: int = 365,
                 ca: bool = False, starts: int = -1) -> x509.Certificate:
    now = datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now + timedelta(days=starts))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256()))


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key, password: str | None = None) -> bytes:
    encryption = (serialization.BestAvailableEncryption(password.encode()) if password
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             encryption)


@pytest.fixture(scope="module")
def pki() -> dict[str, bytes]:
    """A small certification authority and a provider key it certified, plus bad material."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = _name("Test Certification Authority")
    leaf = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # Deliberately too short: the upload must refuse it.
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    subject = _name("North College certificates")
    return {
        "key": _key_pem(leaf, PASSWORD),
        "plain_key": _key_pem(leaf),
        "certificate": _pem(_certificate(leaf, ca_key, ca_name, subject)),
        "expired": _pem(_certificate(leaf, ca_key, ca_name, subject, days=-1, starts=-30)),
        "future": _pem(_certificate(leaf, ca_key, ca_name, subject, days=400, starts=30)),
        "other_key": _key_pem(other),
        "short_key": _key_pem(short),
        "short_certificate": _pem(_certificate(short, ca_key, ca_name, subject)),
        "ec_key": _key_pem(ec.generate_private_key(ec.SECP256R1())),
        "ca_certificate": _pem(_certificate(ca_key, ca_key, ca_name, ca_name, ca=True)),
    }


def upload(client, key: bytes | None, certificate: bytes | None, password: str = "",
           key_name: str = "north.key", certificate_name: str = "north.crt"):
    data = {"csrf_token": settings_token(client), "key_password": password}
    if key is not None:
        data["key"] = (key, key_name)
    if certificate is not None:
        data["certificate"] = (certificate, certificate_name)
    return multipart(client, UPLOAD_KEY, data)


def keys_of(session, provider) -> list[SigningKey]:
    session.expire_all()
    return list(session.scalars(select(SigningKey).where(SigningKey.provider_id == provider.id)
                                .order_by(SigningKey.id)))


def test_an_authority_certified_key_replaces_the_generated_one(app, session, world, issued,
                                                               signed_in, pki):
    [generated] = keys_of(session, world.provider)
    assert generated.source == KeySource.GENERATED
    page = text(signed_in.get(SETTINGS))
    assert generated.kid in page and "Generated (self-signed)" in page
    assert "Certificates issued before stay valid" in page

    response = upload(signed_in, pki["key"], pki["certificate"], PASSWORD)
    assert response.status_code == 303, text(response)
    old, new = keys_of(session, world.provider)
    assert old.id == generated.id and old.retired_at is not None
    assert new.source == KeySource.UPLOADED and new.retired_at is None
    assert "CN=North College certificates" in new.subject
    # Stored encrypted with the application's passphrase, never as uploaded.
    assert "ENCRYPTED PRIVATE KEY" in new.private_key
    assert pki["plain_key"].decode() != new.private_key
    page = text(signed_in.get(SETTINGS))
    assert f"The uploaded key ({new.kid}) now signs new certificates." in page
    assert "Certificates issued before stay valid" in page
    active, earlier = page.split("Earlier keys")
    assert new.kid in active and "Uploaded" in active
    assert old.kid in earlier
    session.refresh(issued)
    assert issued.status == CertificateStatus.VALID
    assert "signing_key.uploaded" in audit_actions(session)


def test_an_unencrypted_key_needs_no_password(app, session, world, signed_in, pki):
    assert upload(signed_in, pki["plain_key"], pki["certificate"]).status_code == 303
    [row] = keys_of(session, world.provider)
    assert row.source == KeySource.UPLOADED


@pytest.mark.parametrize(("key", "certificate", "password", "field", "message"), [
    ("key", "certificate", "wrong password", "key_password",
     "The password does not open this key."),
    ("key", "certificate", "", "key_password", "The key is encrypted: enter its password."),
    ("plain_key", "certificate", "unneeded", "key_password",
     "The key is not encrypted: leave its password empty."),
    ("plain_key", "expired", "", "certificate", "The certificate expired on"),
    ("plain_key", "future", "", "certificate", "The certificate is not valid until"),
    ("other_key", "certificate", "", "certificate",
     "The certificate is for a different key than the one uploaded."),
    ("not_pem", "certificate", "", "key", "The key file is not a PEM private key"),
    ("plain_key", "not_pem", "", "certificate",
     "The certificate file is not a PEM X.509 certificate"),
    ("ec_key", "certificate", "", "key", "The key must be an RSA key"),
    ("short_key", "short_certificate", "", "key", "The key has 1024 bits; at least 2048"),
    ("plain_key", "ca_certificate", "", "certificate", "different key"),
    ("missing", "certificate", "", "key", "Choose the PEM file of the private key."),
    ("plain_key", "missing", "", "certificate", "Choose the PEM file of the certificate."),
    ("huge", "certificate", "", "key", "north.key is larger than 64 KB"),
])
def test_unusable_keys_are_refused_on_their_field(app, session, world, signed_in, pki, key,
                                                  certificate, password, field, message):
    material = {**pki, "not_pem": b"hello, this is not a key\n", "missing": None,
                "huge": b"-----BEGIN PRIVATE KEY-----\n" + b"A" * 70_000}
    response = upload(signed_in, material[key], material[certificate], password)
    assert response.status_code == 422
    body = text(response)
    assert message in body
    # The message sits on its field (the error paragraph tied to the input).
    assert f'id="{field}-error"' in body
    assert keys_of(session, world.provider) == []
    assert "signing_key.uploaded" not in audit_actions(session)
