"""Features and quality on voices synthesized here with known parameters (espeak-ng + sox)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from voicejudge.audio import FEATURE_NAMES, NORMS, FeatureCache, Features, load_audio, z_scores
from voicejudge.audio.clip import AudioClip
from voicejudge.audio.features import extract_features
from voicejudge.audio.quality import assess_quality, describe
from voicejudge.audio.synth import LINES, VoiceRecipe, synthesize_many

PITCHES = (5, 25, 45, 65, 85)
SPEEDS = (110, 150, 190, 230, 270)
SNRS = (5, 15, 25, 35, 45)


def _recipe(recipe_id: str, **overrides: object) -> VoiceRecipe:
    base = {"text": LINES[1], "variant": "m3", "pitch": 40, "speed": 160}
    return VoiceRecipe(id=recipe_id, **{**base, **overrides})


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AudioClip]:
    recipes = [
        *(_recipe(f"pitch-{v}-{p}", variant=v, pitch=p) for v in ("m1", "m3") for p in PITCHES),
        *(_recipe(f"speed-{s}", speed=s, text=LINES[2]) for s in SPEEDS),
        *(_recipe(f"snr-{n}", snr_db=n, text=LINES[3]) for n in SNRS),
        _recipe("clean"),
        _recipe("clipped", drive_db=14, level_db=-14),
        _recipe("telephone", band="telephone"),
        _recipe("whisper", variant="whisper"),
        _recipe("quiet", level_db=-42),
    ]
    folder = tmp_path_factory.mktemp("voices")
    paths = synthesize_many(recipes, folder, suffix=".wav", jobs=2)
    return {recipe.id: load_audio(path) for recipe, path in zip(recipes, paths, strict=True)}


@pytest.fixture(scope="module")
def measured(voices: dict[str, AudioClip]) -> dict[str, Features]:
    return {name: extract_features(clip) for name, clip in voices.items()}


@pytest.mark.parametrize("variant", ["m1", "m3"])
def test_f0_follows_espeak_pitch(measured: dict[str, Features], variant: str) -> None:
    f0 = [measured[f"pitch-{variant}-{p}"].f0_median_hz for p in PITCHES]
    assert all(value is not None and 60 < value < 300 for value in f0), f0
    assert spearmanr(PITCHES, f0)[0] >= 0.8, f0


def test_syllable_rate_follows_speed(measured: dict[str, Features]) -> None:
    rates = [measured[f"speed-{s}"].syll_rate for s in SPEEDS]
    assert spearmanr(SPEEDS, rates)[0] >= 0.9, rates
    assert rates[-1] > 1.5 * rates[0]


def test_snr_follows_added_noise(measured: dict[str, Features]) -> None:
    snr = [measured[f"snr-{n}"].snr_db for n in SNRS]
    assert spearmanr(SNRS, snr)[0] >= 0.9, snr
    assert all(abs(m - n) < 8 for m, n in zip(snr, SNRS, strict=True) if n >= 15), snr
    assert measured["clean"].snr_db > 50


def test_clipping_and_telephone_band_are_detected(measured: dict[str, Features]) -> None:
    assert measured["clipped"].clip_ratio > 0.01
    assert measured["clean"].clip_ratio == 0.0
    assert measured["telephone"].bandwidth_hz < 4000 < 6000 < measured["clean"].bandwidth_hz
    assert measured["telephone"].hf_ratio_db < measured["clean"].hf_ratio_db - 20


def test_whisper_has_a_low_voiced_fraction(measured: dict[str, Features]) -> None:
    assert measured["whisper"].voiced_frac < 0.15
    assert measured["clean"].voiced_frac > 0.4
    assert measured["whisper"].f0_median_hz is None or measured["whisper"].voiced_frac < 0.15


def test_loudness_follows_level(measured: dict[str, Features]) -> None:
    assert measured["quiet"].lufs < measured["clean"].lufs - 15


def test_z_scores_use_every_canonical_feature(measured: dict[str, Features]) -> None:
    assert set(NORMS) == set(FEATURE_NAMES)
    scores = z_scores(measured["clean"])
    assert set(scores) == set(FEATURE_NAMES)
    assert all(np.isfinite(v) for v in scores.values())
    low, high = z_scores(measured["pitch-m3-5"]), z_scores(measured["pitch-m3-85"])
    assert low["f0_median_hz"] < 0 < high["f0_median_hz"]
    assert z_scores(measured["whisper"])["f0_median_hz"] == 0.0


def test_feature_cache_analyses_a_clip_once(voices: dict[str, AudioClip], tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path / "features")
    first = cache.features(voices["clean"])
    files = list((tmp_path / "features").glob("*.json"))
    assert len(files) == 1 and voices["clean"].sha256 in files[0].name
    stored = json.loads(files[0].read_text())
    stored["duration_s"] = 999.0
    files[0].write_text(json.dumps(stored))
    assert cache.features(voices["clean"]) is first
    assert FeatureCache(tmp_path / "features").features(voices["clean"]) is first, "shared"
    elsewhere = tmp_path / "copied"
    elsewhere.mkdir()
    (elsewhere / files[0].name).write_text(files[0].read_text())
    assert FeatureCache(elsewhere).features(voices["clean"]).duration_s == 999.0


def test_quality_scores_track_the_problems(
    voices: dict[str, AudioClip], measured: dict[str, Features]
) -> None:
    def quality(name: str):
        return assess_quality(voices[name], measured[name])

    clean = quality("clean")
    assert quality("snr-5").noise < clean.noise - 2
    assert quality("clipped").coloration < clean.coloration - 1
    assert quality("telephone").coloration < clean.coloration - 1
    assert quality("quiet").loudness < clean.loudness - 1
    assert clean.overall >= 4
    for name in voices:
        scores = quality(name).model_dump()
        assert all(1.0 <= v <= 5.0 for v in scores.values()), (name, scores)


def test_dropouts_lower_the_discontinuity_score(voices: dict[str, AudioClip]) -> None:
    clean = voices["clean"]
    damaged = clean.samples.copy()
    rate = clean.sample_rate
    for start in np.arange(0.4, clean.duration_s - 0.4, 0.35):
        damaged[int(start * rate) : int((start + 0.02) * rate)] = 0.0
    broken = AudioClip(id="broken", samples=damaged, sample_rate=rate, sha256="damaged")
    before = assess_quality(clean, extract_features(clean)).discontinuity
    after = assess_quality(broken, extract_features(broken)).discontinuity
    assert after < before - 1


def test_description_states_measured_facts(
    voices: dict[str, AudioClip], measured: dict[str, Features]
) -> None:
    features = measured["telephone"]
    text = describe(features, assess_quality(voices["telephone"], features))
    assert f"{features.f0_median_hz:.0f} Hz" in text
    assert f"bandwidth {features.bandwidth_hz / 1000:.1f} kHz" in text
    assert "quality (1-5)" in text
    whisper = describe(measured["whisper"], assess_quality(voices["whisper"], measured["whisper"]))
    assert "no voiced pitch" in whisper
