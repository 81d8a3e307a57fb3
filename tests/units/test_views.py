"""The catalogue pages: frameworks, unit search and unit pages, read against the seed documents."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path

import pytest

from certify.units import views
from tests.units.conftest import (
    ALL_SEEDS,
    CAPABILITY,
    HKQF,
    SFIA_CELO_EN,
    SFIA_CELO_PL,
    SFIA_CEXP,
)

HKQF_TITLE = (
    b"Supervise the carrying out of loyalty marketing to increase customer loyalty and enhance CRM"
)
HKQF_REQUIREMENT = (
    b"Implement those marketing and CRM programmes to engender and enhance customer loyalty"
)


BLOCKS = {
    "p", "li", "dt", "dd", "div", "td", "th", "tr", "caption", "option", "summary", "section",
    "h1", "h2", "h3", "h4", "nav", "label", "title", "pre",
}


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag in BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag) -> None:
        if tag in BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text_of(response) -> str:
    """The page's text as a reader sees it: tags dropped, entities decoded, spaces collapsed."""
    parser = _VisibleText()
    parser.feed(response.get_data(as_text=True))
    return re.sub(r"\s+", " ", "".join(parser.parts)).strip()


def html_of(response) -> str:
    return response.get_data(as_text=True)


def row_codes(response) -> list[str]:
    """The unit codes in a results table, in order."""
    return re.findall(r'<th scope="row" class="code">([^<]*)</th>', html_of(response))


def get_ok(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, url
    return response


@pytest.fixture
def hkqf_bytes(seeds: Path) -> bytes:
    return (seeds / HKQF).read_bytes()


@pytest.fixture
def import_hkqf_copy(hkqf_bytes, import_bytes):
    """Import the HK QF seed under another code (and title), as a new unit."""

    def run(code: str, title: bytes | None = None):
        data = hkqf_bytes.replace(b"ITCSCR405A", code.encode())
        if title is not None:
            data = data.replace(HKQF_TITLE + b"\t", title + b"\t", 1)
        return import_bytes(data, f"{code}.txt")

    return run


@pytest.fixture
def all_seeds(import_seed):
    for name in ALL_SEEDS:
        import_seed(name)


# --- home and frameworks -------------------------------------------------------------


def test_home_counts_and_links(client, all_seeds):
    page = text_of(get_ok(client, "/"))
    assert "3 frameworks" in page
    assert "13 current units" in page
    assert "credit-bearing certificates that anyone can verify" in page
    html = html_of(client.get("/"))
    assert 'href="/units"' in html
    assert 'href="/frameworks"' in html


def test_empty_catalogue_says_how_to_import(client):
    for url in ("/", "/frameworks", "/units", "/units?q=xyz"):
        page = text_of(get_ok(client, url))
        assert "certify units import PATH..." in page, url
    assert "The catalogue is empty" in text_of(client.get("/"))
    assert "No frameworks yet" in text_of(client.get("/frameworks"))
    # Without frameworks there is nothing to filter, so the search form is not offered.
    assert "<form" not in html_of(client.get("/units"))


def test_frameworks_list(client, all_seeds):
    html = html_of(get_ok(client, "/frameworks"))
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    cells = {
        re.sub(r"<[^>]+>", "", row.split("</th>")[0]).strip(): [
            re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)
        ]
        for row in rows[1:]
    }
    assert list(cells) == ["CAPDIR", "HKQF", "SFIA9"]
    assert cells["HKQF"] == ["Hong Kong Qualifications Framework", "Units of competency", "10", "1"]
    assert cells["SFIA9"] == ["SFIA 9", "Skills at levels", "—", "9"]
    assert cells["CAPDIR"][1:] == ["Proficiency levels", "—", "3"]
    assert 'href="/frameworks/HKQF"' in html
    assert "<caption" in html and '<th scope="col">Code</th>' in html


