"""The web page in a real browser: headless Chromium uploads a face image, waits for the verdict,
and reads it on the page. Skips with a reason where Chromium or Playwright is not installed
(`.ci/run` installs both)."""

import shutil
import socket
import threading
import time

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)")
def test_upload_in_the_browser_shows_the_verdict(astronaut_path, tmp_path, monkeypatch):
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    import uvicorn

    from fakelens.service import create_app

    monkeypatch.setenv("FAKELENS_DATA_DIR", str(tmp_path / "data"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.1)
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.set_input_files("#file", str(astronaut_path))
            page.wait_for_selector("#verdict", timeout=120_000)
            verdict = page.inner_text("#verdict")
            page.wait_for_selector("#report:not([hidden])", timeout=10_000)
            browser.close()
        assert verdict in ("real", "fake")
        from fakelens.store import HistoryStore

        (row,) = HistoryStore().list()
        assert row["label"] == verdict and row["status"] == "done"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
