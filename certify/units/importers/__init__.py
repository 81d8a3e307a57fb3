"""Importers for published competency standards, one module per format.

``parse_document`` detects the format from the content (never from the file
name) and returns a ``ParsedDocument``; nothing here touches the database.
"""

from __future__ import annotations

from types import ModuleType

from certify.units.importers import case, hkqf, proficiency, sfia
from certify.units.importers.base import DocumentError, ParsedDocument
from certify.units.importers.text import decode

# Order matters: the more specific shapes are tried first.
FORMATS: dict[str, ModuleType] = {
    "case": case,
    "hkqf": hkqf,
    "sfia": sfia,
    "proficiency": proficiency,
}
FORMAT_NAMES = {
    "case": "1EdTech CASE 1.1 JSON",
    "hkqf": "HK QF unit of competency",
    "sfia": "SFIA skill page",
    "proficiency": "capability page with proficiency levels",
}


def detect_format(data: bytes) -> str:
    """Name the format of ``data``, or raise DocumentError saying what was expected."""
    if case.looks_like(data):
        return "case"
    text = decode(data)
    for name, module in FORMATS.items():
        if name != "case" and module.looks_like(text):
            return name
    raise DocumentError(
        "the format was not recognised; expected one of: " + "; ".join(FORMAT_NAMES.values())
    )


def parse_document(data: bytes, source: str, format: str | None = None) -> ParsedDocument:
    """Parse ``data`` (named ``source`` in messages) in the given or detected format."""
    try:
        name = format or detect_format(data)
        if name not in FORMATS:
            raise DocumentError(
                f"unknown format {name!r}; known formats: {', '.join(FORMATS)}"
            )
        return FORMATS[name].parse(data)
    except DocumentError as error:
        raise error.located(source) from None


__all__ = ["FORMATS", "DocumentError", "ParsedDocument", "detect_format", "parse_document"]
