"""The certificate PDF: what it prints in any script, how it lays out, its QR code, and that
nothing a candidate typed is fetched, run or read by wkhtmltopdf.

Each sample is also turned into PNGs under tests/output/certificates/ (git-ignored) so a
person can look at them; their paths are printed (pytest -s or -rA shows them).
"""

from __future__ import annotations

import copy
import re
import struct
import subprocess
import zlib
from pathlib import Path

import zxingcpp

from certify.certificates import rendering
from certify.certificates.numbering import format_number, verification_code
from certify.core import pdf as core_pdf
from certify.core.storage import current_storage

OUTPUT = Path(__file__).resolve().parents[1] / "output" / "certificates"
A4_LANDSCAPE = (841.89, 595.28)


# --- samples -------------------------------------------------------------------------------


def unit(code: str = "ITCSCR405A", title: str = "Perform security risk assessment", *,
         level: int = 4, credits: int = 3, version: int = 1, achieved_on: str = "2026-11-20"):
    return {"unit_id": 1, "code": code, "title": title, "version": version, "level": level,
            "credits": credits, "framework": "HKQF",
            "framework_name": "Hong Kong Qualifications Framework",
            "case_item": "urn:uuid:6f1c2b1e-0d55-4c1a-9d8e-2f0c7b1e5a10",
            "achieved_on": achieved_on}


def statement(name: str = "陳大文", units: list[dict] | None = None, **changes) -> dict:
    """A statement of attainment's snapshot, shaped as issuing freezes it."""
    code = verification_code()
    units = [unit()] if units is None else units
    snapshot = {
        "number": format_number("NCOL", 2026, 1), "verification_code": code,
        "verification_url": f"http://127.0.0.1:5000/verify/{code}",
        "kind": "statement_of_attainment", "kind_label": "Statement of attainment",
        "candidate": {"name": name},
        "provider": {"name": "North College", "slug": "north-college", "prefix": "NCOL",
                     "logo_key": None},
        "qualification": None, "units": units,
        "total_credits": sum(u["credits"] for u in units),
        "achieved_on": "2026-11-20", "issued_on": "2026-11-24",
        "issued_at": "2026-11-24T19:00:00Z", "expires_on": None,
        "signatory": {"name": "Zażółć Gęślą Jaźń", "title": "Registrar"}, "replaces": None,
    }
    snapshot.update(changes)
    return snapshot


def qualification(name: str = "Zażółć Gęślą Jaźń", units: list[dict] | None = None,
                  **changes) -> dict:
    """A qualification certificate's snapshot (with a transcript of its units)."""
    units = units if units is not None else [
        unit(f"ITCSCR40{n}A", title, credits=3 + n % 2, version=1 + n % 2)
        for n, title in enumerate([
            "Perform security risk assessment", "Implement network access controls",
            "Respond to information security incidents", "Manage vulnerability scanning",
            "Develop a business continuity plan for information systems",
        ], start=1)]
    snapshot = statement(name, units, kind="qualification",
                         kind_label="Qualification certificate", expires_on="2029-11-24")
    snapshot["qualification"] = {
        "code": "DIP-CSO", "title": "Diploma in Cyber Security Operations", "level": 4,
        "framework": "HKQF", "framework_name": "Hong Kong Qualifications Framework",
        "validity_months": 36}
    snapshot.update(changes)
    return snapshot


def render(app, snapshot: dict, logo: str | None = None) -> bytes:
    with app.app_context():
        html = rendering.certificate_html(snapshot, logo)
    return rendering.render_certificate(html, title=snapshot["number"])


# --- reading PDFs back ---------------------------------------------------------------------


def pdf_text(data: bytes, *args: str) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", *args, "-", "-"], input=data,
                          capture_output=True, check=True).stdout.decode()


def flat(text: str) -> str:
    """Text with every run of white space made one space (wrapped lines joined)."""
    return " ".join(text.split())


