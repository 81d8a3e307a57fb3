"""What a file is, decided from its bytes against an allow-list.

The name and the client's Content-Type are never consulted: a program renamed
``essay.pdf`` is still a program, and the refusal says so.  Accepted: PDF; Word,
Excel and PowerPoint (OOXML and the older compound-file formats); OpenDocument;
PNG, JPEG, GIF and WebP images; MP3, WAV, Ogg and M4A audio; MP4, MOV and WebM
video; UTF-8 plain text; zip.  HTML, SVG and XML are refused outright (they run
script in a browser).

A small table of signatures is used instead of a sniffing library on purpose:
the list of accepted types is short and fixed, the refusals have to name what a
file is (executables especially), and Office files, zip archives and compound
files need their insides checked anyway, which no such library does.

Zip-based files (zip, OOXML, OpenDocument) are checked from the central
directory before anything is unpacked: entry count, declared decompressed size
and compression ratio.  Archives nested inside are unpacked only into a bounded
temporary file and checked the same way, to a limited depth, sharing one budget.
"""

from __future__ import annotations

import codecs
import re
import struct
import tempfile
import zipfile
from dataclasses import dataclass
from typing import IO

HEAD_SIZE = 8192
READ_CHUNK = 256 * 1024


@dataclass(frozen=True)
class FileType:
    media_type: str
    label: str


@dataclass(frozen=True)
class ArchiveLimits:
    """What a zip-based upload may hold, all levels of nesting together."""

    max_entries: int = 10_000
    max_total_size: int = 2 * 1024**3
    # Text compresses about 10:1 and office XML up to about 30:1; bombs reach 1000:1.
    max_ratio: int = 100
    # Entries smaller than this are not judged by their ratio (tiny files compress oddly).
    ratio_floor: int = 1024 * 1024
    max_depth: int = 3


