"""Certificate numbers and verification codes.

A number reads PREFIX-YEAR-SEQUENCE-CHECK (HTC-2026-000042-5): the provider's
prefix, the year of issue, a sequence per provider and year, and a Luhn check
digit over year and sequence, so a mistyped digit is caught before any look-up.
Sequences come from a counter row incremented with UPDATE ... RETURNING, which
holds the row lock until the transaction ends: concurrent issuers on
PostgreSQL wait their turn and never share a number, and a number is never
reused (the unique index on the number stands behind it).

The verification code in a certificate's address is separate and random (192
bits), so knowing one certificate's number does not lead to another's page.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certify.certificates.models import Counter

SEQUENCE_DIGITS = 6
NUMBER_PATTERN = re.compile(r"^([A-Z0-9]{1,12})-(\d{4})-(\d{6,})-(\d)$")
CODE_BYTES = 24


def luhn_digit(digits: str) -> int:
    """The Luhn check digit for ``digits``."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def format_number(prefix: str, year: int, sequence: int) -> str:
    body = f"{year:04d}{sequence:0{SEQUENCE_DIGITS}d}"
    return f"{prefix}-{year:04d}-{sequence:0{SEQUENCE_DIGITS}d}-{luhn_digit(body)}"


class MalformedNumber(ValueError):
    """What a typed certificate number gets wrong, said so a person can fix it."""


def normalise_number(text: str) -> str:
    """``text`` as a well-formed certificate number, or MalformedNumber saying what is wrong."""
    number = re.sub(r"\s+", "", text or "").upper().replace("\u2013", "-").replace("\u2014", "-")
    if not number:
        raise MalformedNumber("Enter the certificate number printed on the certificate.")
    match = NUMBER_PATTERN.match(number)
    if match is None:
        raise MalformedNumber(
            f"{text.strip()[:60]!r} is not a certificate number; they look like "
            "HTC-2026-000042-5 (prefix, year, sequence, check digit).")
    _prefix, year, sequence, check = match.groups()
    if luhn_digit(year + sequence) != int(check):
        raise MalformedNumber(
            f"The check digit of {number} does not match: a digit is probably mistyped.")
    return number


def verification_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def next_value(session: Session, provider_id: int, name: str) -> int:
    """Increment and return the provider's counter ``name`` (starting at 1).

    The row is created on first use; a racing creator's duplicate insert fails
    inside a savepoint and the increment goes ahead on the row that won.
    """
    statement = (
        update(Counter)
        .where(Counter.provider_id == provider_id, Counter.name == name)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    )
    value = session.execute(statement).scalar()
    if value is None:
        try:
            with session.begin_nested():
                session.execute(insert(Counter).values(provider_id=provider_id, name=name,
                                                       value=0))
        except IntegrityError:
            pass
        value = session.execute(statement).scalar_one()
    return value


def next_number(session: Session, provider_id: int, prefix: str, year: int) -> tuple[str, int]:
    """The next certificate number of the provider for ``year``, and its sequence."""
    sequence = next_value(session, provider_id, f"number-{year}")
    return format_number(prefix, year, sequence), sequence


def next_status_index(session: Session, provider_id: int) -> int:
    """The next free bit of the provider's revocation status list (0-based)."""
    return next_value(session, provider_id, "status-list") - 1


def counter_value(session: Session, provider_id: int, name: str) -> int:
    return session.scalar(select(Counter.value).where(
        Counter.provider_id == provider_id, Counter.name == name)) or 0