def pdf_info(data: bytes) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", "-"], input=data, capture_output=True,
                         check=True).stdout.decode()
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in
                                                  out.splitlines())}


def pages(data: bytes) -> int:
    return int(pdf_info(data)["Pages"])


_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                   r"(.*?)</word>")
_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.DOTALL)


def page_words(data: bytes) -> list[tuple[float, float, list[tuple[float, float, float, float,
                                                                        str]]]]:
    """Per page: width, height and its words with their boxes (pdftotext -bbox)."""
    xhtml = pdf_text(data, "-bbox")
    return [(float(w), float(h), [(float(a), float(b), float(c), float(d), text)
                                  for a, b, c, d, text in _WORD.findall(body)])
            for w, h, body in _PAGE.findall(xhtml)]


def save_pngs(data: bytes, name: str, resolution: int = 50) -> list[Path]:
    """The PDF's pages as PNGs under tests/output/certificates/, for a person to look at."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for old in OUTPUT.glob(f"{name}-*.png"):
        old.unlink()
    (OUTPUT / f"{name}.pdf").write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", str(resolution), "-", str(OUTPUT / name)],
                   input=data, check=True)
    made = sorted(OUTPUT.glob(f"{name}-*.png"))
    for path in made:
        print(f"certificate sample: {path}")
    return made


def png_pixels(path: Path) -> tuple[int, int, int, bytes]:
    """Width, height, bytes per pixel and the unfiltered pixel bytes of an 8-bit PNG."""
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), f"{path} is not a PNG"
    position, idat = 8, b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8
            bpp = {0: 1, 2: 3, 6: 4}[colour]
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) *
                                                          (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + (left + previous[i]) // 2) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = previous[i], previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) \
                    & 0xFF
        rows.append(line)
        previous = line
    return width, height, bpp, b"".join(rows)


def dark_share(path: Path) -> float:
    """The share of pixels darker than mid-grey."""
    width, height, bpp, pixels = png_pixels(path)
    dark = sum(1 for i in range(0, len(pixels), bpp) if sum(pixels[i:i + 3]) < 3 * 128)
    return dark / (width * height)


def qr_codes(data: bytes, page: int = 1, resolution: int = 150) -> list[str]:
    """The QR codes zxing-cpp reads on a page rendered by pdftoppm at ``resolution`` dpi.

    pdftoppm's greyscale PGM is read into a memoryview shaped (height, width), which
    zxing-cpp takes as it is: no imaging library needed.
    """
    pgm = subprocess.run(["pdftoppm", "-gray", "-r", str(resolution), "-f", str(page), "-l",
                          str(page), "-"], input=data, capture_output=True, check=True).stdout
    match = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", pgm)
    assert match, "pdftoppm did not write a PGM"
    width, height = int(match.group(1)), int(match.group(2))
    pixels = memoryview(pgm[match.end():match.end() + width * height]).cast("B",
                                                                            (height, width))
    return [found.text for found in zxingcpp.read_barcodes(pixels)
            if found.format == zxingcpp.BarcodeFormat.QRCode]


# --- what is printed -----------------------------------------------------------------------


def test_a_statement_prints_names_in_any_script_with_its_units_number_and_address(app):
    sample = statement("陳大文")
    data = render(app, sample)
    text = pdf_text(data)
    for expected in ("陳大文", "Zażółć Gęślą Jaźń", "ITCSCR405A", "Perform security risk "
                     "assessment", "STATEMENT OF ATTAINMENT", "North College", "Registrar",
                     "20 November 2026", "24 November 2026", sample["number"],
                     sample["verification_url"]):
        assert expected in flat(text), expected
    layout = pdf_text(data, "-layout")
    row = next(line for line in layout.splitlines() if "ITCSCR405A" in line)
    assert re.search(r"ITCSCR405A\s+Perform security risk assessment\s+4\s+3$", row), row
    assert "This is to certify that" in text
    assert pages(data) == 1
    info = pdf_info(data)
    assert info["Title"] == sample["number"]
    assert info["Page size"].startswith("841.89 x 595.28") or "842 x 595" in info["Page size"]


def test_the_polish_name_prints_as_the_candidate(app):
    data = render(app, statement("Zażółć Gęślą Jaźń", signatory={"name": "陳大文",
                                                                    "title": "校長"}))
    text = flat(pdf_text(data))
    assert "Zażółć Gęślą Jaźń" in text
    assert "陳大文" in text and "校長" in text


def test_a_qualification_has_a_transcript_of_every_unit(app):
    sample = qualification()
    data = render(app, sample)
    assert pages(data) == 2
    face = flat(pdf_text(data, "-f", "1", "-l", "1"))
    assert "Diploma in Cyber Security Operations" in face
    assert "QF Level 4" in face and "DIP-CSO" in face
    assert f"{sample['total_credits']} QF credits" in face
    assert "VALID UNTIL 24 November 2029" in face
    transcript = pdf_text(data, "-f", "2", "-l", "2", "-layout")
    assert "Transcript" in transcript
    for entry in sample["units"]:
        row = next(line for line in transcript.splitlines() if entry["code"] in line)
        assert entry["title"] in row
        assert re.search(rf"\b{entry['version']}\s+{entry['level']}\s+{entry['credits']}\s+"
                         r"20 November 2026", row), row
    total = next(line for line in transcript.splitlines() if "Total QF credits" in line)
    assert total.split()[-1] == str(sample["total_credits"])
    assert sample["number"] in flat(transcript)
    assert sample["verification_url"] in flat(transcript)


def test_a_statement_too_long_for_the_face_lists_its_units_overleaf(app):
    units = [unit(f"ITCSCR4{n:02d}A", f"Security unit number {n}") for n in range(9)]
    data = render(app, statement(units=units))
    assert pages(data) == 2
    assert "listed overleaf" in flat(pdf_text(data, "-f", "1", "-l", "1"))
    schedule = flat(pdf_text(data, "-f", "2", "-l", "2"))
    assert "Schedule of units achieved" in schedule
    assert all(u["code"] in schedule for u in units)


def test_a_long_unit_title_wraps_and_keeps_every_column_on_the_page(app):
    words = ("Establish, document and continuously improve organisation-wide information "
             "security governance frameworks ")
    long_title = (words * 8)[:600].strip()
    unbroken = "X" * 300
    units = [unit("ITCSCR401A", "Perform security risk assessment", credits=3),
             unit("ITCSCR402A", long_title, credits=17),
             unit("ITCSCR403A", unbroken, credits=5)]
    data = render(app, qualification(units=units))
    layout = page_words(data)
    for width, _height, words_on_page in layout:
        assert all(right <= width for _l, _t, right, _b, _w in words_on_page)
    width, _height, transcript = layout[1]
    credits = {text: (left, right) for left, _t, right, _b, text in transcript
               if text in ("3", "17", "5", "CREDITS")}
    # The long rows' credits sit in the same right-aligned column as a short row's.
    assert abs(credits["17"][1] - credits["3"][1]) < 1.5
    assert abs(credits["5"][1] - credits["3"][1]) < 1.5
    assert credits["17"][1] < width - 30
    title_lines = {round(top) for left, top, right, _b, text in transcript
                   if text in long_title.split() and right < credits["CREDITS"][0]}
    assert len(title_lines) >= 4
    total = pdf_text(data, "-f", "2", "-l", "2", "-layout")
    assert re.search(r"Total QF credits\s+25\s*$", total, re.MULTILINE), total


def test_the_qr_code_reads_back_as_the_verification_address(app):
    sample = statement()
    assert qr_codes(render(app, sample)) == [sample["verification_url"]]


def test_a_long_candidate_name_and_a_reissue_note_stay_on_one_page(app):
    name = "Maria Magdalena Zażółć-Gęślą Jaźń de la Cruz y Fernández 陳大文 " * 3
    sample = statement(name.strip(), replaces=format_number("NCOL", 2025, 7))
    data = render(app, sample)
    assert pages(data) == 1
    text = flat(pdf_text(data))
    assert flat(name) in text
    assert f"Replaces certificate {sample['replaces']}" in text


def test_the_samples_become_pngs_that_show_a_certificate(app):
    logo = rendering.image_data_uri(sample_png(240, 80))
    samples = {
        "statement": render(app, statement()),
        "statement-with-logo": render(app, statement("Zażółć Gęślą Jaźń"), logo),
        "qualification": render(app, qualification("陳大文"), logo),
    }
    for name, data in samples.items():
        made = save_pngs(data, name)
        assert len(made) == pages(data)
        for path in made:
            width, height, _bpp, _pixels = png_pixels(path)
            # A4 landscape at 50 dpi.
            assert abs(width - 585) <= 1 and abs(height - 413) <= 1
            assert 0.005 < dark_share(path) < 0.5, f"{path} looks blank"


# --- the logo ------------------------------------------------------------------------------


def sample_png(width: int, height: int) -> bytes:
    """A small RGB PNG: a navy disc beside a bronze bar."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    rows = b"".join(
        b"\x00" + b"".join(
            bytes((31, 47, 82)) if (x - height // 2) ** 2 + (y - height // 2) ** 2 < 1300
            else bytes((168, 137, 79)) if 90 < x < width - 10 and 30 < y < 50
            else b"\xff\xff\xff" for x in range(width))
        for y in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_the_stored_logo_is_printed_from_a_data_uri(app):
    png = sample_png(120, 40)
    with app.app_context():
        key = current_storage().save([png]).key
        jpeg = current_storage().save([b"\xff\xd8\xff\xe0" + b"\x00" * 64]).key
        text = current_storage().save([b"GIF89a not a logo we print"]).key
        uri = rendering.logo_data_uri(key)
        assert rendering.logo_data_uri(jpeg).startswith("data:image/jpeg;base64,")
        assert rendering.logo_data_uri(text) is None
        assert rendering.logo_data_uri(None) is None
    assert uri.startswith("data:image/png;base64,")
    data = render(app, statement(), uri)
    images = subprocess.run(["pdfimages", "-list", "-"], input=data, capture_output=True,
                            check=True).stdout.decode().splitlines()[2:]
    assert len(images) >= 1
    assert len(subprocess.run(["pdfimages", "-list", "-"], input=render(app, statement()),
                              capture_output=True, check=True).stdout.splitlines()[2:]) == 0


# --- rendering many at once ----------------------------------------------------------------


def test_render_many_keeps_the_order_and_fails_only_the_bad_one(app, monkeypatch):
    samples = [statement(number=format_number("NCOL", 2026, n)) for n in range(1, 5)]
    with app.app_context():
        documents = [(rendering.certificate_html(s), s["number"]) for s in samples]
    results = rendering.render_many(documents, processes=4)
    assert [pdf_info(r)["Title"] for r in results] == [s["number"] for s in samples]

    real = rendering.render_certificate

    def failing(html: str, *, title: str) -> bytes:
        if title == samples[1]["number"]:
            raise core_pdf.PdfError("wkhtmltopdf failed (exit 1): broken")
        return real(html, title=title)

    monkeypatch.setattr(rendering, "render_certificate", failing)
    results = rendering.render_many(documents, processes=3)
    assert isinstance(results[1], core_pdf.PdfError)
    assert [pdf_info(r)["Title"] for i, r in enumerate(results) if i != 1] == \
        [s["number"] for i, s in enumerate(samples) if i != 1]
    assert rendering.render_many([], processes=4) == []


# --- nothing typed is fetched, run or read ---------------------------------------------------


def hostile_markup(port: int) -> list[str]:
    return ['<iframe src="file:///etc/passwd">', f'<img src="http://127.0.0.1:{port}/x.png">',
            '<script>document.write("RAN")</script>',
            f'<link rel=stylesheet href="http://127.0.0.1:{port}/a.css">']


def test_markup_in_names_and_titles_is_printed_as_text_and_never_fetched_or_run(
        app, watching_server):
    port, seen = watching_server
    markup = hostile_markup(port)
    units = [unit(f"ITCSCR40{n}A", f"Unit {piece} title") for n, piece in enumerate(markup)]
    sample = qualification(" ".join(markup), units=units)
    sample["qualification"]["title"] = markup[1]
    data = render(app, sample)
    text = flat(pdf_text(data))
    assert seen == []
    for piece in markup:
        assert piece in text, piece
    # "RAN" appears only inside the printed script text, never as its output.
    assert text.count("RAN") == text.count('document.write("RAN")')
    assert "root:x:0:0" not in text
    assert "FETCHED-FROM-SERVER" not in text


def test_the_wkhtmltopdf_options_alone_block_raw_markup(watching_server):
    port, seen = watching_server
    html = f"""<!doctype html><html><head><meta charset="utf-8">
    <link rel=stylesheet href="http://127.0.0.1:{port}/a.css"></head><body>
    <p>before</p>
    <iframe src="file:///etc/passwd" width="600" height="300"></iframe>
    <img src="http://127.0.0.1:{port}/x.png">
    <img src="file:///usr/share/fonts/truetype/noto/NotoSans-Regular.ttf">
    <iframe src="http://127.0.0.1:{port}/frame"></iframe>
    <script>document.write("SCRIPT-RAN");
      var r = new XMLHttpRequest(); r.open("GET", "http://127.0.0.1:{port}/xhr", false);
      r.send();</script>
    <p>after</p></body></html>"""
    data = rendering.render_certificate(html, title="raw")
    text = pdf_text(data)
    assert "before" in text and "after" in text
    assert seen == []
    assert "root:x:0:0" not in text and "root:" not in text
    assert "SCRIPT-RAN" not in text
    assert "FETCHED-FROM-SERVER" not in text


def test_every_hardening_option_is_passed_to_wkhtmltopdf():
    options = core_pdf.hardened_options(landscape=True, title="NCOL-2026-000001-8")
    assert "disable-javascript" in options
    assert "disable-local-file-access" in options
    assert options["proxy"] == core_pdf.CLOSED_PROXY == "http://127.0.0.1:9"
    assert options["orientation"] == "Landscape"
    assert core_pdf.DEFAULT_TIMEOUT > 0


def test_cjk_text_extracts_as_ideographs_not_kangxi_radicals():
    # Qt writes 大 and 文 as the Kangxi radicals U+2F24 and U+2F42 that share their glyphs.
    cmap = (b"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            b"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            b"2 beginbfrange\n<0000> <0000> <0000>\n<0001> <0004> [<9673> <2F24> <2F42> <0041>]"
            b"\nendbfrange\n1 beginbfchar\n<0005> <2F08>\nendbfchar\n"
            b"endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
    fixed = core_pdf.plain_cmap(cmap)
    assert b"<0002> <5927>" in fixed and b"<0003> <6587>" in fixed
    assert b"<0005> <4EBA>" in fixed and b"<0001> <9673>" in fixed
    assert b"<0004> <0041>" in fixed
    assert b"begincodespacerange" in fixed and fixed.endswith(b"end\nend\n")
    assert core_pdf.plain_cmap(fixed) is None
    data = core_pdf.render_pdf('<!doctype html><meta charset="utf-8"><p>陳大文 中文 人 校長 '
                               "說明 氵</p>")
    assert "陳大文 中文 人 校長 說明 氵" in pdf_text(data)


def test_the_snapshot_is_not_changed_by_rendering(app):
    sample = qualification()
    before = copy.deepcopy(sample)
    render(app, sample)
    assert sample == before