def test_framework_page_with_levels_and_units(client, all_seeds):
    response = get_ok(client, "/frameworks/SFIA9")
    page = text_of(response)
    assert "SFIA 9" in page
    assert "Skills at levels" in page
    assert "Generic levels of SFIA9" in page
    assert "Enable Performs diverse complex activities" in page
    assert row_codes(response) == [
        "CELO-3", "CELO-4", "CELO-5", "CELO-6", "CEXP-2", "CEXP-3", "CEXP-4", "CEXP-5", "CEXP-6",
    ]
    assert "Showing 1–9 of 9 current units" in page


def test_framework_page_without_known_levels(client, import_seed):
    import_seed(HKQF)
    response = get_ok(client, "/frameworks/HKQF")
    page = text_of(response)
    # HK QF pages give level numbers but no level names or essences: nothing to tabulate.
    assert "Generic levels" not in page
    assert "1 credit = 10 notional learning hours" in page
    assert row_codes(response) == ["ITCSCR405A"]


def test_framework_units_are_paginated_and_current_only(
    client, app, monkeypatch, import_seed, import_hkqf_copy, import_bytes, hkqf_bytes
):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    import_seed(HKQF)
    import_bytes(hkqf_bytes.replace(HKQF_REQUIREMENT, HKQF_REQUIREMENT + b" and retention"), "v2")
    for code in ("AAA100A", "BBB100A"):
        import_hkqf_copy(code)
    first = get_ok(client, "/frameworks/HKQF")
    assert row_codes(first) == ["AAA100A", "BBB100A"]
    assert "Showing 1–2 of 3 current units" in text_of(first)
    assert 'href="/frameworks/HKQF?page=2"' in html_of(first)
    second = get_ok(client, "/frameworks/HKQF?page=2")
    assert row_codes(second) == ["ITCSCR405A"]
    # The superseded version 1 is not listed; version 2 is.
    assert re.search(r'ITCSCR405A</th>\s*<td>.*?</td>\s*<td class="num">2</td>', html_of(second))


# --- search ------------------------------------------------------------------------


def test_search_form_is_labelled_get_form(client, all_seeds):
    html = html_of(get_ok(client, "/units"))
    assert re.search(r'<form[^>]*method="get"', html)
    for field in ("q", "framework", "superseded"):
        assert f'<label for="{field}">' in html
        assert f'id="{field}"' in html
    options = re.findall(r'<option value="([^"]*)"', html)
    assert options == ["", "CAPDIR", "HKQF", "SFIA9"]


def test_search_lists_current_units_in_order(client, all_seeds):
    response = get_ok(client, "/units")
    assert row_codes(response) == [
        "MCRLP-1", "MCRLP-2", "MCRLP-3", "ITCSCR405A",
        "CELO-3", "CELO-4", "CELO-5", "CELO-6",
        "CEXP-2", "CEXP-3", "CEXP-4", "CEXP-5", "CEXP-6",
    ]
    page = text_of(response)
    assert "Showing 1–13 of 13 units" in page
    html = html_of(response)
    headers = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', html)
    assert headers == ["Code", "Title", "Framework", "Version", "Level", "Credits", "Status"]
    assert re.search(
        r'ITCSCR405A</th>\s*<td><a href="/units/HKQF/ITCSCR405A">Supervise the carrying out.*?'
        r'</a></td>\s*<td class="code">HKQF</td>\s*<td class="num">1</td>\s*'
        r'<td class="num">4</td>\s*<td class="num">3</td>\s*<td><span class="status '
        r'status--current">Current</span></td>',
        html,
        re.S,
    )


def test_search_by_code_any_case(client, all_seeds):
    assert row_codes(get_ok(client, "/units?q=itcscr")) == ["ITCSCR405A"]
    assert row_codes(get_ok(client, "/units?q=celo-4")) == ["CELO-4"]


def test_search_by_part_of_title_any_case(client, all_seeds):
    response = get_ok(client, "/units?q=CUSTOMER+EXPERIENCE")
    assert row_codes(response) == ["CEXP-2", "CEXP-3", "CEXP-4", "CEXP-5", "CEXP-6"]
    assert 'value="CUSTOMER EXPERIENCE"' in html_of(response)
    assert row_codes(get_ok(client, "/units?q=loyalty+marketing")) == ["ITCSCR405A"]