class Refused(ValueError):
    """The bytes are not an accepted file; ``reason`` reads after the file's name."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


ACCEPTED = (
    "PDF, Word, Excel, PowerPoint, OpenDocument, PNG, JPEG, GIF, WebP, MP3, WAV, Ogg, M4A, "
    "MP4, MOV, WebM, plain text (UTF-8) and zip"
)

PDF = FileType("application/pdf", "PDF document")
PNG = FileType("image/png", "PNG image")
JPEG = FileType("image/jpeg", "JPEG image")
GIF = FileType("image/gif", "GIF image")
WEBP = FileType("image/webp", "WebP image")
MP3 = FileType("audio/mpeg", "MP3 audio")
WAV = FileType("audio/wav", "WAV audio")
OGG = FileType("audio/ogg", "Ogg audio")
M4A = FileType("audio/mp4", "M4A audio")
MP4 = FileType("video/mp4", "MP4 video")
MOV = FileType("video/quicktime", "QuickTime video")
WEBM = FileType("video/webm", "WebM video")
TEXT = FileType("text/plain", "plain text")
ZIP = FileType("application/zip", "zip archive")
DOCX = FileType(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word document"
)
XLSX = FileType(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel workbook"
)
PPTX = FileType(
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "PowerPoint presentation",
)
DOC = FileType("application/msword", "Word 97-2003 document")
XLS = FileType("application/vnd.ms-excel", "Excel 97-2003 workbook")
PPT = FileType("application/vnd.ms-powerpoint", "PowerPoint 97-2003 presentation")
OPENDOCUMENT = {
    "application/vnd.oasis.opendocument.text": "OpenDocument text",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument spreadsheet",
    "application/vnd.oasis.opendocument.presentation": "OpenDocument presentation",
    "application/vnd.oasis.opendocument.graphics": "OpenDocument drawing",
}

# Types a browser may show inline (downloads.py adds a sandboxing CSP).
PREVIEWABLE = frozenset({PDF.media_type, PNG.media_type, JPEG.media_type, GIF.media_type,
                         WEBP.media_type})

# Known things that are not evidence, by their first bytes: refused by name.
FORBIDDEN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "a Linux executable (ELF)"),
    (b"\xfe\xed\xfa\xce", "a macOS executable (Mach-O)"),
    (b"\xfe\xed\xfa\xcf", "a macOS executable (Mach-O)"),
    (b"\xce\xfa\xed\xfe", "a macOS executable (Mach-O)"),
    (b"\xcf\xfa\xed\xfe", "a macOS executable (Mach-O)"),
    (b"\xca\xfe\xba\xbe", "a macOS universal executable or Java class file"),
    (b"#!", "a script"),
    (b"\x00asm", "a WebAssembly module"),
    (b"dex\n", "an Android executable"),
    (b"\x4c\x00\x00\x00\x01\x14\x02\x00", "a Windows shortcut"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
)

# The WHATWG sniffing rules' HTML openers: a browser that ignored our headers would
# render these as a page, so they are refused whatever else they might be.
_HTML_OPENERS = (
    b"<!doctype html", b"<html", b"<head", b"<script", b"<iframe", b"<h1", b"<div", b"<font",
    b"<table", b"<a", b"<style", b"<title", b"<b", b"<body", b"<br", b"<p", b"<!--",
    b"<object", b"<embed", b"<meta", b"<link", b"<img", b"<form", b"<base",
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_PDF_HEADER = re.compile(rb"%PDF-\d\.\d")


def _read_at(file: IO[bytes], offset: int, size: int) -> bytes:
    file.seek(offset)
    return file.read(size)


def _size_of(file: IO[bytes]) -> int:
    file.seek(0, 2)
    return file.tell()


def detect(file: IO[bytes], limits: ArchiveLimits | None = None) -> FileType:
    """The accepted type of the seekable binary ``file``, or Refused saying what it is."""
    limits = limits or ArchiveLimits()
    size = _size_of(file)
    head = _read_at(file, 0, HEAD_SIZE)
    if not head:
        raise Refused("is empty")
    for magic, what in FORBIDDEN_MAGIC:
        if head.startswith(magic):
            raise Refused(f"is {what}, not an accepted file type")
    found = _binary_type(file, head, size, limits)
    if found is not None:
        return found
    _refuse_markup(head)
    if _is_utf8_text(file):
        return TEXT
    raise Refused(f"is not an accepted file type (accepted: {ACCEPTED})")


def _binary_type(
    file: IO[bytes], head: bytes, size: int, limits: ArchiveLimits
) -> FileType | None:
    if head.startswith(b"%PDF"):
        if not _PDF_HEADER.match(head):
            raise Refused("is a damaged PDF (its header is incomplete)")
        tail = _read_at(file, max(0, size - 1024), 1024)
        if b"%%EOF" not in tail:
            raise Refused("is an incomplete PDF (it has no end-of-file marker)")
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return WAV
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Refused("is UTF-16 text, not an accepted file type (save it as UTF-8)")
    if head.startswith(b"ID3") or _mpeg_audio_frame(head):
        return MP3
    if head.startswith(b"OggS"):
        return OGG
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return M4A
        if brand == b"qt  ":
            return MOV
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"heif"):
            raise Refused("is an HEIC or AVIF image, not an accepted file type "
                          "(save it as JPEG or PNG)")
        return MP4
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"pnot"):
        return MOV
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        if b"webm" in head[:64]:
            return WEBM
        raise Refused("is a Matroska video, not an accepted file type (save it as MP4 or WebM)")
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _compound_file_type(file)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_type(file, size, limits)
    return None


def _mpeg_audio_frame(head: bytes) -> bool:
    """An MP3 without an ID3 tag starts with a frame header: sync bits, layer II or III."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, sampling = head[2] >> 4, (head[2] >> 2) & 3
    return version != 1 and layer in (1, 2) and bitrate not in (0, 15) and sampling != 3


def _refuse_markup(head: bytes) -> None:
    text = head.lstrip(b"\xef\xbb\xbf").lstrip(b" \t\r\n\x0c").lower()
    if text.startswith((b"<svg", b"<!doctype svg")) or (
        text.startswith(b"<?xml") and b"<svg" in text
    ):
        raise Refused("is an SVG image, which can carry script; save it as PNG instead")
    if text.startswith(b"<?xml"):
        raise Refused("is an XML document, not an accepted file type")
    for opener in _HTML_OPENERS:
        if text.startswith(opener) and text[len(opener) : len(opener) + 1] in (b" ", b">", b""):
            raise Refused("is an HTML page, which can carry script; save it as PDF instead")


