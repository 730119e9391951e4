"""The ranking app in a real browser: Debian's chromium, driven by Python playwright."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.loopback import free_port
from voicejudge.app.desk import RankingDesk
from voicejudge.app.ranking_page import launch
from voicejudge.audio.sample_set import SampleSet, load_sample_set
from voicejudge.labels.ranking import RecordedRanking, comparison_request, read_rankings

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

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed"),
]

# Records the rate each take starts playing at (the players' audio elements are not in the page).
RECORD_PLAY_RATES = """
window.playRates = [];
const play = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function (...args) {
  const started = play.apply(this, args);
  window.playRates.push(this.playbackRate);
  return started;
};
"""


def _play(page, label: str) -> None:
    """Play one take (on a page opened with `RECORD_PLAY_RATES`) and let the app hear of it."""
    started = page.evaluate("window.playRates.length")
    page.click(f"#take-{label} button[aria-label='Play']")
    page.wait_for_function(f"window.playRates.length > {started}", timeout=10_000)
    page.wait_for_timeout(700)  # the play event reaches the app


def _the_one_ranking(client) -> tuple[RecordedRanking, dict[str, str]]:
    """The only ranking stored, and its comparison's labels (label -> sample id)."""
    client.flush()
    (recorded,) = read_rankings(client)
    return recorded, comparison_request(client, recorded.call_id).labels


def _pick_with_key(page, key: str) -> None:
    """Pick a take by its key, pressing again until the page's shortcuts have loaded (they are
    attached after the players appear)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    checked = f"document.querySelector('#best input[value=\"{key.upper()}\"]')?.checked === true"
    for _ in range(20):
        page.keyboard.press(key)
        try:
            page.wait_for_function(checked, timeout=500)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the {key!r} key never picked take {key.upper()}")


def _submit(page, element: str, text: str) -> None:
    """Press Enter to submit the page and wait until `element` says `text`."""
    page.click("#progress")
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"document.querySelector('#{element}')?.innerText.includes({text!r})", timeout=20_000
    )


def test_play_pick_with_a_key_and_submit_with_enter(client, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    voices = load_sample_set(ROOT / "assets" / "voices")
    desk = RankingDesk(SampleSet(name="voices", samples=voices.samples[:6]), client=client)
    app = launch(desk, port=free_port(), rater="ann", brief="A man in his late 50s.")
    url = app.url
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page()
            page.add_init_script(RECORD_PLAY_RATES)
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            page.goto(url)
            page.wait_for_selector("#take-A button[aria-label='Play']", timeout=30_000)
            seen = "\n".join([*requested, page.content()])
            assert "/gradio_api/file=" in page.content(), "the takes are on the page"
            assert [i for i in voices.ids if i in seen] == [], "no URL or markup names a take"
            for label in "AB":
                _play(page, label)
            _pick_with_key(page, "b")
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

    recorded, labels = _the_one_ranking(client)
    assert recorded.feedback.ranking == [labels["B"], labels["A"]]
    assert recorded.feedback.note == "ab"
    assert sorted(recorded.feedback.played) == sorted(labels.values())
    assert recorded.feedback.rater == "ann" and recorded.feedback.elapsed_s > 0
    assert (tmp_path / "ranker.png").stat().st_size > 10_000


def _speeds(page) -> list[str]:
    return page.eval_on_selector_all(
        "[id^=take-] button[aria-label^='Adjust playback speed']",
        "buttons => buttons.map(button => button.innerText.trim())",
    )


def test_every_take_is_played_first_and_the_speed_stays_for_the_next_page(client) -> None:
    from playwright.sync_api import sync_playwright

    voices = load_sample_set(ROOT / "assets" / "voices")
    desk = RankingDesk(SampleSet(name="voices", samples=voices.samples[:6]), client=client)
    app = launch(desk, port=free_port(), rater="ann")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page()
            page.add_init_script(RECORD_PLAY_RATES)
            page.goto(app.url)
            page.wait_for_selector("#take-B button[aria-label='Play']", timeout=30_000)
            assert page.inner_text("#belongs") == "Belongs to: study voices (asked of ann)"
            assert "Best take (A-B)" in page.inner_text("#best")

            _pick_with_key(page, "b")
            _submit(page, "status", "Not saved")
            assert "Play every take before ranking" in page.inner_text("#status")
            client.flush()
            assert read_rankings(client) == [], "no answer before the takes were heard"

            page.click("#take-A button[aria-label^='Adjust playback speed']")
            page.wait_for_function(
                "[...document.querySelectorAll('[id^=take-] button[aria-label^=\"Adjust "
                "playback speed\"]')].every(button => button.innerText.trim() === '1.5x')",
                timeout=10_000,
            )
            _play(page, "A")
            _submit(page, "status", "not played yet: B")
            _play(page, "B")
            _submit(page, "progress", "1 ranked this session")
            assert _speeds(page) == ["1.5x", "1.5x"], "the next page shows the speed chosen"
            _play(page, "B")
            assert page.evaluate("window.playRates") == [1.5, 1.5, 1.5], "and plays at it"
            browser.close()
    finally:
        app.close()
    client.flush()
    (recorded,) = read_rankings(client)
    assert sorted(recorded.feedback.played) == sorted(recorded.feedback.ranking)


def test_the_play_check_can_be_switched_off(client) -> None:
    from playwright.sync_api import sync_playwright

    voices = load_sample_set(ROOT / "assets" / "voices")
    desk = RankingDesk(SampleSet(name="trio", samples=voices.samples[:3]), client=client, takes=3)
    app = launch(desk, port=free_port(), rater="ann", require_play=False)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page()
            page.goto(app.url)
            page.wait_for_selector("#take-C button[aria-label='Play']", timeout=30_000)
            assert "Order all takes, best first (A-C in order)" in page.inner_text("body")
            for count, key in enumerate("cab", start=1):
                page.keyboard.press(key)  # each pick appends to the order, so one at a time
                page.wait_for_function(
                    f"document.querySelectorAll('#order .token').length === {count}",
                    timeout=10_000,
                )
            _submit(page, "progress", "1 ranked this session")
            browser.close()
    finally:
        app.close()
    recorded, labels = _the_one_ranking(client)
    assert recorded.feedback.ranking == [labels["C"], labels["A"], labels["B"]]
    assert recorded.feedback.played == []
