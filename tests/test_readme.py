"""The README's code runs and prints what the README says: every block is executed here.

Blocks are read from README.md's fenced code. ```python blocks each run as a program of their
own; ```bash / ```sh lines and ```console `$ ` lines run as shell commands. The blocks of one
section run in README order in one fresh working folder and trace store, so a later block sees
what an earlier one traced. A ```text block right after a code block is what that block
prints: its lines must match, any number standing for any number and `...` for any text (a
line of just `...` for any lines). ```json blocks are rater profiles and must load as one.
The placeholder CALL_ID is the newest `rank_audio` call of the store, and <digest> is `latest`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import soundfile

from voicejudge import load_rater_profile

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
VOICES = ROOT / "assets" / "voices"

RUN_LANGUAGES = {"python", "bash", "sh", "console"}
KNOWN_LANGUAGES = RUN_LANGUAGES | {"json", "text"}

# Commands and blocks a test cannot run, keyed by a piece of their text, with the reason.
NOT_RUN: dict[str, str] = {
    "make demo": "the quick start itself: sets up .venv, then runs `voicejudge demo`",
    "make test": "the quick start itself: runs this test suite",
    'pytest -m "not slow"': "runs this test suite's fast part",
    "make format": "rewrites the checkout's files",
    "make bench": "the benchmarks take about 15 minutes",
    "voicejudge rank ": "serves the ranking app until Ctrl+C (tests/test_ranker_app.py)",
    "apps/ranker.py": "serves the ranking app until Ctrl+C (tests/test_ranker_app.py)",
    "--rater human": "waits for a person's answers in the ranking app",
    "--model gemini:": "needs a Gemini key (tests/test_gemini_backend.py uses a fake Gemini)",
    "--analyzer gemini:": "needs a Gemini key (tests/test_cli_rounds.py replays offline)",
    "voicejudge demo": "the main job, about a minute (tests/test_cli_rounds.py runs it small)",
}

# Commands the test runs at a smaller size than the README shows: piece -> replacement.
SMALLER: dict[str, str] = {
    "--rater random:7": "--rater random:7 --rounds 1 --pairs-per-round 2 --heldout 3",
}

# Files the README's examples name, as a reader would have them in their folder.
WAV_FROM_BUNDLED = {"a.wav": "voice-001", "b.wav": "voice-005", "c.wav": "voice-013"}
FLAC_FROM_BUNDLED = {"b.flac": "voice-005", "take.flac": "voice-001"}
TEXT_FILES = {
    "my-prompt.txt": "Prefer the lower, slower and rougher voice.\n",
    "my-character.md": "# Old sailor\n\nA man in his sixties: low, slow and a little rough.\n",
}
CHECKOUT_FOLDERS = ("assets", "scripts", "apps", "tests")

NUMBER = r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,})(?P<language>[\w+-]*)\s*$")
HEADING = re.compile(r"^#{1,6} +(?P<title>.+?)\s*$")


@dataclass
class Block:
    """One fenced block of the README, with the section it is in and what it prints."""

    language: str
    text: str
    section: str
    line: int
    output: str | None = None

    def commands(self) -> list[str]:
        """The shell commands of a bash/sh/console block, continuation lines joined."""
        lines = self.text.splitlines()
        if self.language == "console":
            lines = [line[2:] for line in lines if line.startswith("$ ")]
        commands, pending = [], ""
        for line in lines:
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1]
                continue
            commands.append(pending + line)
            pending = ""
        return commands

    def console_output(self) -> str | None:
        """What a ```console block shows its commands print."""
        printed = [line for line in self.text.splitlines() if not line.startswith("$ ")]
        return "\n".join(printed) if any(line.strip() for line in printed) else None


def read_blocks(markdown: str) -> list[Block]:
    """Every fenced block in order; a ```text block straight after a code block is its output."""
    blocks: list[Block] = []
    section, opened, body = "", None, []
    previous_end = -1
    lines = markdown.splitlines()
    for number, line in enumerate(lines, start=1):
        fence = FENCE.match(line)
        if opened is None:
            if fence:
                opened, body = (fence, number), []
            elif heading := HEADING.match(line):
                section = heading["title"]
            continue
        start, first_line = opened
        if fence and fence["indent"] == start["indent"] and fence["fence"] == start["fence"]:
            if fence["language"]:
                raise ValueError(f"README.md:{number}: a closing fence with a language")
            indent = len(start["indent"])
            text = "\n".join(body_line[indent:] for body_line in body)
            block = Block(start["language"], text, section, first_line)
            follows = blocks and all(
                not lines[i].strip() for i in range(previous_end, first_line - 1)
            )
            if block.language == "text" and follows and blocks[-1].language in RUN_LANGUAGES:
                blocks[-1].output = text
            else:
                blocks.append(block)
            opened, previous_end = None, number
        else:
            body.append(line)
    if opened is not None:
        raise ValueError(f"README.md:{opened[1]}: a code block that is never closed")
    return blocks


BLOCKS = read_blocks(README.read_text(encoding="utf-8"))
SECTIONS = list(dict.fromkeys(block.section for block in BLOCKS if block.language != "text"))


def not_run_reason(text: str) -> str | None:
    return next((reason for key, reason in NOT_RUN.items() if key in text), None)


def line_pattern(line: str) -> str:
    """A README output line as a regex: numbers stand for any number, `...` for any text;
    digits inside a name (`voice-005`, `v2`) stay literal."""
    standalone = rf"(?<![\w.:-]){NUMBER}(?![\w:-])"
    parts = re.split(rf"(\.\.\.|{standalone})", line.rstrip())
    return "".join(
        ".*" if part == "..." else NUMBER if re.fullmatch(NUMBER, part) else re.escape(part)
        for part in parts
        if part
    )


def prints_as_shown(expected: str, printed: str) -> bool:
    pattern = "".join(
        r"(?:.*\n)*" if line.strip() == "..." else line_pattern(line) + r"[ \t]*\n"
        for line in expected.strip("\n").splitlines()
    )
    return re.fullmatch(pattern, printed.strip("\n") + "\n") is not None


@pytest.fixture
def reader_folder(tmp_path: Path) -> Path:
    """A fresh folder like a reader's checkout, with the files the README's examples name."""
    folder = tmp_path / "work"
    folder.mkdir()
    for name in CHECKOUT_FOLDERS:
        (folder / name).symlink_to(ROOT / name)
    for name, voice in WAV_FROM_BUNDLED.items():
        samples, rate = soundfile.read(VOICES / f"{voice}.flac")
        soundfile.write(folder / name, samples, rate)
    for name, voice in FLAC_FROM_BUNDLED.items():
        shutil.copy(VOICES / f"{voice}.flac", folder / name)
    for name, text in TEXT_FILES.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def reader_env(tmp_path: Path, reader_folder: Path) -> dict[str, str]:
    """A reader's environment: no keys, the venv first on PATH, a home of its own, no network."""
    guard = tmp_path / "netguard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text("from tests import netguard\n\nnetguard.install()\n")
    (tmp_path / "user").mkdir()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("VOICEJUDGE_", "WANDB_", "GEMINI_", "GOOGLE_"))
    }
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(tmp_path / "user"),
        VOICEJUDGE_HOME=str(reader_folder / ".voicejudge"),
        PYTHONPATH=f"{guard}{os.pathsep}{ROOT}",
        COLUMNS="100",
    )
    return env


