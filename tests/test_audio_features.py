"""Features and quality on voices synthesized here with known parameters (espeak-ng + sox)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import butter, sosfiltfilt
from scipy.stats import spearmanr

from voicejudge.audio import FEATURE_NAMES, NORMS, FeatureCache, Features, load_audio, z_scores
from voicejudge.audio.clip import AudioClip, resample
from voicejudge.audio.features import extract_features
from voicejudge.audio.quality import assess_quality, describe
from voicejudge.audio.synth import LINES, VoiceRecipe, synthesize_many
from voicejudge.learning.terms import FEATURE_LABELS

PITCHES = (5, 25, 45, 65, 85)
SPEEDS = (110, 150, 190, 230, 270)
SNRS = (5, 15, 25, 35, 45)
NATIVE = ("bandwidth_native_hz", "rolloff_hz", "hf7k_db", "flatness_db", "flux")
AT_16K = tuple(name for name in FEATURE_NAMES if name not in NATIVE)


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
    telephone, clean = measured["telephone"], measured["clean"]
    assert telephone.bandwidth_native_hz < 4000 < 6000 < clean.bandwidth_native_hz
    assert telephone.rolloff_hz < 3500 < clean.rolloff_hz
    assert telephone.hf7k_db < clean.hf7k_db - 20


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


def test_every_feature_has_a_label_and_a_unit() -> None:
    assert set(FEATURE_LABELS) == set(FEATURE_NAMES)
    assert len(FEATURE_NAMES) == 26 and FEATURE_NAMES[-5:] == NATIVE
    for name in NATIVE:
        description = Features.model_fields[name].description or ""
        assert any(unit in description for unit in ("Hz", "dB", "unitless")), name


def _voice(rate: int, seconds: float = 3.0) -> np.ndarray:
    """A speech-like take at `rate`: a gliding harmonic tone with -6 dB/octave harmonics up to
    0.45 of the rate, in 4 Hz syllables with hiss bursts, a 0.4 s pause and a faint floor."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 130 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    tone = sum(np.sin(k * phase) / k for k in range(1, int(0.45 * rate / f0.max()) + 1))
    highpass = butter(4, min(2500.0, 0.4 * rate), "highpass", fs=rate, output="sos")
    hiss = sosfiltfilt(highpass, rng.normal(size=t.size))
    x = np.sin(4 * np.pi * t) ** 2 * tone / 3 + 0.3 * np.sin(4 * np.pi * t + 1.3) ** 8 * hiss
    x[(t > 1.2) & (t < 1.6)] = 0.0
    return (0.3 * x / np.abs(x).max() + 1e-4 * rng.normal(size=t.size)).astype(np.float32)


def _clip(samples: np.ndarray, rate: int, name: str) -> AudioClip:
    return AudioClip(id=name, samples=samples.astype(np.float32), sample_rate=rate, sha256=name)


def _harmonic_tone(rate: int = 48_000, f0: float = 150.0, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return 0.1 * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, int(0.45 * rate / f0)))


def test_a_band_limit_above_8_khz_is_seen_at_the_native_rate(tmp_path: Path) -> None:
    full = _voice(48_000)
    limited = sosfiltfilt(butter(10, 3400, fs=48_000, output="sos"), full)
    for name, samples in (("full", full), ("limited", limited)):
        sf.write(tmp_path / f"{name}.wav", samples, 48_000, subtype="PCM_24")
    wide = extract_features(load_audio(tmp_path / "full.wav"))
    narrow = extract_features(load_audio(tmp_path / "limited.wav"))
    assert wide.bandwidth_hz <= 8000 < 20_000 < wide.bandwidth_native_hz <= 24_000
    assert narrow.bandwidth_native_hz < 4000
    assert narrow.rolloff_hz < 3400 and wide.rolloff_hz > 15_000
    assert narrow.hf7k_db < wide.hf7k_db - 40
    assert narrow.flatness_db < wide.flatness_db - 20, "an empty top band is far from flat"
    z_wide, z_narrow = z_scores(wide), z_scores(narrow)
    assert all(z_narrow[name] < z_wide[name] - 2 for name in NATIVE[:4]), (z_narrow, z_wide)


