"""Settings come from CERTIFY_* variables; production refuses to start without a secret."""

from __future__ import annotations

import pytest

from certify.config import ConfigError, load_config


def test_production_needs_a_secret(tmp_path):
    env = {"CERTIFY_ENV": "production", "CERTIFY_INSTANCE_PATH": str(tmp_path)}
    with pytest.raises(ConfigError, match="CERTIFY_SECRET_KEY is not set"):
        load_config(env=env)
    env["CERTIFY_SECRET_KEY"] = "x" * 40
    with pytest.raises(ConfigError, match="CERTIFY_KEY_PASSPHRASE is not set"):
        load_config(env=env)
    config = load_config(env={**env, "CERTIFY_KEY_PASSPHRASE": "y" * 40})
    assert config["SECRET_KEY"] == "x" * 40
    assert config["KEY_PASSPHRASE"] == "y" * 40


def test_development_keeps_one_generated_secret(tmp_path):
    env = {"CERTIFY_INSTANCE_PATH": str(tmp_path)}
    first = load_config(env=env)["SECRET_KEY"]
    assert len(first) > 40
    assert load_config(env=env)["SECRET_KEY"] == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    passphrase = load_config(env=env)["KEY_PASSPHRASE"]
    assert len(passphrase) > 40 and passphrase != first
    assert load_config(env=env)["KEY_PASSPHRASE"] == passphrase
    assert (tmp_path / "key_passphrase").stat().st_mode & 0o777 == 0o600


def test_database_url_defaults_to_sqlite_in_the_instance_folder(tmp_path):
    config = load_config(env={"CERTIFY_INSTANCE_PATH": str(tmp_path), "CERTIFY_ENV": "testing"})
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'certify.sqlite3'}"


def test_postgresql_urls_use_psycopg(tmp_path):
    config = load_config(env={"CERTIFY_ENV": "testing", "CERTIFY_INSTANCE_PATH": str(tmp_path),
                              "CERTIFY_DATABASE_URL": "postgresql://u@h/db"})
    assert config["DATABASE_URL"] == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CERTIFY_ENV": "staging"}, "CERTIFY_ENV must be one of development, production"),
        ({"CERTIFY_MAX_IMPORT_MB": "lots"}, "CERTIFY_MAX_IMPORT_MB must be a whole number"),
        ({"CERTIFY_PAGE_SIZE": "0"}, "CERTIFY_PAGE_SIZE must be greater than zero"),
        ({"CERTIFY_JOBS": "cron"}, "CERTIFY_JOBS must be thread or inline"),
    ],
)
def test_malformed_settings_name_the_variable(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        load_config(env={"CERTIFY_INSTANCE_PATH": str(tmp_path), **env})
