"""HTML to PDF through wkhtmltopdf (via pdfkit), kept away from files and the network.

wkhtmltopdf's WebKit is old, so every document is rendered with JavaScript off,
local file access off, all traffic sent to a proxy on a closed local port, and
a time limit.  Documents must therefore carry everything inline (CSS in a
<style> element, images as data: URIs); anything they try to fetch fails.

Debian's wkhtmltopdf is built on an unpatched Qt, which ignores ``--title``
and, for a CJK glyph that is also a Kangxi radical (大, 文, 人 ...), records the
radical's code point in the font's text map, so 陳大文 is copied and found as
陳⼤⽂.  ``render_pdf`` therefore finishes each PDF with one incremental update
that sets the document title and maps those glyphs back to the ideographs.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import unicodedata

import pdfkit
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

# Port 9 (discard) has nothing listening; every request through this proxy fails.
CLOSED_PROXY = "http://127.0.0.1:9"
DEFAULT_TIMEOUT = 60


class PdfError(RuntimeError):
    """wkhtmltopdf is missing, failed, or ran past its time limit."""


def wkhtmltopdf_path() -> str:
    path = shutil.which("wkhtmltopdf")
    if path is None:
        raise PdfError("wkhtmltopdf is not installed (Debian package: wkhtmltopdf)")
    return path


def hardened_options(*, landscape: bool = False, title: str | None = None) -> dict[str, str | None]:
    options: dict[str, str | None] = {
        "quiet": None,
        "encoding": "UTF-8",
        "page-size": "A4",
        "orientation": "Landscape" if landscape else "Portrait",
        "disable-javascript": None,
        "disable-local-file-access": None,
        "disable-external-links": None,
        "disable-internal-links": None,
        "proxy": CLOSED_PROXY,
        "load-error-handling": "ignore",
        "load-media-error-handling": "ignore",
        "margin-top": "15mm",
        "margin-bottom": "15mm",
        "margin-left": "15mm",
        "margin-right": "15mm",
    }
    if title:
        options["title"] = title
    return options


def render_pdf(
    html: str, *, landscape: bool = False, title: str | None = None,
    timeout: int = DEFAULT_TIMEOUT,
) -> bytes:
    """Render ``html`` (already escaped, self-contained) to PDF bytes."""
    configuration = pdfkit.configuration(wkhtmltopdf=wkhtmltopdf_path())
    command = pdfkit.PDFKit(
        html, "string", options=hardened_options(landscape=landscape, title=title),
        configuration=configuration,
    ).command()
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv built by pdfkit
            command, input=html.encode(), capture_output=True, timeout=timeout, check=False,
            env={"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen", "HOME": "/tmp"},  # noqa: S108
        )
    except subprocess.TimeoutExpired:
        raise PdfError(f"wkhtmltopdf took longer than {timeout} seconds") from None
    if not result.stdout.startswith(b"%PDF-"):
        message = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise PdfError(f"wkhtmltopdf failed (exit {result.returncode}): {message[0]}")
    return finish_pdf(result.stdout, title=title)


# CJK radicals that Noto CJK draws with the glyph of an ideograph, paired with that
# ideograph (read from the fonts' own character maps).  Qt records the radical, the
# lower code point, for the shared glyph.  Kangxi radicals need no table: NFKC maps them.
_RADICAL_PAIRS = (
    "⺂乛⺃乚⺅亻⺇𠘨⺉刂⺋㔾⺍𭕄⺎兀⺏尣⺐尢⺒巳⺓幺⺔彑⺕彐⺖忄⺘扌"
    "⺙攵⺛旡⺞歺⺟母⺠民⺡氵⺣灬⺤爫⺦丬⺨犭⺩𤣩⺫罒⺭礻⺮𥫗⺯糹⺰纟"
    "⺱罓⺲罒⺳㓁⺹耂⺺肀⺽𦥑⺾艹⺿艹⻁虎⻂衤⻃覀⻄西⻅见⻆角⻇𧢲⻈讠"
    "⻉贝⻊𧾷⻋车⻌辶⻍辶⻎辶⻐钅⻑長⻒镸⻓长⻔门⻕𨸏⻖阝⻘青⻙韦⻚页"
    "⻛风⻜飞⻝食⻞𩙿⻟飠⻠饣⻡𩠐⻢马⻣骨⻤鬼⻥鱼⻦鸟⻧卤⻨麦⻩黄⻪黾"
    "⻫斉⻬齐⻭歯⻮齿⻯竜⻰龙⻱龜⻲亀⻳龟"
)
_RADICALS = dict(zip(_RADICAL_PAIRS[::2], _RADICAL_PAIRS[1::2], strict=True))
_KANGXI = range(0x2F00, 0x2FE0)
_CMAP_BLOCK = re.compile(rb"(\d+)\s+beginbf(char|range)(.*?)endbf\2", re.DOTALL)
_CMAP_TOKEN = re.compile(rb"<([0-9A-Fa-f]*)>|\[|\]")


def _plain(text: str) -> str:
    """``text`` with CJK radicals replaced by the ideographs whose glyphs they share."""
    return "".join(
        _RADICALS.get(char) or (unicodedata.normalize("NFKC", char) if ord(char) in _KANGXI
                                else char)
        for char in text
    )


def _cmap_entries(data: bytes) -> list[tuple[bytes, bytes]] | None:
    """(source code, UTF-16BE text) pairs of a ToUnicode CMap; None if it cannot be read."""
    entries: list[tuple[bytes, bytes]] = []
    for match in _CMAP_BLOCK.finditer(data):
        tokens = [t.group(1) if t.group(1) is not None else t.group(0)
                  for t in _CMAP_TOKEN.finditer(match.group(3))]
        try:
            if match.group(2) == b"char":
                for source, target in zip(tokens[::2], tokens[1::2], strict=True):
                    entries.append((bytes.fromhex(source.decode()),
                                    bytes.fromhex(target.decode())))
                continue
            position = 0
            while position < len(tokens):
                low, high = (int(t, 16) for t in tokens[position:position + 2])
                width = len(tokens[position]) // 2
                position += 2
                if tokens[position] == b"[":
                    end = tokens.index(b"]", position)
                    targets = [bytes.fromhex(t.decode()) for t in tokens[position + 1:end]]
                    position = end + 1
                else:
                    start = tokens[position]
                    first, size = int(start, 16), len(start) // 2
                    targets = [(first + i).to_bytes(size, "big") for i in range(high - low + 1)]
                    position += 1
                entries.extend(((low + i).to_bytes(width, "big"), target)
                               for i, target in enumerate(targets[:high - low + 1]))
        except (ValueError, IndexError, OverflowError):
            return None
    return entries


def plain_cmap(data: bytes) -> bytes | None:
    """``data`` (a ToUnicode CMap) with look-alike code points replaced; None if unchanged."""
    entries = _cmap_entries(data)
    if not entries:
        return None
    changed = False
    fixed: list[tuple[bytes, bytes]] = []
    for source, target in entries:
        try:
            text = target.decode("utf-16-be")
        except UnicodeDecodeError:
            fixed.append((source, target))
            continue
        plain = _plain(text)
        changed |= plain != text
        fixed.append((source, plain.encode("utf-16-be")))
    if not changed:
        return None
    blocks = []
    for start in range(0, len(fixed), 100):
        chunk = fixed[start:start + 100]
        lines = b"\n".join(b"<%s> <%s>" % (s.hex().upper().encode(), t.hex().upper().encode())
                            for s, t in chunk)
        blocks.append(b"%d beginbfchar\n%s\nendbfchar" % (len(chunk), lines))
    matches = list(_CMAP_BLOCK.finditer(data))
    return data[:matches[0].start()] + b"\n".join(blocks) + data[matches[-1].end():]


def _fonts(writer: IncrementalPdfFileWriter) -> list[generic.DictionaryObject]:
    """Every font dictionary reachable from the pages (and their form XObjects)."""
    found: dict[int, generic.DictionaryObject] = {}
    seen: set[int] = set()
    pending = [writer.root["/Pages"]]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if "/Kids" in node:
            pending.extend(kid.get_object() for kid in node["/Kids"])
        resources = node.get("/Resources")
        if resources is None:
            continue
        resources = resources.get_object()
        for font in resources.get("/Font", generic.DictionaryObject()).values():
            font = font.get_object()
            found[id(font)] = font
            for descendant in font.get("/DescendantFonts", generic.ArrayObject()):
                found.setdefault(id(descendant.get_object()), descendant.get_object())
        for xobject in resources.get("/XObject", generic.DictionaryObject()).values():
            xobject = xobject.get_object()
            if xobject.get("/Subtype") == "/Form":
                pending.append(xobject)
    return list(found.values())


def finish_pdf(data: bytes, *, title: str | None = None) -> bytes:
    """Set the PDF's Title and make its text extract as the characters written.

    Adds one incremental update when anything needs changing (see the module's
    description); returns ``data`` as it is otherwise.
    """
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    changed = False
    for font in _fonts(writer):
        if "/ToUnicode" not in font:
            continue
        fixed = plain_cmap(font["/ToUnicode"].get_object().data)
        if fixed is None:
            continue
        stream = generic.StreamObject(stream_data=fixed)
        stream.compress()
        font["/ToUnicode"] = writer.add_object(stream)
        writer.update_container(font)
        changed = True
    if title and writer.document_meta_view.title != title:
        writer.document_meta.title = title
        changed = True
    if not changed:
        return data
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()