def test_search_treats_percent_and_underscore_literally(client, all_seeds, import_hkqf_copy):
    import_hkqf_copy("PCT100A", b"Achieve 100%_growth in loyalty")
    assert row_codes(get_ok(client, "/units?q=%25")) == ["PCT100A"]
    assert row_codes(get_ok(client, "/units?q=_")) == ["PCT100A"]
    assert row_codes(get_ok(client, "/units?q=0%25_g")) == ["PCT100A"]
    # As wildcards these would match "Customer ..." titles.
    response = get_ok(client, "/units?q=C%25r")
    assert row_codes(response) == []
    assert "No units match 'C%r'" in text_of(response)


def test_search_with_no_match_says_so(client, all_seeds):
    response = get_ok(client, "/units?q=xyz")
    page = text_of(response)
    assert "No units match 'xyz'." in page
    assert "Superseded versions were not searched." in page
    assert "<table" not in html_of(response)


def test_filter_by_framework(client, all_seeds):
    response = get_ok(client, "/units?framework=CAPDIR")
    assert row_codes(response) == ["MCRLP-1", "MCRLP-2", "MCRLP-3"]
    assert '<option value="CAPDIR" selected>' in html_of(response)
    assert row_codes(get_ok(client, "/units?framework=SFIA9&q=level+4")) == ["CELO-4", "CEXP-4"]
    assert row_codes(get_ok(client, "/units?framework=HKQF&q=celo")) == []
    unknown = get_ok(client, "/units?framework=NOPE")
    assert row_codes(unknown) == []
    assert "No units in NOPE." in text_of(unknown)


def test_pagination(client, app, monkeypatch, all_seeds):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 5)
    first = get_ok(client, "/units")
    assert row_codes(first) == ["MCRLP-1", "MCRLP-2", "MCRLP-3", "ITCSCR405A", "CELO-3"]
    assert "Showing 1–5 of 13 units" in text_of(first)
    assert "Page 1 of 3" in text_of(first)
    assert 'href="/units?page=2" rel="next"' in html_of(first)
    assert 'rel="prev"' not in html_of(first)

    second = get_ok(client, "/units?page=2")
    assert row_codes(second) == ["CELO-4", "CELO-5", "CELO-6", "CEXP-2", "CEXP-3"]
    assert "Showing 6–10 of 13 units" in text_of(second)
    assert 'href="/units?page=1" rel="prev"' in html_of(second)
    assert 'href="/units?page=3" rel="next"' in html_of(second)

    # A page beyond the end shows the last page rather than an empty one.
    beyond = get_ok(client, "/units?page=99")
    assert row_codes(beyond) == ["CEXP-4", "CEXP-5", "CEXP-6"]
    assert "Showing 11–13 of 13 units" in text_of(beyond)
    assert 'rel="next"' not in html_of(beyond)

    for bad in ("abc", "-1", "0", "2.5", ""):
        response = get_ok(client, f"/units?page={bad}")
        assert "Showing 1–5 of 13 units" in text_of(response), bad


def test_pagination_keeps_the_search(client, app, monkeypatch, all_seeds):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    response = get_ok(client, "/units?q=customer&framework=SFIA9&superseded=1")
    html = html_of(response)
    assert 'href="/units?q=customer&amp;framework=SFIA9&amp;superseded=1&amp;page=2"' in html
    second = get_ok(client, "/units?q=customer&framework=SFIA9&superseded=1&page=2")
    assert row_codes(second) == ["CELO-5", "CELO-6"]
    assert "checked" in html_of(second)


# --- versions ----------------------------------------------------------------------


@pytest.fixture
def two_versions(import_seed, import_bytes, hkqf_bytes):
    """ITCSCR405A version 1 (superseded) and version 2 (one requirement reworded)."""
    import_seed(HKQF)
    changed = hkqf_bytes.replace(HKQF_REQUIREMENT, HKQF_REQUIREMENT + b" and retention")
    assert changed != hkqf_bytes
    report = import_bytes(changed, "ITCSCR405A-revised.txt")
    assert [(o.code, o.version, o.action) for o in report.outcomes] == [
        ("ITCSCR405A", 2, "new version")
    ]


