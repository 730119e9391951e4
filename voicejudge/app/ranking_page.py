"""The ranking app: a Gradio page over `RankingDesk`, for a person to rank takes by ear.

The page shows 2-4 takes under neutral labels in a recorded random order, with the character
brief and the run or study the comparison belongs to; the person plays every take (unless the
play check is off), picks the best (two takes) or orders them all, may mark a tie, skip or add
a note. Keys: A-D pick, T tie, S skip, Enter submit (not while typing). The playback speed
chosen stays for the next takes. Named API endpoints expose the same desk to scripts and
`gradio_client`.

It is a blind test: the only files it serves are the takes of the page (re-encoded without
their file names or tags, named by content hash) and the one validated picture, from a private
folder; no page, API reply or file URL names a take before its answer is stored. With logins,
the rater is the signed-in user. This module launches and serves the page; `ranking_blocks`
builds it and `ranking_render` fills it.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from voicejudge.app.desk import RankingDesk
from voicejudge.app.logins import LoginCheck, check_exposure
from voicejudge.app.ranking_blocks import build_app
from voicejudge.errors import ConfigError
from voicejudge.settings import offline_defaults

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000

KEYS_JS = """
() => {
  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat || event.isComposing) return;
    const target = event.target;
    if (target && (target.tagName === 'TEXTAREA' || (target.tagName === 'INPUT' &&
        target.type !== 'radio' && target.type !== 'checkbox'))) return;
    const key = event.key.length === 1 ? event.key.toUpperCase() : event.key;
    const click = (selector) => {
      const element = document.querySelector(selector);
      if (element) element.click();
    };
    if ('ABCD'.includes(key) && key.length === 1) click('#pick-' + key);
    else if (key === 'T') click('#tie input');
    else if (key === 'S') click('#skip');
    else if (key === 'Enter') { event.preventDefault(); click('#submit'); }
  });
  // The speed a person chose on any take applies to every take, on this page and the next:
  // a new take loads at normal speed, so each one is set to it as it starts playing.
  const speeds = ['0.5x', '1x', '1.5x', '2x'];
  let chosenSpeed = null;
  const speedButtons = () => document.querySelectorAll(
    '[id^="take-"] button[aria-label^="Adjust playback speed"]');
  const shownSpeed = (button) => button.innerText.trim();
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function (...args) {
    if (chosenSpeed) this.playbackRate = parseFloat(chosenSpeed);
    return play.apply(this, args);
  };
  let applying = false;
  let again = false;
  const applySpeed = async () => {
    const wanted = chosenSpeed;
    if (!speeds.includes(wanted)) return;
    if (applying) { again = true; return; }
    applying = true;
    for (const button of speedButtons()) {
      for (let turn = 0; turn < speeds.length && shownSpeed(button) !== wanted; turn++) {
        button.click();
        await new Promise((resolve) => setTimeout(resolve, 0));  // the player redraws
      }
    }
    applying = false;
    if (again) { again = false; applySpeed(); }
  };
  document.addEventListener('click', (event) => {
    const button = event.isTrusted && event.target.closest &&
      event.target.closest('button[aria-label^="Adjust playback speed"]');
    if (!button) return;
    setTimeout(() => {
      chosenSpeed = shownSpeed(button);
      applySpeed();
    }, 0);
  }, true);
  new MutationObserver(applySpeed).observe(document.body, {childList: true, subtree: true});
}
"""

CSS = ".voicejudge-hidden { display: none !important; }"


def character_image(path: Path, folder: Path) -> Path:
    """The picture re-encoded as a PNG without its metadata, in `folder`; a `ConfigError` for
    anything that is not a readable image of a sensible size."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise ConfigError(f"{path}: no such image file.")
    if path.stat().st_size > MAX_IMAGE_BYTES:
        raise ConfigError(f"{path}: the image is over {MAX_IMAGE_BYTES // 2**20} MB.")
    try:
        with Image.open(path) as probe:
            probe.verify()
        with Image.open(path) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise ConfigError(f"{path}: the image is too large ({image.width}x{image.height}).")
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / "character.png"
            image.convert("RGBA").save(target, format="PNG")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ConfigError(f"{path}: not an image (use PNG, JPEG, GIF or WebP).") from None
    return target


class RankingApp:
    """A running ranking page: its Gradio Blocks, its URL and its private file folder."""

    def __init__(self, blocks: Any, url: str, folder: tempfile.TemporaryDirectory[str]) -> None:
        self.blocks = blocks
        self.url = url
        self._folder = folder

    def block_thread(self) -> None:
        self.blocks.block_thread()

    def close(self) -> None:
        self.blocks.close()
        self._folder.cleanup()


_environment_lock = threading.Lock()


@contextmanager
def _gradio_files_in(folder: Path) -> Iterator[None]:
    """Make the Blocks built and launched inside keep and serve files only from `folder`, with
    the offline defaults (no analytics, no hub) in place."""
    with _environment_lock, offline_defaults():
        saved = os.environ.get("GRADIO_TEMP_DIR")
        os.environ["GRADIO_TEMP_DIR"] = str(folder / "served")
        # Gradio also serves its examples cache, looked up afresh on each request, by default
        # under the working folder; this app has none, so name a folder that never exists.
        os.environ.setdefault("GRADIO_EXAMPLES_CACHE", str(folder / "no-examples"))
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("GRADIO_TEMP_DIR", None)
            else:
                os.environ["GRADIO_TEMP_DIR"] = saved


def launch(
    desk: RankingDesk,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    logins: dict[str, str] | None = None,
    share: bool = False,
    rater: str = "",
    brief: str = "",
    image: Path | None = None,
    require_play: bool = True,
) -> RankingApp:
    """Start the app without blocking; it serves nothing but the page's takes and picture.
    With `require_play`, the page takes an answer only once every take was played."""
    logins = logins or {}
    check_exposure(host, share, logins)
    folder = tempfile.TemporaryDirectory(prefix="voicejudge-ranker-")
    try:
        root = Path(folder.name)
        picture = character_image(image, root / "picture") if image is not None else None
        with _gradio_files_in(root):
            blocks = build_app(
                desk,
                rater=rater,
                brief=brief,
                image=picture,
                signed_in=bool(logins),
                takes_folder=root / "takes",
                require_play=require_play,
            )
            blocks.queue(default_concurrency_limit=8)
            _, url, _ = blocks.launch(
                server_name=host,
                server_port=port,
                auth=LoginCheck(logins) if logins else None,
                share=share,
                prevent_thread_lock=True,
                quiet=True,
                js=KEYS_JS,
                css=CSS,
                max_file_size=0,  # the page takes no uploads: refuse any file with content
            )
    except BaseException:
        folder.cleanup()
        raise
    return RankingApp(blocks, url, folder)
