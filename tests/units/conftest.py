"""Catalogue fixtures: documents go through the same operation as `certify units import`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from certify.units import operations
from certify.units.importers import parse_document

HKQF = "004_01fdc294d607b990.txt"
SFIA_CELO_EN = "000_017560b9a563fecc.txt"
SFIA_CELO_PL = "001_372c5a881296ff2d.txt"
CAPABILITY = "002_e850d09c50e20893.txt"
SFIA_CEXP = "003_219ced0e9604f067.txt"
ALL_SEEDS = [HKQF, SFIA_CELO_EN, SFIA_CELO_PL, CAPABILITY, SFIA_CEXP]


@pytest.fixture
def import_bytes(session):
    """Import ``data`` as the file ``name`` and commit, as the CLI does."""

    def run(data: bytes, name: str = "document.txt") -> operations.ImportReport:
        parsed = parse_document(data, name)
        report = operations.import_document(
            session, parsed, source_name=name, source_sha256=hashlib.sha256(data).hexdigest()
        )
        session.commit()
        return report

    return run


@pytest.fixture
def import_seed(seeds: Path, import_bytes):
    def run(name: str) -> operations.ImportReport:
        return import_bytes((seeds / name).read_bytes(), name)

    return run
