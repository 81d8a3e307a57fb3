"""Alembic, driven from code: one history in migrations/, revisions named by date and slug."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from alembic.config import Config
from sqlalchemy import Connection

from certify import ROOT

MIGRATIONS = ROOT / "migrations"


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(rev)s")
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def revision_id(message: str, today: datetime | None = None) -> str:
    """'Add enrolments' on 24 Nov 2026 -> '2026_11_24_add_enrolments'."""
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40] or "revision"
    return f"{(today or datetime.now(UTC)):%Y_%m_%d}_{slug}"
