"""The web page in a real browser (headless Chromium): sign in with a key, drop two files at once,
find them in the history, search it, open a report inside the page, delete one; and /docs, which
loads nothing from another host. Skips with a reason where Chromium or Playwright is not
installed (`.ci/run` installs both)."""

import base64
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import serve_in_thread

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

DROP = """([files, selector]) => {
  const dt = new DataTransfer();
  for (const [name, type, b64] of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], name, {type}));
  }
  const zone = document.querySelector(selector);
  for (const type of ['dragenter', 'dragover', 'drop']) {
    zone.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true}));
  }
}"""


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)")
def test_sign_in_drop_two_files_find_open_and_delete(astronaut_path, cat_path, tiny_server_env):
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    from playwright.sync_api import expect

    from fakelens.service import create_app
    from fakelens.store import HistoryStore

    store = HistoryStore()
    key = store.create_key("reporter")
    # The page's flow, not the explanations (tested elsewhere): without them each analysis takes
    # seconds, which keeps this test inside its waits on a busy 2-core machine.
    app = create_app(store, methods="")
    with serve_in_thread(app) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page()
        hosts, problems = set(), []
        page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc) if r.url.startswith("http") else None)
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "401" not in m.text else None)
        page.on("dialog", lambda d: d.accept())  # the delete confirmation

        page.goto(url + "/")
        page.fill("#key", key)
        page.click("button[type=submit]")
        page.wait_for_selector("#drop")
        files = [(p.name, "image/png" if p.suffix == ".png" else "image/jpeg", base64.b64encode(p.read_bytes()).decode())
                 for p in (astronaut_path, cat_path)]
        page.evaluate(DROP, [files, "#drop"])
        for name in ("astronaut.png", "cat.jpg"):  # per-file progress, then the verdict
            page.wait_for_selector(f"#history tr[data-name='{name}'][data-status='done']", timeout=120_000)
        # The upload list polls each job on its own timer, so it may trail the history table.
        for i in range(2):
            expect(page.locator("#uploads li .status").nth(i)).not_to_have_text(
                re.compile(r"^(uploading|queued|running)$"), timeout=30_000)
        statuses = page.locator("#uploads li .status").all_inner_texts()
        assert len(statuses) == 2 and any(s.startswith("no face") for s in statuses), statuses
        assert page.locator("#uploads progress").evaluate_all("bars => bars.map(b => b.value)") == [100, 100]

        row = page.locator("#history tr[data-name='astronaut.png']")
        verdict = row.locator(".badge").inner_text()
        assert verdict in ("real", "fake") and row.locator("img.thumb").count() == 1
        page.fill("#q", "cat")  # search by file name
        expect(page.locator("#history tr[data-id]")).to_have_count(1)  # (the page's CSP forbids eval'd waits)
        assert page.locator("#history tr[data-id]").get_attribute("data-name") == "cat.jpg"
        page.fill("#q", "")
        expect(page.locator("#history tr[data-id]")).to_have_count(2)

        row.locator("button.open").click()  # the report opens in the page
        report = page.frame_locator("#report")
        assert report.locator("#verdict b").inner_text() == verdict
        assert report.locator("h1").inner_text() == "fakelens report: astronaut.png"
        assert page.locator("#viewer-title").inner_text() == "Report: astronaut.png"

        cat_id = int(page.locator("#history tr[data-name='cat.jpg']").get_attribute("data-id"))
        cat_upload = Path(store.get(cat_id)["path"])
        page.locator("#history tr[data-name='cat.jpg'] button.delete").click()
        expect(page.locator("#history tr[data-id]")).to_have_count(1)
        assert store.get(cat_id) is None and not cat_upload.exists()

        unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select')]
            .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length)).map(e => e.id)""")
        assert unlabelled == []

        page.goto(url + "/docs")  # Swagger UI from the package, signed in by the cookie
        page.wait_for_selector(".opblock", timeout=30_000)
        assert page.locator(".opblock-summary-path").count() >= 7
        browser.close()
    assert hosts == {urlsplit(url).netloc}, hosts  # nothing loaded from another host, /docs included
    assert not problems, problems  # no script errors, no Content-Security-Policy violations
    (left,) = store.list()
    assert left["filename"] == "astronaut.png" and left["label"] == verdict
