"""The evidence upload page's script (static/js/upload.js) in a real Chromium.

Each test signs in through the login form in a fresh browser context and works on
its own item.  Slow uploads are made with Chromium's network emulation (CDP), so
that a progress bar can be watched while it moves and cancelled half-way.
"""

from __future__ import annotations

import base64
import re
import time

from jinja2.filters import do_filesizeformat
from playwright.sync_api import expect

from tests.e2e.conftest import save_screenshot
from tests.evidence.hostile import PE, png

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = png()
ITEM_PATH = re.compile(r"/evidence/items/(\d+)$")
DROP_ZONE = 'form[data-upload="item"]'

# A File (or several) made in the page and handed to a DataTransfer, as a drop would.
# Each file is {name, type, base64} for given bytes or {name, type, size} for a text
# file of that many bytes made in the page (so that megabytes do not cross the wire).
MAKE_TRANSFER = """(files) => {
  const transfer = new DataTransfer();
  for (const spec of files) {
    let bytes;
    if (spec.base64 !== undefined) {
      bytes = Uint8Array.from(atob(spec.base64), (c) => c.charCodeAt(0));
    } else {
      bytes = new Uint8Array(spec.size).fill(0x61);  // "aaa…": plain UTF-8 text
      for (let i = 79; i < spec.size; i += 80) bytes[i] = 0x0a;
    }
    transfer.items.add(new File([bytes], spec.name, {type: spec.type}));
  }
  return transfer;
}"""

# Keeps, in sessionStorage (which outlives the reload that follows a complete
# upload), every state the upload rows pass through: each row's name, progress
# value and maximum, status text and class.  A MutationObserver's callback is a
# microtask queued by the change itself, so it runs before the promise reactions
# that reload the page.
RECORD_ROWS = """() => {
  sessionStorage.setItem("rows", "[]");
  const list = document.querySelector('form[data-upload="item"] [data-upload-list]');
  const record = () => {
    const log = JSON.parse(sessionStorage.getItem("rows"));
    for (const li of list.querySelectorAll("li")) {
      const progress = li.querySelector("progress");
      const status = li.querySelector(".upload__status");
      if (!progress || !status) continue;
      log.push({name: li.querySelector(".filename").textContent,
                value: progress.value, max: progress.max,
                status: status.textContent, kind: status.className});
    }
    sessionStorage.setItem("rows", JSON.stringify(log));
  };
  new MutationObserver(record).observe(list, {
    subtree: true, childList: true, characterData: true, attributes: true,
    attributeFilter: ["value", "max", "class"],
  });
}"""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def slow_uploads(page, bytes_per_second: int) -> None:
    """Throttle what this page sends, through Chromium's network emulation."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1,
        "uploadThroughput": bytes_per_second,
    })


def new_item(page, title: str) -> str:
    """Make an item without files through the new-item form; its page's path."""
    page.goto("/evidence/items/new")
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Add evidence").click()
    page.wait_for_url(ITEM_PATH)
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    return ITEM_PATH.search(page.url).group(0)


def drop(page, files: list[dict]) -> None:
    """Drag files over the item page's drop zone and drop them there."""
    transfer = page.evaluate_handle(MAKE_TRANSFER, files)
    try:
        zone = page.locator(DROP_ZONE)
        zone.dispatch_event("dragenter", {"dataTransfer": transfer})
        zone.dispatch_event("dragover", {"dataTransfer": transfer})
        expect(zone).to_have_class(re.compile(r"\bupload--dragover\b"))
        zone.dispatch_event("drop", {"dataTransfer": transfer})
        expect(zone).not_to_have_class(re.compile(r"\bupload--dragover\b"))
    finally:
        transfer.dispose()


def upload_row(page, name: str):
    return page.locator(f"{DROP_ZONE} [data-upload-list] li").filter(
        has=page.locator(".filename", has_text=name)
    )


def progress_of(row) -> tuple[float, float]:
    return tuple(row.locator("progress").evaluate("(p) => [p.value, p.max]"))


def files_table(page):
    return page.locator("table.data tbody tr")


def listed_file(page, name: str):
    return files_table(page).filter(has=page.get_by_role("rowheader", name=name, exact=True))


