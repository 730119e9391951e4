"""Analyse files one by one: features and quality for each good file, an error for each bad one."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel

from voicejudge.audio.clip import AudioError, load_audio
from voicejudge.audio.features import FeatureCache, Features
from voicejudge.audio.quality import QualityScores, assess_quality


class ClipReport(BaseModel):
    """What was measured for one file."""

    file: str
    features: Features
    quality: QualityScores


class ClipFailure(BaseModel):
    """Why one file could not be analysed."""

    file: str
    error: str


def analyze_files(
    paths: Iterable[str | Path], *, cache: FeatureCache, max_duration_s: float
) -> list[ClipReport | ClipFailure]:
    """One result per path, in order; a bad file never stops the others."""
    results: list[ClipReport | ClipFailure] = []
    for path in paths:
        try:
            clip = load_audio(path, max_duration_s=max_duration_s)
        except AudioError as exc:
            results.append(ClipFailure(file=str(path), error=str(exc)))
            continue
        features = cache.features(clip)
        results.append(
            ClipReport(file=str(path), features=features, quality=assess_quality(clip, features))
        )
    return results
