"""Password hashing (Argon2id) and the password rules: 12 to 128 characters, not a common one.

No composition rules (NIST SP 800-63B): length and a list of common passwords
do more than forcing digits and symbols.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 128

# argon2-cffi's defaults are Argon2id with RFC 9106's low-memory profile.
_hasher = PasswordHasher()
# Verified against when an account does not exist, so a wrong email takes as
# long to refuse as a wrong password.
_DUMMY_HASH = _hasher.hash("certify: no such account, compared only for timing")


def configure(time_cost: int, memory_kib: int) -> None:
    """Set the Argon2id cost (create_app does, from ARGON2_TIME_COST and ARGON2_MEMORY_KIB).

    Hashes made with other costs still verify, and are upgraded at the next sign-in.
    """
    global _hasher, _DUMMY_HASH
    if (_hasher.time_cost, _hasher.memory_cost) == (time_cost, memory_kib):
        return
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    _DUMMY_HASH = _hasher.hash("certify: no such account, compared only for timing")


@cache
def common_passwords() -> frozenset[str]:
    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """What is wrong with ``password`` as a new password, in words for the person choosing it."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters (this has {len(password)}).")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters (this has {len(password)}).")
    folded = password.lower()
    if folded in common_passwords() or folded.strip() in common_passwords():
        problems.append("This password is on a list of commonly used passwords; choose another.")
    personal = {email.lower(), email.lower().partition("@")[0], name.lower()} - {""}
    if folded in personal:
        problems.append("Do not use your email address or name as your password.")
    return problems


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; always does the work of one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