def test_current_version_page(client, two_versions):
    response = get_ok(client, "/units/HKQF/ITCSCR405A")
    page = text_of(response)
    assert "engender and enhance customer loyalty and retention" in page
    assert "Version 2" in page
    assert "Superseded." not in page
    html = html_of(response)
    assert 'href="/units/HKQF/ITCSCR405A/v1">Version 1</a>' in html
    assert "ITCSCR405A-revised.txt" in page


def test_superseded_version_page_links_to_successor(client, two_versions):
    response = get_ok(client, "/units/HKQF/ITCSCR405A/v1")
    page = text_of(response)
    assert "Superseded. This is version 1 of ITCSCR405A." in page
    assert "It was replaced by version 2, the current version." in page
    assert 'href="/units/HKQF/ITCSCR405A">version 2</a>' in html_of(response)
    assert "engender and enhance customer loyalty Design" not in page  # sanity: texts separate
    assert "engender and enhance customer loyalty" in page
    assert "and retention" not in page
    # Version history: both versions with their status, newest first.
    versions = re.findall(
        r'<th scope="row">(.*?)</th>\s*<td><time datetime="[^"]+">[^<]+</time></td>'
        r'\s*<td><span class="status status--(\w+)">',
        html_of(response),
        re.S,
    )
    assert [status for _, status in versions] == ["current", "superseded"]
    assert "1 (this page)" in versions[1][0]


def test_explicit_current_version(client, two_versions):
    page = text_of(get_ok(client, "/units/HKQF/ITCSCR405A/v2"))
    assert "and retention" in page
    assert "Superseded." not in page


def test_search_with_superseded_versions(client, two_versions):
    current = get_ok(client, "/units?q=ITCSCR405A")
    assert row_codes(current) == ["ITCSCR405A"]
    assert "Showing 1–1 of 1 units" in text_of(current)
    both = get_ok(client, "/units?q=ITCSCR405A&superseded=1")
    assert row_codes(both) == ["ITCSCR405A", "ITCSCR405A"]
    html = html_of(both)
    assert 'href="/units/HKQF/ITCSCR405A/v1"' in html
    assert 'href="/units/HKQF/ITCSCR405A"' in html
    assert "status--superseded" in html


@pytest.mark.parametrize(
    "url",
    [
        "/units/HKQF/NOPE",
        "/units/NOPE/ITCSCR405A",
        "/units/SFIA9/ITCSCR405A",
        "/units/HKQF/ITCSCR405A/v3",
        "/units/HKQF/ITCSCR405A/v0",
        "/units/HKQF/ITCSCR405A/vx",
        "/units/HKQF/ITCSCR405A/2",
        "/frameworks/NOPE",
        "/frameworks/hkqf",
    ],
)
def test_unknown_addresses_are_404(client, two_versions, import_seed, url):
    import_seed(SFIA_CELO_EN)
    response = client.get(url)
    assert response.status_code == 404
    assert "Not found" in text_of(response)


# --- the unit page -----------------------------------------------------------------


