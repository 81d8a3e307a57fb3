"""What every response shares: security headers, error pages, the health check, the layout."""

from __future__ import annotations

import re

import pytest

from certify.core.web import CONTENT_SECURITY_POLICY, RowIdConverter

SEEDS = ["000_017560b9a563fecc.txt", "001_372c5a881296ff2d.txt", "004_01fdc294d607b990.txt"]

PAGES = [
    "/",
    "/frameworks",
    "/frameworks/HKQF",
    "/units",
    "/units?q=loyalty&framework=SFIA9&superseded=1&page=2",
    "/units/HKQF/ITCSCR405A",
    "/units/HKQF/ITCSCR405A/v1",
    "/units/SFIA9/CELO-4?lang=pl",
]


@pytest.fixture
def catalogue(cli, seeds):
    result = cli("units", "import", *(str(seeds / name) for name in SEEDS))
    assert result.exit_code == 0, result.output


def assert_security_headers(response) -> None:
    csp = response.headers["Content-Security-Policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in csp
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("url", [*PAGES, "/nope", "/healthz", "/static/css/certify.css"])
def test_security_headers_on_every_response(client, catalogue, url):
    with client.get(url) as response:
        assert response.status_code == (404 if url == "/nope" else 200)
        assert_security_headers(response)


@pytest.mark.parametrize("url", PAGES)
def test_pages_share_the_layout_and_need_nothing_inline(client, catalogue, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert html.startswith("<!doctype html>")
    assert '<html lang="en">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<a class="skip-link" href="#main">Skip to content</a>' in html
    assert '<main id="main"' in html
    assert "<header" in html and "<footer" in html
    assert '<a href="/units"' in html and '<a href="/frameworks"' in html
    # The CSP forbids inline script and style, so pages must not depend on them.
    assert "<script" not in html
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)">', html)
    assert stylesheets == ["/static/css/certify.css"]
    assert len(re.findall(r"<h1[\s>]", html)) == 1


def test_every_form_field_has_a_label(client, catalogue):
    html = client.get("/units").get_data(as_text=True)
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\sid="([^"]+)"', html)
    assert ids == ["q", "framework", "superseded"]
    for field_id in ids:
        assert f'<label for="{field_id}">' in html


def test_tables_have_captions_and_header_scopes(client, catalogue):
    for url in ("/frameworks", "/units", "/frameworks/HKQF", "/units/HKQF/ITCSCR405A"):
        html = client.get(url).get_data(as_text=True)
        tables = re.findall(r"<table.*?</table>", html, re.S)
        assert tables, url
        for table in tables:
            assert "<caption" in table, url
            headers = re.findall(r"<th(\s[^>]*)?>", table)
            assert headers and all('scope="' in (attrs or "") for attrs in headers), url
        # Wide tables scroll inside a focusable region instead of widening the page on phones.
        assert html.count('class="table-wrap"') == len(tables), url


def test_navigation_marks_the_current_section(client, catalogue):
    html = client.get("/frameworks/HKQF").get_data(as_text=True)
    assert '<a href="/frameworks" aria-current="page">Frameworks</a>' in html
    html = client.get("/units/HKQF/ITCSCR405A").get_data(as_text=True)
    assert '<a href="/units" aria-current="page">Catalogue</a>' in html


def test_stylesheet_is_served(client):
    with client.get("/static/css/certify.css") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/css"
        css = response.get_data(as_text=True)
    assert ":focus-visible" in css
    assert "system-ui" in css
    assert ".table-wrap" in css
    assert "@import" not in css and "url(http" not in css


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "<title>Not found — certify</title>" in html
    assert "<h1>Not found</h1>" in html
    assert "There is nothing at this address." in html
    assert "Error 404" in html
    assert '<a href="/units">Search the catalogue</a>' in html


def test_405_page(client):
    response = client.post("/units")
    assert response.status_code == 405
    assert "<h1>Not allowed</h1>" in response.get_data(as_text=True)
    assert_security_headers(response)


def test_home_page_explains_certify_when_empty(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>certify</h1>" in html
    assert "assess candidates against units of competency" in html
    assert "The catalogue is empty" in html
    assert "<code>certify units import PATH...</code>" in html


def test_home_page_counts(client, catalogue):
    html = client.get("/").get_data(as_text=True)
    assert "The catalogue is empty" not in html
    assert re.search(r'<span class="stats__number">2</span>\s*frameworks', html)
    assert re.search(r'<span class="stats__number">5</span>\s*current units', html)
    assert '<a class="button" href="/units">Search the catalogue</a>' in html


def test_links_cannot_be_moved_by_query_arguments(client, catalogue, app, monkeypatch):
    # A query argument named like a path argument must not send pagination links elsewhere.
    monkeypatch.setitem(app.config, "PAGE_SIZE", 1)
    html = client.get("/frameworks/SFIA9?code=HKQF").get_data(as_text=True)
    assert 'href="/frameworks/SFIA9?page=2"' in html


def test_an_id_beyond_what_a_database_key_holds_is_not_found_on_every_route(app, client, login,
                                                                            admin):
    """Every route with an <int:...> part answers 404 (never a database error) for an id
    larger than PostgreSQL's integer, for a signed-in provider admin."""
    login(admin)
    huge = str(2**31)
    checked = 0
    for rule in app.url_map.iter_rules():
        converters = rule._converters
        if not any(isinstance(c, RowIdConverter) for c in converters.values()):
            continue
        # Build the path by hand: the converter itself refuses to build an id this large.
        path = rule.rule
        for name, converter in converters.items():
            value = huge if isinstance(converter, RowIdConverter) else "x"
            path = re.sub(rf"<[^>]*:?{name}>", value, path)
        if "GET" not in rule.methods:
            continue
        response = client.get(path)
        response.close()
        assert response.status_code == 404, (path, response.status_code)
        checked += 1
    assert checked > 20
