"""Settings, read from CERTIFY_* environment variables.

Every setting has one name in the environment (``CERTIFY_<NAME>``) and one key in
``app.config`` (``<NAME>``).  ``load_config`` returns the mapping that
``create_app`` installs; explicit overrides (tests, scripts) win over the
environment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENVIRONMENTS = ("development", "production", "testing")


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


def default_instance_path() -> Path:
    return Path(__file__).resolve().parent.parent / "instance"


def normalise_database_url(url: str) -> str:
    """Pick the psycopg 3 driver for plain ``postgresql://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(f"CERTIFY_{name}")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"CERTIFY_{name} must be a whole number, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"CERTIFY_{name} must be greater than zero, not {value}")
    return value


def _generated_once(instance: Path, filename: str) -> str:
    """A random secret kept in the instance folder, so that it survives a restart of
    `make run` (development only)."""
    path = instance / filename
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


def _secret(variable: str, environment: str, instance: Path, filename: str,
            production_message: str) -> str:
    """A secret setting: required in production, random per run in tests, generated once
    into the instance folder in development."""
    if environment == "production":
        raise ConfigError(f"{variable} is not set; {production_message}")
    if environment == "testing":
        return secrets.token_urlsafe(32)
    return _generated_once(instance, filename)


def _secret_key(env: Mapping[str, str], environment: str, instance: Path) -> str:
    return env.get("CERTIFY_SECRET_KEY", "") or _secret(
        "CERTIFY_SECRET_KEY", environment, instance, "secret_key",
        'production mode needs a long random secret (for example: python -c "import secrets; '
        'print(secrets.token_urlsafe(48))")')


def _key_passphrase(environment: str, instance: Path) -> str:
    return _secret(
        "CERTIFY_KEY_PASSPHRASE", environment, instance, "key_passphrase",
        "production mode needs a long random passphrase to encrypt the providers' signing "
        "keys (keep it apart from the database backups)")


def load_config(
    overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return the application settings from ``env`` (default: os.environ) and overrides."""
    env = os.environ if env is None else env
    overrides = dict(overrides or {})
    environment = overrides.get("ENV") or env.get("CERTIFY_ENV", "development")
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            f"CERTIFY_ENV must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}"
        )
    instance = Path(
        overrides.get("INSTANCE_PATH")
        or env.get("CERTIFY_INSTANCE_PATH")
        or default_instance_path()
    )
    database_url = overrides.get("DATABASE_URL") or env.get("CERTIFY_DATABASE_URL") or (
        f"sqlite:///{instance / 'certify.sqlite3'}"
    )
    config: dict[str, Any] = {
        "ENV": environment,
        "TESTING": environment == "testing",
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": normalise_database_url(database_url),
        "SQL_ECHO": env.get("CERTIFY_SQL_ECHO", "") == "1",
        "MAX_IMPORT_MB": _int(env, "MAX_IMPORT_MB", 5),
        "PAGE_SIZE": _int(env, "PAGE_SIZE", 25),
        # Argon2id cost; the test suite, which hashes thousands of passwords, runs cheaper.
        "ARGON2_TIME_COST": _int(env, "ARGON2_TIME_COST", 1 if environment == "testing" else 3),
        "ARGON2_MEMORY_KIB": _int(
            env, "ARGON2_MEMORY_KIB", 8192 if environment == "testing" else 65536
        ),
        "SMTP_URL": env.get("CERTIFY_SMTP_URL", ""),
        "MAIL_FROM": env.get("CERTIFY_MAIL_FROM", "no-reply@certify.localhost"),
        "BASE_URL": env.get("CERTIFY_BASE_URL", "http://127.0.0.1:5000"),
        "SESSION_IDLE_MINUTES": _int(env, "SESSION_IDLE_MINUTES", 30),
        "SESSION_MAX_HOURS": _int(env, "SESSION_MAX_HOURS", 12),
        "LOGIN_FAILURES_PER_ACCOUNT": _int(env, "LOGIN_FAILURES_PER_ACCOUNT", 5),
        "LOGIN_FAILURES_PER_ADDRESS": _int(env, "LOGIN_FAILURES_PER_ADDRESS", 20),
        "LOGIN_THROTTLE_MINUTES": _int(env, "LOGIN_THROTTLE_MINUTES", 15),
        "RESET_TOKEN_HOURS": _int(env, "RESET_TOKEN_HOURS", 2),
        "INVITATION_DAYS": _int(env, "INVITATION_DAYS", 14),
        # Evidence files: where they are stored (empty: the folder instance/blobs;
        # file:///folder; s3://bucket/prefix?endpoint_url=...&region=...), the largest
        # file accepted, each candidate's total, and the clamd daemon that scans every
        # upload (tcp://host:3310 or unix:///path; empty: no scanning).
        "STORAGE_URL": env.get("CERTIFY_STORAGE_URL", ""),
        "MAX_UPLOAD_MB": _int(env, "MAX_UPLOAD_MB", 500),
        "CANDIDATE_QUOTA_MB": _int(env, "CANDIDATE_QUOTA_MB", 5120),
        "CLAMD_URL": env.get("CERTIFY_CLAMD_URL", ""),
        # Certificates: the passphrase that encrypts providers' signing keys (required in
        # production; kept in the instance folder in development), Redis for bulk-issue
        # workers (empty: jobs run in a thread of the web process; "inline" runs them at
        # once, as the tests do), how many wkhtmltopdf processes render at once (default:
        # one per core), and /verify's limit per address per minute.
        "KEY_PASSPHRASE": env.get("CERTIFY_KEY_PASSPHRASE", ""),
        "REDIS_URL": env.get("CERTIFY_REDIS_URL", ""),
        "JOBS": env.get("CERTIFY_JOBS", "inline" if environment == "testing" else "thread"),
        "RENDER_PROCESSES": _int(env, "RENDER_PROCESSES", os.cpu_count() or 1),
        "VERIFY_PER_MINUTE": _int(env, "VERIFY_PER_MINUTE", 30),
        "SESSION_COOKIE_NAME": "certify_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure cookies everywhere but on the developer's own plain-HTTP machine.
        "SESSION_COOKIE_SECURE": environment == "production",
    }
    if "SECRET_KEY" not in overrides:
        config["SECRET_KEY"] = _secret_key(env, environment, instance)
    if not (overrides.get("KEY_PASSPHRASE") or config["KEY_PASSPHRASE"]):
        config["KEY_PASSPHRASE"] = _key_passphrase(environment, instance)
    if config["JOBS"] not in ("thread", "inline"):
        raise ConfigError(f"CERTIFY_JOBS must be thread or inline, not {config['JOBS']!r}")
    config.update(overrides)
    if config["SMTP_URL"]:
        from certify.core.mail import parse_smtp_url

        try:
            parse_smtp_url(config["SMTP_URL"])
        except ValueError as error:
            raise ConfigError(str(error)) from None
    config["DATABASE_URL"] = normalise_database_url(config["DATABASE_URL"])
    # Werkzeug refuses larger request bodies before a view reads them: room for ten
    # standards documents at once (each is also checked against MAX_IMPORT_MB), or for
    # one evidence file (checked against MAX_UPLOAD_MB while it streams to storage).
    largest_mb = max(10 * config["MAX_IMPORT_MB"], config["MAX_UPLOAD_MB"])
    config.setdefault("MAX_CONTENT_LENGTH", largest_mb * 1024 * 1024 + 64 * 1024)
    return config
