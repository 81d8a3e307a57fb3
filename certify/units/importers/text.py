"""Reading an uploaded document as text, with the checks every text importer shares."""

from __future__ import annotations

from certify.units.importers.base import DocumentError


def decode(data: bytes) -> str:
    """Return the document as text with Unix line ends, or refuse binary data."""
    if b"\x00" in data[:8192]:
        raise DocumentError("this is a binary file, not a text document or CASE JSON")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DocumentError(
            f"the file is not UTF-8 text (byte {exc.start + 1} cannot be decoded)", line=line
        ) from None
    if not text.strip():
        raise DocumentError("the file is empty")
    return text.replace("\r\n", "\n").replace("\r", "\n")
