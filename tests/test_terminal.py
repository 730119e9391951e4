"""Stored text printed by the CLI: nothing in it can act on the terminal or pass for other text."""

from __future__ import annotations

import pytest

from voicejudge.app.terminal import printable, printable_data
from voicejudge.labels.feedback import RankingError, rater_name


def test_controls_and_invisible_characters_are_written_out() -> None:
    text = "a\x1b]0;t\x07\x9b1m\u202eb\u200bc\ufeff"
    assert printable(text) == "a\\x1b]0;t\\x07\\x9b1m\\u202eb\\u200bc\\ufeff"
    assert printable("one\ntwo\tthree") == "one\\ntwo\\tthree"
    assert printable("one\ntwo\tthree\x1b", lines=True) == "one\ntwo\tthree\\x1b"


def test_an_escape_cannot_be_faked_with_a_backslash() -> None:
    assert printable("\\x1b") != printable("\x1b")
    assert printable("C:\\voices") == "C:\\\\voices"


def test_file_name_bytes_that_are_not_utf8_show_as_bytes() -> None:
    assert printable("voice-\udcff.flac") == "voice-\\xff.flac"


def test_names_and_text_stay_readable() -> None:
    assert printable("Zoë Ödegaard · 50 s") == "Zoë Ödegaard · 50 s"
    assert printable_data({"r\x1b": ["\x07", 3]}) == {"r\\x1b": ["\\x07", 3]}


@pytest.mark.parametrize("name", ["alice\u200b", "bob\u202eevil", "eve\ufeff", "x\ue000"])
def test_look_alike_rater_names_are_refused(name: str) -> None:
    with pytest.raises(RankingError, match="printable"):
        rater_name(name)
    assert rater_name(" Zoë Ödegaard ") == "Zoë Ödegaard"