def _is_utf8_text(file: IO[bytes]) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    file.seek(0)
    try:
        first = True
        while chunk := file.read(READ_CHUNK):
            text = decoder.decode(chunk)
            if first:
                text = text.removeprefix("\ufeff")
                first = False
            if _CONTROL.search(text):
                return False
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


# --- compound files (legacy Office) ---------------------------------------------------

_FREE = 0xFFFFFFFF
_END_OF_CHAIN = 0xFFFFFFFE


def _compound_file_type(file: IO[bytes]) -> FileType:
    """Word, Excel or PowerPoint 97-2003, by the stream names in the compound file."""
    names = _compound_file_names(file)
    if "WordDocument" in names:
        return DOC
    if "Workbook" in names or "Book" in names:
        return XLS
    if "PowerPoint Document" in names:
        return PPT
    raise Refused(
        "is a compound file that is not a Word, Excel or PowerPoint document (for example "
        "a Windows Installer package), not an accepted file type"
    )


def _compound_file_names(file: IO[bytes]) -> set[str]:
    damaged = Refused("is a damaged Office document")
    header = _read_at(file, 0, 512)
    if len(header) < 512:
        raise damaged
    shift = struct.unpack_from("<H", header, 0x1E)[0]
    if shift not in (9, 12):
        raise damaged
    sector = 1 << shift
    first_directory = struct.unpack_from("<I", header, 0x30)[0]
    fat_sectors = [s for s in struct.unpack_from("<109I", header, 0x4C) if s != _FREE]
    fat: list[int] = []
    for fat_sector in fat_sectors:
        data = _read_at(file, (fat_sector + 1) * sector, sector)
        if len(data) < sector:
            raise damaged
        fat.extend(struct.unpack(f"<{sector // 4}I", data))
    names: set[str] = set()
    current, seen = first_directory, set()
    # Directory sectors come early in real files; the cap bounds hostile chains.
    while current not in (_END_OF_CHAIN, _FREE) and len(seen) < 4096:
        if current in seen or current >= len(fat):
            break
        seen.add(current)
        data = _read_at(file, (current + 1) * sector, sector)
        for offset in range(0, len(data) - 127, 128):
            length = struct.unpack_from("<H", data, offset + 0x40)[0]
            if 2 <= length <= 64:
                raw = data[offset : offset + length - 2]
                names.add(raw.decode("utf-16-le", "replace"))
        current = fat[current]
    return names


# --- zip archives ---------------------------------------------------------------------


def _zip_entry_count(file: IO[bytes], size: int) -> int:
    """The entry count from the end-of-central-directory record, before zipfile parses it.

    zipfile builds an object per entry; a hostile archive with millions of them
    would cost gigabytes before any check could run.
    """
    tail_size = min(size, 65535 + 22)
    tail = _read_at(file, size - tail_size, tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        raise Refused("is a damaged zip archive")
    count = struct.unpack_from("<H", tail, at + 10)[0]
    if count == 0xFFFF and at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07":
        zip64_offset = struct.unpack_from("<Q", tail, at - 20 + 8)[0]
        record = _read_at(file, zip64_offset, 56)
        if len(record) < 56 or not record.startswith(b"PK\x06\x06"):
            raise Refused("is a damaged zip archive")
        count = struct.unpack_from("<Q", record, 32)[0]
    return count


@dataclass
class _Budget:
    entries: int
    size: int


def _check_zip(
    file: IO[bytes], size: int, limits: ArchiveLimits, budget: _Budget, depth: int
) -> zipfile.ZipFile:
    count = _zip_entry_count(file, size)
    if count > budget.entries:
        raise Refused(
            f"is an archive with {count:,} entries, more than the {limits.max_entries:,} "
            "accepted"
        )
    try:
        archive = zipfile.ZipFile(file)
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError,
            EOFError, OSError):
        raise Refused("is a damaged zip archive") from None
    budget.entries -= len(infos)
    if budget.entries < 0:
        raise Refused(f"is an archive with more than {limits.max_entries:,} entries")
    compressed_total = 0
    declared_total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise Refused("is a password-protected archive, which cannot be checked")
        declared_total += info.file_size
        compressed_total += info.compress_size
        budget.size -= info.file_size
        if budget.size < 0:
            raise Refused(
                "is an archive that would unpack to more than "
                f"{limits.max_total_size // 1024**2:,} MB, the most accepted"
            )
        if info.file_size > limits.ratio_floor and (
            info.compress_size == 0 or info.file_size / info.compress_size > limits.max_ratio
        ):
            raise Refused(_bomb(limits))
    if declared_total > limits.ratio_floor and (
        compressed_total == 0 or declared_total / compressed_total > limits.max_ratio
    ):
        raise Refused(_bomb(limits))
    for info in infos:
        _check_nested(archive, info, limits, budget, depth)
    return archive