def test_white_noise_is_flatter_than_a_voiced_tone() -> None:
    noise = np.random.default_rng(1).normal(scale=0.1, size=96_000)
    noisy = extract_features(_clip(noise, 48_000, "noise"))
    tonal = extract_features(_clip(_harmonic_tone(), 48_000, "tone"))
    assert -3.5 < noisy.flatness_db < -1.5, "white noise: about -2.5 dB"
    assert tonal.flatness_db < noisy.flatness_db - 10
    quiet = extract_features(_clip(0.01 * noise, 48_000, "quiet noise"))
    assert quiet.flatness_db == pytest.approx(noisy.flatness_db, abs=0.01)


def test_flux_measures_spectral_change_not_level() -> None:
    steady = extract_features(_clip(_harmonic_tone(), 48_000, "steady"))
    noise = np.random.default_rng(2).normal(scale=0.1, size=96_000)
    changing = extract_features(_clip(noise, 48_000, "noise"))
    assert steady.flux < 0.01 < 0.03 < changing.flux < np.sqrt(2)
    voice = _voice(48_000)
    loud = extract_features(_clip(voice, 48_000, "loud")).flux
    quiet = extract_features(_clip(0.05 * voice, 48_000, "quiet")).flux
    assert loud == pytest.approx(quiet, rel=1e-3)


def test_an_8_khz_clip_gets_the_documented_values() -> None:
    features = extract_features(_clip(_voice(8000), 8000, "narrowband"))
    assert 3000 < features.bandwidth_native_hz <= 4000
    assert 3000 < features.rolloff_hz <= 4000
    assert features.hf7k_db == -120.0, "nothing above 7 kHz at an 8 kHz rate: the floor"
    assert z_scores(features)["hf7k_db"] == -4.0
    assert -60.0 < features.flatness_db < 0.0
    assert 0.0 < features.flux < np.sqrt(2)


def test_a_rate_above_48_khz_is_analysed_at_48_khz() -> None:
    fast = _voice(96_000)
    direct = extract_features(_clip(fast, 96_000, "96k"))
    halved = extract_features(_clip(resample(fast, 96_000, 48_000), 48_000, "48k"))
    assert 20_000 < direct.bandwidth_native_hz <= 24_000
    for name in NATIVE:
        assert getattr(direct, name) == pytest.approx(getattr(halved, name), rel=1e-6), name


def test_the_16_khz_features_do_not_depend_on_the_native_rate() -> None:
    voice = _voice(48_000)
    native = extract_features(_clip(voice, 48_000, "48k")).model_dump()
    wideband = extract_features(_clip(resample(voice, 48_000, 16_000), 16_000, "16k")).model_dump()
    assert {name: native[name] for name in AT_16K} == pytest.approx(
        {name: wideband[name] for name in AT_16K}, rel=1e-9, abs=1e-9
    )
    assert native["bandwidth_native_hz"] > 2 * wideband["bandwidth_native_hz"]


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


@pytest.mark.parametrize(
    ("name", "rate"),
    [("shorter than a window", 24_000), ("dc", 48_000), ("silence", 16_000), ("noise", 14_000)],
)
def test_native_features_stay_finite_and_in_range(name: str, rate: int) -> None:
    rng = np.random.default_rng(3)
    samples = {
        "shorter than a window": 0.1 * rng.normal(size=100),
        "dc": np.full(rate, 0.3),
        "silence": np.zeros(rate),
        "noise": 0.1 * rng.normal(size=rate),
    }[name]
    features = extract_features(_clip(samples, rate, name))
    values = {key: getattr(features, key) for key in NATIVE}
    assert all(np.isfinite(v) for v in values.values()), values
    assert 0 <= features.bandwidth_native_hz <= rate / 2 and 0 <= features.rolloff_hz <= rate / 2
    assert -120.0 <= features.hf7k_db <= 0.0 and features.flatness_db <= 0.0
    assert 0.0 <= features.flux < np.sqrt(2)
    if rate <= 14_000:
        assert features.hf7k_db == -120.0