def test_hkqf_unit_page(client, import_seed):
    import_seed(HKQF)
    response = get_ok(client, "/units/HKQF/ITCSCR405A")
    page = text_of(response)
    html = html_of(response)
    assert (
        "ITCSCR405A Supervise the carrying out of loyalty marketing to increase customer loyalty "
        "and enhance CRM" in page
    )
    assert "Level 4" in page
    assert "Credits 3 credits (30 notional learning hours)" in page
    assert "Status Current" in page
    assert "Framework Hong Kong Qualifications Framework (HKQF)" in page
    assert "Functional area Customer Relationship Management (Execution & Implementation)" in page
    assert "Range This UoC applies to considerations" in page
    assert "Typical activities" not in page

    # Elements in order, each with its requirements in order.
    e1, e2, e3 = (page.index(f"{ref} {title}") for ref, title in (
        ("6.1", "Possess the knowledge in the subject area"),
        ("6.2", "Carry out loyalty marketing"),
        ("6.3", "Exhibit professionalism"),
    ))
    assert e1 < e2 < e3
    refs = re.findall(r'<span class="ref">(6\.\d\.\d)</span>', html)
    assert refs == [f"6.1.{n}" for n in range(1, 7)] + [f"6.2.{n}" for n in range(1, 8)] + [
        "6.3.1", "6.3.2"
    ]
    # "Be able to:" once, after 6.1's last requirement and before 6.2's first.
    assert page.count("Be able to:") == 1
    able = page.index("Be able to:")
    assert e2 < able < page.index("6.2.1 Apply investigation techniques") < e3
    assert page.index("6.1.6 Be aware that") < able

    # Assessment criteria i, ii, iii after the elements, with their lead-in once.
    lead_in = "The integrated outcome requirements of this UoC are the abilities to:"
    assert page.count(lead_in) == 1
    criteria = page.index("Assessment criteria")
    positions = [page.index(f"{ref} {text}") for ref, text in (
        ("i", "successfully segment customers"),
        ("ii", "launch the loyalty programme"),
        ("iii", "successfully monitor and measure"),
    )]
    assert e3 < criteria < page.index(lead_in) < positions[0] < positions[1] < positions[2]

    assert "Versions of ITCSCR405A" in page
    assert "1 (this page)" in page
    assert f"{HKQF}, SHA-256 f7353760c44c29aa…" in page
    # One language only: no language switch.
    assert "?lang=" not in html


def test_headings_are_in_order(client, import_seed):
    import_seed(HKQF)
    html = html_of(get_ok(client, "/units/HKQF/ITCSCR405A"))
    levels = [int(n) for n in re.findall(r"<h([1-6])[\s>]", html)]
    assert levels[0] == 1
    assert levels.count(1) == 1
    assert all(b - a <= 1 for a, b in pairwise(levels))


def test_sfia_unit_page_in_english_offers_polish(client, import_seed):
    import_seed(SFIA_CELO_EN)
    import_seed(SFIA_CELO_PL)
    response = get_ok(client, "/units/SFIA9/CELO-4")
    page = text_of(response)
    html = html_of(response)
    assert "Customer engagement and loyalty: Level 4" in page
    # The CELO pages do not name the generic levels: the level is shown as a number.
    assert "Level 4 Credits" not in page
    assert "Level 4 Description" in page
    assert "What level 4 means" not in page
    assert "Credits" not in page
    assert "Level statements" in page
    statements = [
        page.index(f"{n} {text}") for n, text in enumerate([
            "Develops and executes customer engagement and loyalty initiatives.",
            "Creates and manages loyalty programmes.",
            "Analyses customer data to inform targeted communications and experiences.",
        ], start=1)
    ]
    assert statements == sorted(statements)
    # Guidance activities: a list, labelled as context that is not assessed.
    assert "Typical activities" in page
    assert "not assessed" in page
    assert '<li lang="en">developing customer engagement and loyalty strategies</li>' in html
    assert page.index("Typical activities") < page.index("Level statements")
    # The switch offers Polish; English is the page's language.
    assert 'href="/units/SFIA9/CELO-4?lang=pl"' in html
    assert '<span aria-current="true" lang="en">English</span>' in html
    assert 'lang="pl"' in html  # only on the link that offers Polish
    assert "Rozwija" not in page


def test_sfia_unit_page_in_polish(client, import_seed):
    import_seed(SFIA_CELO_EN)
    import_seed(SFIA_CELO_PL)
    response = get_ok(client, "/units/SFIA9/CELO-4?lang=pl")
    page = text_of(response)
    html = html_of(response)
    assert '<span lang="pl">Zaangażowanie i lojalność klientów: Poziom 4</span>' in html
    assert (
        '<span class="ref">1</span> <span lang="pl">Rozwija i realizuje inicjatywy angażujące i '
        "lojalnościowe klientów.</span>" in html
    )
    assert "Tworzy i zarządza programami lojalnościowymi." in page
    assert '<p lang="pl">Opracowywanie i wdrażanie strategii' in html
    assert '<li lang="pl">opracowywanie strategii budowania zaangażowania' in html
    assert "Develops and executes" not in page
    assert 'href="/units/SFIA9/CELO-4?lang=en"' in html
    assert '<span aria-current="true" lang="pl">Polski</span>' in html
    # The interface stays English; the page says which language the unit text is in.
    assert "Shown in Polish, translated from English" in page
    assert "Polish text: 001_372c5a881296ff2d.txt" in page


