"""The character brief: who the voice is for, in the person's own words.

A run starts from a brief. An LLM judge reads it as it is; the offline judge can only score what
the brief states measurably, so `stated_criteria` reads the brief for plain statements about
pitch, pace, roughness, melody, breath, loudness and recording defects. A brief that states
none of them gives no criteria, and the judge starts without a prior.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from voicejudge.errors import ConfigError
from voicejudge.learning.rubric import Criterion
from voicejudge.learning.terms import FeatureTerm

# What a plain statement is worth before any ranking: small beside what a few dozen rankings
# can show, so a brief that does not match the listener is overturned within a few rounds.
STATED_WEIGHT = 0.5
STATED_GATE_WEIGHT = 1.0
MAX_BRIEF_CHARS = 20_000


class BriefError(ConfigError):
    """A brief that cannot be read."""


@dataclass(frozen=True)
class Statement:
    """One way of saying something measurable about a voice: the phrases, and the term they
    state."""

    phrases: tuple[str, ...]
    term: FeatureTerm


def _says(
    phrases: tuple[str, ...],
    feature: str,
    kind: Literal["higher", "lower", "gate"],
    threshold: float | None = None,
    below: bool = True,
) -> Statement:
    return Statement(
        phrases, FeatureTerm(feature=feature, kind=kind, threshold=threshold, below=below)
    )


# Phrases a brief uses for each measurable trait. Gates carry physical limits, not fitted ones:
# a whisper is mostly unvoiced, a telephone line stops near 3.4 kHz, clipping flattens peaks.
STATEMENTS = (
    _says(
        (
            "low voice",
            "low-pitched",
            "low pitched",
            "low pitch",
            "lower pitch",
            "sits low",
            "deep voice",
            "deep",
            "baritone",
            "bass voice",
        ),
        "f0_median_hz",
        "lower",
    ),
    _says(
        (
            "high voice",
            "high-pitched",
            "high pitched",
            "high pitch",
            "higher pitch",
            "sits high",
            "squeaky",
            "soprano",
            "falsetto",
        ),
        "f0_median_hz",
        "higher",
    ),
    _says(
        (
            "slow",
            "slowly",
            "unhurried",
            "takes his time",
            "takes her time",
            "takes their time",
            "leisurely",
            "drawl",
        ),
        "syll_rate",
        "lower",
    ),
    _says(
        ("fast", "quick", "quickly", "rapid", "brisk", "hurried", "rushed"), "syll_rate", "higher"
    ),
    _says(
        ("rough", "gritty", "grit", "raspy", "rasp", "gravelly", "hoarse", "husky", "gravel"),
        "jitter_st",
        "higher",
    ),
    _says(("smooth voice", "silky", "clear voice", "clean voice"), "hnr_db", "higher"),
    _says(
        (
            "expressive",
            "lively",
            "animated",
            "melodic",
            "it moves",
            "sing-song",
            "lets a line rise",
        ),
        "f0_range_st",
        "higher",
    ),
    _says(("monotone", "monotonous", "flat delivery", "deadpan"), "f0_range_st", "lower"),
    _says(("breathy", "airy"), "voiced_frac", "lower"),
    _says(("booming", "loud voice", "speaks loudly"), "lufs", "higher"),
    _says(("soft-spoken", "soft spoken", "quiet voice", "speaks softly"), "lufs", "lower"),
    _says(("whisper", "whispered", "whispering"), "voiced_frac", "gate", 0.25, True),
    _says(
        ("telephone", "phone line", "phone call", "narrow band", "muffled"),
        "bandwidth_hz",
        "gate",
        4000.0,
        True,
    ),
    _says(("clipping", "clipped", "distorted", "distortion"), "clip_ratio", "gate", 0.01, False),
    _says(("background noise", "noisy", "hiss"), "snr_db", "gate", 15.0, True),
)
_NEGATIONS = ("not", "never", "no", "nor", "without", "rather than", "instead of", "isn't")
# A negation only turns a statement around when it comes this many words before it or fewer
# ("never talks fast"), not from anywhere earlier in the clause ("not young, and deep").
_NEGATION_REACH = 3
_CLAUSE = re.compile(r"[.;:!?]+|\n\s*\n")


@dataclass(frozen=True)
class Brief:
    """A character brief: its text and where it came from."""

    text: str
    source: str = "default"

    def stated_criteria(self) -> list[Criterion]:
        """The criteria the brief states in plain words (see `STATEMENTS`), first mention wins."""
        return stated_criteria(self.text)


def default_brief() -> Brief:
    """The bundled character (`assets/character.md`)."""
    path = resources.files("voicejudge.assets").joinpath("character.md")
    return Brief(text=path.read_text(encoding="utf-8").strip(), source="default")


def load_brief(source: str | Path | None) -> Brief:
    """The brief in a UTF-8 text (Markdown) file, or the default one for None."""
    if source is None:
        return default_brief()
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise BriefError(f"{path}: no such brief file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BriefError(f"{path}: cannot read the brief as UTF-8 text ({exc}).") from None
    if not text:
        raise BriefError(f"{path}: the brief is empty; describe the character in a few lines.")
    if len(text) > MAX_BRIEF_CHARS:
        raise BriefError(f"{path}: the brief is longer than {MAX_BRIEF_CHARS} characters.")
    return Brief(text=text, source=str(path))


def stated_criteria(text: str) -> list[Criterion]:
    """Criteria for each trait the text states; a negated statement ("never fast") turns a
    direction around, while a defect (whisper, telephone band, clipping, noise) is penalised
    whether it is named as unwanted or not."""
    found: dict[str, Criterion] = {}
    for raw in _CLAUSE.split(text.lower()):
        clause = " ".join(raw.split())
        for statement in STATEMENTS:
            position = _mention(clause, statement.phrases)
            if position is None or statement.term.feature in found:
                continue
            found[statement.term.feature] = _criterion(
                statement, _negated(clause[:position]), clause.strip()
            )
    return list(found.values())


def _negated(before: str) -> bool:
    reach = " ".join(before.replace(",", " ").split()[-_NEGATION_REACH:])
    return any(re.search(rf"\b{re.escape(word)}\b", reach) for word in _NEGATIONS)


def _mention(clause: str, phrases: tuple[str, ...]) -> int | None:
    positions = [
        match.start()
        for phrase in phrases
        if (match := re.search(rf"\b{re.escape(phrase)}\b", clause)) is not None
    ]
    return min(positions) if positions else None


def _criterion(statement: Statement, negated: bool, clause: str) -> Criterion:
    term = statement.term
    if term.kind == "gate":
        weight = STATED_GATE_WEIGHT
    else:
        weight = STATED_WEIGHT
        if negated:
            term = term.model_copy(update={"kind": "lower" if term.kind == "higher" else "higher"})
    return Criterion(**term.model_dump(), weight=weight, rationale=f"the brief: “{clause}”")