def placeholders(command: str, folder: Path, env: dict[str, str]) -> str:
    """Fill the README's placeholders from the store the section's earlier blocks wrote."""
    if "CALL_ID" in command:
        listed = run_shell("voicejudge traces --op rank_audio --json", folder, env)
        command = command.replace("CALL_ID", json.loads(listed.stdout)[0]["id"])
    return command.replace("<digest>", "latest")


def run_shell(command: str, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return _succeeded(["bash", "-euo", "pipefail", "-c", command], folder, env, command)


def run_python(block: Block, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    program = folder / f"readme-line-{block.line}.py"
    program.write_text(block.text + "\n")
    return _succeeded([str(BIN / "python"), program.name], folder, env, f"README.md:{block.line}")


def _succeeded(
    command: list[str], folder: Path, env: dict[str, str], what: str
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command, cwd=folder, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{what}\n{result.stdout}\n{result.stderr}"
    return result


def run_block(block: Block, folder: Path, env: dict[str, str]) -> str:
    """Run one block and return what it printed."""
    if block.language == "json":
        profile = folder / f"readme-line-{block.line}.json"
        profile.write_text(block.text)
        load_rater_profile(profile)
        return ""
    if block.language == "python":
        return run_python(block, folder, env).stdout
    printed = []
    for command in block.commands():
        if not_run_reason(command):
            continue
        for piece, replacement in SMALLER.items():
            command = command.replace(piece, replacement)
        printed.append(run_shell(placeholders(command, folder, env), folder, env).stdout)
    return "".join(printed)


def runnable_texts(block: Block) -> list[str]:
    """What NOT_RUN keys are matched against: a Python block whole, a shell block by command."""
    if block.language == "python":
        return [block.text]
    return block.commands() if block.language in RUN_LANGUAGES else []


def runs_something(section: str) -> bool:
    return any(
        not not_run_reason(text)
        for block in BLOCKS
        if block.section == section
        for text in runnable_texts(block)
    )


@pytest.mark.parametrize("section", [s for s in SECTIONS if runs_something(s)])
def test_readme_section_runs_and_prints_what_it_shows(
    section: str, reader_folder: Path, reader_env: dict[str, str]
) -> None:
    for block in (b for b in BLOCKS if b.section == section and b.language != "text"):
        if block.language == "python" and not_run_reason(block.text):
            continue
        printed = run_block(block, reader_folder, reader_env)
        shown = block.output or (block.console_output() if block.language == "console" else None)
        if shown is not None:
            assert prints_as_shown(shown, printed), (
                f"README.md:{block.line} prints\n{printed}\nbut the README shows\n{shown}"
            )


def test_every_readme_block_is_run_or_says_why_not() -> None:
    """A new block cannot slip past: its language is one this file knows, and every NOT_RUN
    and SMALLER key still names a command or block of the README."""
    unknown = [f"README.md:{b.line}" for b in BLOCKS if b.language not in KNOWN_LANGUAGES]
    assert not unknown, f"code blocks without a known language (tag them): {unknown}"
    texts = [text for block in BLOCKS for text in runnable_texts(block)]
    stale = [key for key in [*NOT_RUN, *SMALLER] if not any(key in text for text in texts)]
    assert not stale, f"NOT_RUN / SMALLER keys that match nothing in the README: {stale}"
