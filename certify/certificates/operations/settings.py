"""The provider's certificate settings: who signs, how long candidates may wait, the logo.

These change what future certificates print; certificates already issued keep
what they froze at issue (their snapshot and stored PDF).  Every change is
audited.  A logo's bytes are streamed to a temporary file, typed by their bytes
(PNG or JPEG only) and stored content-addressed; replaced or removed logos are
not deleted, because the same bytes may be another provider's logo too.
"""

from __future__ import annotations

import os
import tempfile
import unicodedata
from collections.abc import Iterator
from typing import IO

from sqlalchemy.orm import Session

from certify.accounts.models import Provider, User
from certify.accounts.operations.people import change_provider_settings
from certify.core import audit, filetypes
from certify.core.storage import current_storage

SIGNATORY_MAX = 200
DAYS_MIN, DAYS_MAX = 1, 365
LOGO_MAX_BYTES = 1024 * 1024
LOGO_TYPES = frozenset({filetypes.PNG.media_type, filetypes.JPEG.media_type})
CHUNK_SIZE = 64 * 1024


class SettingsRefused(ValueError):
    """A setting cannot be saved; ``field`` names the form field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _text(value: str | None, label: str, field: str) -> str | None:
    text = " ".join(unicodedata.normalize("NFC", value or "").split())
    if len(text) > SIGNATORY_MAX:
        raise SettingsRefused(f"The {label} is {len(text)} characters long; at most "
                              f"{SIGNATORY_MAX} fit.", field)
    if any(unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs") for char in text):
        raise SettingsRefused(f"The {label} contains invisible control characters; type it "
                              "again.", field)
    return text or None


def update_certificate_settings(
    session: Session, provider: Provider, *, actor: User, signatory_name: str | None,
    signatory_title: str | None, certificate_days: int,
) -> Provider:
    """Set who signs future certificates and after how many days a waiting candidate is
    flagged.  Raises SettingsRefused (nothing changes); flushes and audits what changed."""
    values = {
        "signatory_name": _text(signatory_name, "signatory's name", "signatory_name"),
        "signatory_title": _text(signatory_title, "signatory's title", "signatory_title"),
    }
    if (not isinstance(certificate_days, int) or isinstance(certificate_days, bool)
            or not DAYS_MIN <= certificate_days <= DAYS_MAX):
        raise SettingsRefused(f"Use a number of days from {DAYS_MIN} to {DAYS_MAX}.",
                              "certificate_days")
    values["certificate_days"] = certificate_days
    return change_provider_settings(
        session, provider, values, action="provider.certificate_settings_changed", actor=actor)


def display_name(filename: str | None) -> str:
    """A file's name as quoted in messages: its last part, printable, not too long."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if char.isprintable()).strip() or "The file"
    return name if len(name) <= 80 else name[:77] + "..."


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    file.seek(0)
    while chunk := file.read(CHUNK_SIZE):
        yield chunk


def set_logo(session: Session, provider: Provider, stream: IO[bytes], filename: str | None,
             *, actor: User) -> Provider:
    """Store the PNG or JPEG read from ``stream`` as the logo of future certificates.

    At most 1 MB; the type is decided by the bytes, never by the name.  Raises
    SettingsRefused naming the file (nothing is stored then); flushes and audits.
    """
    name = display_name(filename)
    fd, spool_path = tempfile.mkstemp(prefix="certify-logo-")
    try:
        with os.fdopen(fd, "w+b") as spool:
            size = 0
            while chunk := stream.read(CHUNK_SIZE):
                size += len(chunk)
                if size > LOGO_MAX_BYTES:
                    raise SettingsRefused(f"{name} is larger than 1 MB; use a smaller image.",
                                          "logo")
                spool.write(chunk)
            spool.flush()
            try:
                found = filetypes.detect(spool)
            except filetypes.Refused as refusal:
                raise SettingsRefused(f"{name} {refusal.reason}; the logo must be a PNG or "
                                      "JPEG image.", "logo") from None
            if found.media_type not in LOGO_TYPES:
                raise SettingsRefused(f"{name} is a {found.label}; the logo must be a PNG or "
                                      "JPEG image.", "logo")
            stored = current_storage().save(_chunks(spool))
    finally:
        os.unlink(spool_path)
    previous = provider.logo_key
    provider.logo_key = stored.key
    session.flush()
    audit.record(session, "provider.certificate_logo_changed", actor=actor, provider=provider,
                 target=provider, changes={"logo_key": [previous, stored.key],
                                           "sha256": stored.sha256, "size": stored.size,
                                           "type": found.media_type})
    return provider


def remove_logo(session: Session, provider: Provider, *, actor: User) -> Provider:
    """Print future certificates without a logo.  Flushes and audits."""
    if provider.logo_key is None:
        return provider
    previous, provider.logo_key = provider.logo_key, None
    session.flush()
    audit.record(session, "provider.certificate_logo_removed", actor=actor, provider=provider,
                 target=provider, changes={"logo_key": [previous, None]})
    return provider
