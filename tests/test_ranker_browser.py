"""The ranking app in a real browser: Debian's chromium, driven by Python playwright."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from voicejudge.data import SampleSet, load_sample_set
from voicejudge.desk import RankingDesk
from voicejudge.ranker_app import launch
from voicejudge.ranking import comparison_request, read_rankings

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--autoplay-policy=no-user-gesture-required",
]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed")


def test_play_pick_with_a_key_and_submit_with_enter(client, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    voices = load_sample_set(ROOT / "assets" / "voices")
    desk = RankingDesk(SampleSet(name="voices", samples=voices.samples[:6]), client=client)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = launch(desk, port=port, rater="ann", brief="A man in his late 50s.")
    url = app.url
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page()
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            page.goto(url)
            page.wait_for_selector("#take-A button[aria-label='Play']", timeout=30_000)
            seen = "\n".join([*requested, page.content()])
            assert "/gradio_api/file=" in page.content(), "the takes are on the page"
            assert [i for i in voices.ids if i in seen] == [], "no URL or markup names a take"
            page.click("#take-A button[aria-label='Play']")
            page.wait_for_timeout(700)
            page.keyboard.press("b")
            page.wait_for_function(
                "document.querySelector('#best input[value=\"B\"]')?.checked === true",
                timeout=10_000,
            )
            page.click("#note textarea")
            page.keyboard.type("ab")  # typing letters in the note must not pick takes
            page.click("#progress")
            page.keyboard.press("Enter")
            page.wait_for_function(
                "document.querySelector('#status')?.innerText.includes('Saved')", timeout=20_000
            )
            page.wait_for_function(
                "document.querySelector('#progress')?.innerText.includes('1 ranked this session')",
                timeout=10_000,
            )
            page.screenshot(path=str(tmp_path / "ranker.png"), full_page=True)
            browser.close()
    finally:
        app.close()

    client.flush()
    (recorded,) = read_rankings(client)
    labels = comparison_request(client, recorded.call_id).labels
    assert recorded.feedback.ranking == [labels["B"], labels["A"]]
    assert recorded.feedback.note == "ab"
    assert labels["A"] in recorded.feedback.played
    assert recorded.feedback.rater == "ann" and recorded.feedback.elapsed_s > 0
    assert (tmp_path / "ranker.png").stat().st_size > 10_000