def expect_listed(page, name: str, size: int, media_type: str) -> None:
    row = listed_file(page, name)
    expect(row).to_have_count(1)
    expect(row.locator("td.num")).to_have_text(do_filesizeformat(size))
    expect(row.locator("td.code")).to_have_text(media_type)


def wait_until_stored(server, before: set, *, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(server.stored_files() - before) != count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(server.stored_files() - before) == count, sorted(server.stored_files() - before)


def test_new_item_with_two_files_uploads_each_through_the_script(open_page, server):
    page = open_page()
    posts: list[tuple[str, str]] = []
    page.on("request", lambda request: posts.append(
        (request.url.removeprefix(server.url), request.headers.get("accept", "")))
        if request.method == "POST" else None)

    page.goto("/evidence/items/new")
    page.get_by_label("Title").fill("Site induction record")
    page.get_by_label("Description").fill("Signed induction checklist and a photo of the board.")
    page.get_by_label("Files").set_input_files([
        {"name": "induction.pdf", "mimeType": "application/pdf", "buffer": PDF},
        {"name": "board.png", "mimeType": "image/png", "buffer": PNG},
    ])
    # The script queues the chosen files, each on its own line, until the form is sent.
    for name in ("induction.pdf", "board.png"):
        row = page.locator("[data-upload-list] li").filter(has_text=name)
        expect(row.locator(".upload__status")).to_have_text("Ready to upload")
        expect(row.get_by_role("button", name=f"Cancel {name}")).to_be_visible()
    page.get_by_role("button", name="Add evidence").click()

    page.wait_for_url(ITEM_PATH)
    expect(page.get_by_role("heading", level=1)).to_have_text("Site induction record")
    expect(page.locator("p.description")).to_have_text(
        "Signed induction checklist and a photo of the board.")
    expect(files_table(page)).to_have_count(2)
    expect_listed(page, "induction.pdf", len(PDF), "application/pdf")
    expect_listed(page, "board.png", len(PNG), "image/png")
    # The script's path: the item's text asking for JSON, then one request per file.
    item_id = ITEM_PATH.search(page.url).group(1)
    assert posts[0] == ("/evidence/items/new", "application/json")
    assert sorted(posts[1:]) == [(f"/evidence/items/{item_id}/files", "application/json")] * 2


def test_dropped_files_each_get_a_progress_bar_that_fills(open_page, server):
    page = open_page()
    item_path = new_item(page, "Toolbox talk notes")
    # Script-enhanced: the Upload button is hidden, files upload when dropped.
    expect(page.locator(DROP_ZONE).get_by_role("button", name="Upload")).to_be_hidden()
    expect(page.locator(DROP_ZONE)).to_have_class(re.compile(r"\bupload--dropzone\b"))
    page.evaluate(RECORD_ROWS)
    slow_uploads(page, 200_000)
    size = 1_000_000
    drop(page, [
        {"name": "sketch.png", "type": "image/png", "base64": _b64(PNG)},
        {"name": "talk-notes.txt", "type": "text/plain", "size": size},
    ])

    small, big = upload_row(page, "sketch.png"), upload_row(page, "talk-notes.txt")
    expect(page.locator(f"{DROP_ZONE} [data-upload-list] li progress")).to_have_count(2)
    expect(big.locator(".upload__status")).to_have_text("Uploading…")
    # The small file is done while the big one is still on its way.
    expect(small.locator(".upload__status")).to_have_text("Uploaded")
    expect(small.locator(".upload__status")).to_have_class(
        re.compile(r"\bupload__status--done\b"))
    expect(small.get_by_role("button")).to_have_count(0)
    value, maximum = progress_of(small)
    assert value == maximum > 0
    # The big file's bar moves: seen part-way, then further on.
    page.wait_for_function(
        """() => { const li = [...document.querySelectorAll('[data-upload-list] li')]
                     .find((li) => li.textContent.includes('talk-notes.txt'));
                   const p = li.querySelector('progress');
                   return p.max > 1 && p.value > 0 && p.value < p.max / 2; }""")
    first, total = progress_of(big)
    assert total >= size and 0 < first < total
    page.wait_for_function(
        f"""() => {{ const li = [...document.querySelectorAll('[data-upload-list] li')]
                     .find((li) => li.textContent.includes('talk-notes.txt'));
                   return li && li.querySelector('progress').value > {first}; }}""")
    assert progress_of(big)[0] > first

    # When both are kept the page reloads and lists them.
    page.wait_for_function(
        "() => document.querySelectorAll('table.data tbody tr').length === 2",
        timeout=30_000)
    assert page.url == server.url + item_path
    expect_listed(page, "sketch.png", len(PNG), "image/png")
    expect_listed(page, "talk-notes.txt", size, "text/plain")
    # Before that reload, the big file's bar had reached its end and said it was done.
    log = page.evaluate("() => JSON.parse(sessionStorage.getItem('rows'))")
    last = [entry for entry in log if entry["name"] == "talk-notes.txt"][-1]
    assert last["value"] == last["max"] == total
    assert last["status"] == "Uploaded" and "upload__status--done" in last["kind"]
    values = [entry["value"] for entry in log if entry["name"] == "talk-notes.txt"]
    assert values == sorted(values) and len(set(values)) > 3, values


def test_cancelling_an_upload_keeps_nothing(open_page, server, request):
    page = open_page()
    item_path = new_item(page, "Cancelled upload")
    stored = server.stored_files()
    slow_uploads(page, 50_000)
    drop(page, [{"name": "too-long.txt", "type": "text/plain", "size": 2_000_000}])

    row = upload_row(page, "too-long.txt")
    page.wait_for_function(
        "() => { const p = document.querySelector('[data-upload-list] li progress');"
        " return p && p.value > 0; }")
    value, maximum = progress_of(row)
    assert 0 < value < maximum
    row.get_by_role("button", name="Cancel too-long.txt").click()

    expect(row.locator(".upload__status")).to_have_text("Cancelled")
    expect(row.locator(".upload__status")).to_have_class(
        re.compile(r"\bupload__status--error\b"))
    expect(row.get_by_role("button")).to_have_count(0)
    notice = page.locator(f"{DROP_ZONE} [data-upload-list] li").filter(
        has_text="Some files were not added.")
    expect(notice.get_by_role("link", name="Show the current list of files")).to_be_visible()
    assert page.url == server.url + item_path  # no reload after a cancel

    save_screenshot(page, request.node.name, "-before-reload")
    page.reload()
    expect(page.get_by_text("No files.")).to_be_visible()
    expect(files_table(page)).to_have_count(0)
    wait_until_stored(server, stored, count=0)


def test_a_refused_file_shows_the_servers_reason(open_page, server, request):
    page = open_page()
    item_path = new_item(page, "Refused upload")
    stored = server.stored_files()
    drop(page, [{"name": "essay.pdf", "type": "application/pdf", "base64": _b64(PE)}])

    row = upload_row(page, "essay.pdf")
    status = row.locator(".upload__status")
    expect(status).to_have_text("essay.pdf is a Windows executable, not an accepted file type")
    expect(status).to_have_class(re.compile(r"\bupload__status--error\b"))
    expect(row.get_by_role("button")).to_have_count(0)
    expect(page.locator(f"{DROP_ZONE} [data-upload-list]")).to_contain_text(
        "Some files were not added.")
    assert page.url == server.url + item_path

    save_screenshot(page, request.node.name, "-before-reload")
    page.reload()
    expect(page.get_by_text("No files.")).to_be_visible()
    expect(files_table(page)).to_have_count(0)
    wait_until_stored(server, stored, count=0)


def test_without_javascript_the_form_posts_its_files(open_page, server):
    page = open_page(javascript=False)
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.headers.get("accept", ""))
            if request.method == "POST" else None)
    page.goto("/evidence/items/new")
    page.get_by_label("Title").fill("Risk assessment")
    page.get_by_label("Files").set_input_files(
        {"name": "risk-assessment.pdf", "mimeType": "application/pdf", "buffer": PDF})
    page.get_by_role("button", name="Add evidence").click()

    page.wait_for_url(ITEM_PATH)
    expect(page.get_by_role("heading", level=1)).to_have_text("Risk assessment")
    expect(page.get_by_text("is added to your portfolio with 1 file.")).to_be_visible()
    expect(files_table(page)).to_have_count(1)
    expect_listed(page, "risk-assessment.pdf", len(PDF), "application/pdf")
    # One plain post, and the item page keeps its Upload button for more.
    assert len(posts) == 1 and "application/json" not in posts[0]
    expect(page.locator(DROP_ZONE).get_by_role("button", name="Upload")).to_be_visible()