def _bomb(limits: ArchiveLimits) -> str:
    return (
        "is an archive that would unpack to far more than its size (a zip bomb); an "
        f"archive may unpack to at most {limits.max_ratio} times its packed size"
    )


_NESTED_NAMES = (".zip", ".docx", ".xlsx", ".pptx", ".docm", ".odt", ".ods", ".odp", ".odg",
                 ".jar", ".apk", ".epub")


def _check_nested(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ArchiveLimits, budget: _Budget,
    depth: int,
) -> None:
    """Unpack an archive inside the archive into a bounded temporary file and check it."""
    if info.is_dir() or info.file_size < 22:
        return
    try:
        with archive.open(info) as entry:
            magic = entry.read(4)
    except (zipfile.BadZipFile, NotImplementedError, ValueError, EOFError, OSError):
        raise Refused("is a damaged zip archive") from None
    if magic not in (b"PK\x03\x04", b"PK\x05\x06") and not info.filename.lower().endswith(
        _NESTED_NAMES
    ):
        return
    if depth >= limits.max_depth:
        raise Refused(f"holds archives nested more than {limits.max_depth} deep")
    with tempfile.TemporaryFile() as inner:
        written = 0
        try:
            with archive.open(info) as entry:
                # Never more than the entry declared: a lying header is a damaged file.
                while chunk := entry.read(READ_CHUNK):
                    written += len(chunk)
                    if written > info.file_size:
                        raise Refused("is a damaged zip archive (an entry is larger than it says)")
                    inner.write(chunk)
        except (zipfile.BadZipFile, NotImplementedError, ValueError, EOFError, OSError):
            raise Refused("is a damaged zip archive") from None
        if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
            raise Refused(f"holds {info.filename!r}, a damaged archive")
        _check_zip(inner, written, limits, budget, depth + 1).close()


def _zip_type(file: IO[bytes], size: int, limits: ArchiveLimits) -> FileType:
    budget = _Budget(entries=limits.max_entries, size=limits.max_total_size)
    archive = _check_zip(file, size, limits, budget, depth=1)
    with archive:
        names = set(archive.namelist())
        lowered = {name.lower() for name in names}
        if "mimetype" in names:
            info = archive.getinfo("mimetype")
            if info.file_size <= 100:
                declared = archive.read(info).decode("ascii", "replace").strip()
                if declared in OPENDOCUMENT:
                    return FileType(declared, OPENDOCUMENT[declared])
        if "[Content_Types].xml" in names:
            if any(name.endswith("vbaproject.bin") for name in lowered):
                raise Refused("is an Office document with macros, not an accepted file type "
                              "(save it without macros)")
            if "word/document.xml" in names:
                return DOCX
            if "xl/workbook.xml" in names:
                return XLSX
            if "ppt/presentation.xml" in names:
                return PPTX
        if "androidmanifest.xml" in lowered and "classes.dex" in lowered:
            raise Refused("is an Android app, not an accepted file type")
        if "meta-inf/manifest.mf" in lowered and any(n.endswith(".class") for n in lowered):
            raise Refused("is a Java program, not an accepted file type")
    return ZIP