def test_unknown_language_shows_the_units_own_text(client, import_seed):
    import_seed(SFIA_CELO_EN)
    import_seed(SFIA_CELO_PL)
    response = get_ok(client, '/units/SFIA9/CELO-4?lang=de"><script>')
    page = text_of(response)
    html = html_of(response)
    assert "Develops and executes customer engagement and loyalty initiatives." in page
    assert "Rozwija" not in page
    assert 'lang="de' not in html
    assert "<script>" not in html


def test_translation_falls_back_per_text(client, import_seed, session):
    import_seed(SFIA_CELO_EN)
    import_seed(SFIA_CELO_PL)
    from certify.units import queries

    unit = queries.find_unit(session, "CELO-4")[0]
    unit.criteria[1].translations.clear()
    session.commit()
    response = get_ok(client, "/units/SFIA9/CELO-4?lang=pl")
    html = html_of(response)
    assert '<span lang="en">Creates and manages loyalty programmes.</span>' in html
    assert '<span lang="pl">Rozwija i realizuje' in html


def test_superseded_version_keeps_the_language(client, import_seed, import_bytes, seeds):
    import_seed(SFIA_CELO_EN)
    import_seed(SFIA_CELO_PL)
    data = (seeds / SFIA_CELO_EN).read_bytes()
    revised = data.replace(
        b"Creates and manages loyalty programmes.", b"Creates and runs loyalty programmes."
    )
    assert revised != data
    import_bytes(revised, "celo-revised.txt")
    html = html_of(get_ok(client, "/units/SFIA9/CELO-4/v1?lang=pl"))
    assert 'href="/units/SFIA9/CELO-4?lang=pl">version 2</a>' in html
    assert "Rozwija i realizuje" in html


def test_proficiency_unit_page(client, import_seed):
    import_seed(CAPABILITY)
    response = get_ok(client, "/units/CAPDIR/MCRLP-2")
    page = text_of(response)
    assert "Managing customer retention and loyalty programs (Intermediate)" in page
    assert "Level 2 — Intermediate" in page
    assert "Description Managing customer retention and loyalty programs involves" in page
    assert "1 Intermediate-level individuals have a deeper understanding" in page


def test_skill_page_level_name_from_the_framework(client, import_seed):
    import_seed(SFIA_CEXP)
    page = text_of(get_ok(client, "/units/SFIA9/CEXP-3"))
    assert "Level 3 — Apply What level 3 means" in page
    assert "Performs varied tasks, sometimes complex and non-routine" in page


def test_level_names_learnt_from_another_page(client, import_seed):
    # The CEXP page describes SFIA's generic levels; CELO's units then show the names too.
    import_seed(SFIA_CELO_EN)
    import_seed(SFIA_CEXP)
    page = text_of(get_ok(client, "/units/SFIA9/CELO-4"))
    assert "Level 4 — Enable What level 4 means" in page
    assert "Performs diverse complex activities" in page


# --- safety --------------------------------------------------------------------------


def test_hostile_text_is_escaped(client, seeds, import_bytes):
    data = (
        (seeds / SFIA_CELO_EN).read_bytes()
        .replace(b"Customer engagement and loyalty", b'Customer <script>alert(1)</script> & "x"')
        .replace(b"CELO", b"XSSA")
        .replace(b"Develops and executes", b"<img src=x onerror=alert(2)> Develops")
    )
    report = import_bytes(data, "<b>hostile</b>.txt")
    assert [o.code for o in report.outcomes] == ["XSSA-3", "XSSA-4", "XSSA-5", "XSSA-6"]
    for url in ("/units?q=XSSA", "/units/SFIA9/XSSA-4", "/frameworks/SFIA9", "/"):
        html = html_of(get_ok(client, url))
        assert "<script" not in html, url
        assert "<img" not in html, url
        assert "<b>" not in html, url
    unit_html = html_of(client.get("/units/SFIA9/XSSA-4"))
    assert "Customer &lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;x&#34;: Level 4" in unit_html
    assert "&lt;img src=x onerror=alert(2)&gt; Develops" in unit_html
    assert "&lt;b&gt;hostile&lt;/b&gt;.txt" in unit_html
    listing = html_of(client.get("/units?q=XSSA"))
    assert "Customer &lt;script&gt;alert(1)&lt;/script&gt;" in listing


