"""Typing by bytes: every accepted type recognised, every hostile file named and refused."""

from __future__ import annotations

import io
import re

import pytest

from certify.core.filetypes import PREVIEWABLE, ArchiveLimits, Refused, detect
from certify.evidence.uploads import display_name_for
from tests.evidence.hostile import HOSTILE, VALID, build, zip_of


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return tmp_path_factory.mktemp("corpus")


@pytest.mark.parametrize("case", VALID, ids=lambda case: case.id)
def test_accepted_types(case, corpus):
    with build(case, corpus).open("rb") as file:
        assert detect(file).media_type == case.media_type


# The upload layer, not typing, refuses these (size limit, virus scanner).
TYPED = [case for case in HOSTILE if not case.needs]


@pytest.mark.parametrize("case", TYPED, ids=lambda case: case.id)
def test_hostile_files(case, corpus):
    with build(case, corpus).open("rb") as file:
        if case.refused is None:
            assert detect(file).media_type == case.media_type
            return
        with pytest.raises(Refused) as refusal:
            detect(file)
    message = f"{display_name_for(case.filename)} {refusal.value.reason}"
    assert re.search(case.refused, message), message


def test_corpus_is_big_enough():
    assert len(HOSTILE) >= 30


def test_type_comes_from_bytes_not_name(corpus):
    pdf = next(case for case in VALID if case.id == "pdf")
    with build(pdf, corpus).open("rb") as file:
        assert detect(file).media_type == "application/pdf"  # saved as a.pdf, named .bin


def test_previewable_types_are_images_and_pdf_only():
    assert {"application/pdf", "image/png", "image/jpeg", "image/gif",
            "image/webp"} == PREVIEWABLE


def test_total_size_budget_is_shared_across_nesting(tmp_path):
    """Two inner archives each under the limit, together over it: refused."""
    inner = zip_of({"a.txt": b"a" * 600_000})
    outer = zip_of({"one.zip": inner, "two.zip": inner}, compression=0)
    limits = ArchiveLimits(max_total_size=1_100_000)
    with pytest.raises(Refused, match="unpack to more than 1 MB"):
        detect(io.BytesIO(outer), limits)
    assert detect(io.BytesIO(outer)).media_type == "application/zip"


def test_total_size_limit_without_a_suspicious_ratio():
    """Incompressible data under the ratio limit but over the size budget: refused."""
    import os

    archive = zip_of({"a.bin": os.urandom(3 * 1024 * 1024)}, compression=0)
    with pytest.raises(Refused, match="unpack to more than 2 MB"):
        detect(io.BytesIO(archive), ArchiveLimits(max_total_size=2 * 1024 * 1024))
    assert detect(io.BytesIO(archive)).media_type == "application/zip"


def test_entry_count_read_before_parsing(tmp_path, monkeypatch):
    """The count comes from the end record: zipfile never builds 100,000 entries."""
    import zipfile

    from tests.evidence.hostile import write_many_entries

    path = tmp_path / "many.zip"
    write_many_entries(path, 70_000)  # past 65,535: the zip64 end record
    monkeypatch.setattr(zipfile, "ZipFile", None)
    with path.open("rb") as file, pytest.raises(Refused, match="70,000 entries"):
        detect(file)


def test_long_text_is_read_in_chunks():
    data = ("línea de texto\n" * 100_000).encode()
    assert detect(io.BytesIO(data)).media_type == "text/plain"
    with pytest.raises(Refused):
        detect(io.BytesIO(data + b"\xff"))