def test_hostile_search_term_is_escaped(client, all_seeds):
    html = html_of(get_ok(client, '/units?q="><script>alert(1)</script>'))
    assert "<script>" not in html
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert "No units match '&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;'" in html


def test_views_ask_the_permission_rule(client, all_seeds, monkeypatch):
    asked = []

    def deny(user, obj=None):
        asked.append(obj)
        return False

    monkeypatch.setattr(views, "can_view_catalogue", deny)
    for url in (
        "/frameworks",
        "/frameworks/HKQF",
        "/units",
        "/units/HKQF/ITCSCR405A",
        "/units/HKQF/ITCSCR405A/v1",
    ):
        assert client.get(url).status_code == 404, url
    assert [getattr(obj, "code", None) for obj in asked] == [
        None, "HKQF", None, "ITCSCR405A", "ITCSCR405A"
    ]


def test_catalogue_is_public():
    from certify.units.permissions import can_view_catalogue

    assert can_view_catalogue(None, None) is True


# --- queries per page ----------------------------------------------------------------


def count_for(client, count_queries, url: str) -> int:
    with count_queries() as counter:
        get_ok(client, url)
    return counter.count


LIST_PAGES = ["/units", "/units?q=a&superseded=1", "/frameworks", "/frameworks/HKQF", "/"]


def test_list_pages_query_count_is_flat(client, count_queries, import_seed, import_hkqf_copy):
    import_seed(HKQF)
    before = {url: count_for(client, count_queries, url) for url in LIST_PAGES}
    for name in ALL_SEEDS:
        import_seed(name)
    for n in range(30):
        import_hkqf_copy(f"GRW{n:03d}A")
    after = {url: count_for(client, count_queries, url) for url in LIST_PAGES}
    assert after == before
    # frameworks for the filter + count + one page of units (framework joined in)
    assert before["/units"] == 3
    assert before["/frameworks"] == 1
    # framework, its levels, count, one page of units
    assert before["/frameworks/HKQF"] == 4
    assert before["/"] == 2


def test_unit_page_query_count_does_not_grow_with_criteria(
    client, count_queries, import_seed, import_bytes, hkqf_bytes
):
    import_seed(HKQF)
    small = count_for(client, count_queries, "/units/HKQF/ITCSCR405A")
    extra = b"".join(f"\u25cf Keep record {n} of the programme ".encode() for n in range(25))
    bigger = hkqf_bytes.replace("● Understand that the ability".encode(),
                                extra + "● Understand that the ability".encode(), 1)
    report = import_bytes(bigger, "bigger.txt")
    assert report.outcomes[0].version == 2
    large = count_for(client, count_queries, "/units/HKQF/ITCSCR405A")
    assert "6.1.31" in html_of(client.get("/units/HKQF/ITCSCR405A"))
    assert large == small
    assert count_for(client, count_queries, "/units/HKQF/ITCSCR405A/v1") == small
    assert small <= 8


def test_unit_page_query_count_does_not_grow_with_translations(
    client, count_queries, import_seed
):
    import_seed(SFIA_CELO_EN)
    alone = count_for(client, count_queries, "/units/SFIA9/CELO-4")
    import_seed(SFIA_CELO_PL)
    translated = count_for(client, count_queries, "/units/SFIA9/CELO-4?lang=pl")
    assert "Rozwija" in html_of(client.get("/units/SFIA9/CELO-4?lang=pl"))
    assert translated == alone
