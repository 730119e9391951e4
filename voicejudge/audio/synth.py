"""Synthetic voices with known parameters, from espeak-ng and sox (Debian packages).

A `VoiceRecipe` holds every parameter that shapes a clip, so a clip can be rebuilt exactly and
its measured features checked against what it was made to be.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf
from pydantic import BaseModel, Field

from voicejudge.errors import VoiceJudgeError

SAMPLE_RATE = 16_000

LINES = (
    "I've been fixing motorbikes since before you were born, and I'm not stopping now.",
    "Pull up a chair, the kettle's on, and don't touch the carburettor.",
    "They told me to slow down at sixty. I told them to speed up.",
    "Thirty years on the road and I still sing when the engine starts.",
    "Listen, kid, every scar on these hands has a story worth a pint.",
    "The storm rolled in at midnight and we rode straight through it, laughing.",
    "Nobody tunes a guitar like my uncle did, loud and a little bit wrong.",
    "I'll take the long way home, the one with the cliffs and the wind.",
)


class SynthesisError(VoiceJudgeError):
    """espeak-ng or sox is missing or failed."""


class VoiceRecipe(BaseModel):
    """Every parameter that generates one synthetic clip."""

    id: str
    text: str
    variant: str = Field(description="espeak-ng voice variant, e.g. m3, croak, whisper")
    pitch: int = Field(ge=0, le=99, description="espeak-ng base pitch, 0-99")
    speed: int = Field(ge=80, le=450, description="words per minute")
    amplitude: int = Field(default=100, ge=0, le=200)
    word_gap: int = Field(default=0, ge=0, description="extra pause between words, 10 ms units")
    prosody_range: int = Field(default=100, ge=0, le=300, description="SSML pitch range, %")
    tempo: float = Field(default=1.0, description="sox tempo factor (1 = unchanged)")
    reverb: int = Field(default=0, ge=0, le=100, description="sox reverberance, 0 = dry")
    band: Literal["full", "telephone", "lowpass"] = "full"
    lowpass_hz: int = Field(default=3000, description="cut-off when band is lowpass")
    drive_db: float = Field(default=0.0, ge=0.0, description="gain before the limit: clipping")
    snr_db: float | None = Field(default=None, description="added white noise, None = clean")
    level_db: float = Field(default=-20.0, description="target RMS of speech, dBFS")
    seed: int = 0

    def instructions(self) -> str:
        """The intended delivery in words, as a voice director would write it."""
        return describe(self)


def describe(recipe: VoiceRecipe) -> str:
    variant = recipe.variant
    if variant.startswith("whisper"):
        voice = "a whispered voice"
    elif variant == "croak" or recipe.drive_db >= 6:
        voice = "a gravelly, rough voice"
    elif variant.startswith("f"):
        voice = "a lighter voice"
    else:
        voice = "a male voice"
    if recipe.pitch < 25:
        height = "deep"
    elif recipe.pitch > 65:
        height = "high"
    else:
        height = "mid-pitched"
    pace_wpm = recipe.speed * recipe.tempo
    pace = "slow" if pace_wpm < 140 else "fast" if pace_wpm > 200 else "measured"
    melody = (
        "flat, monotone delivery"
        if recipe.prosody_range < 60
        else "wide, lively intonation"
        if recipe.prosody_range > 150
        else "natural intonation"
    )
    parts = [f"A {height}, {pace} take: {voice} with {melody}"]
    if recipe.drive_db >= 6:
        parts.append("pushed hard enough to distort")
    if recipe.reverb >= 40:
        parts.append("in a big echoing room")
    if recipe.band == "telephone":
        parts.append("heard over a telephone line")
    elif recipe.band == "lowpass":
        parts.append("muffled, as through a wall")
    if recipe.snr_db is not None and recipe.snr_db < 20:
        parts.append("with loud background hiss")
    elif recipe.snr_db is not None and recipe.snr_db < 35:
        parts.append("with some background hiss")
    level = "quiet" if recipe.level_db < -28 else "loud" if recipe.level_db > -14 else None
    if level:
        parts.append(f"recorded {level}")
    return ", ".join(parts) + "."


def require_tools() -> None:
    """Raise a clear error when espeak-ng or sox is missing."""
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        raise SynthesisError(
            f"Missing {' and '.join(missing)}: install the Debian packages espeak-ng and sox "
            "(`make setup` does it)."
        )


def synthesize(recipe: VoiceRecipe, out_path: Path) -> Path:
    """Render one recipe to `out_path` (WAV or FLAC by suffix), 16 kHz mono 16-bit."""
    require_tools()
    with tempfile.TemporaryDirectory(prefix="voicejudge-synth-") as folder:
        raw, shaped = Path(folder) / "raw.wav", Path(folder) / "shaped.wav"
        text = _escape(recipe.text)
        ssml = f"<speak><prosody range='{recipe.prosody_range}%'>{text}</prosody></speak>"
        _run(
            [
                "espeak-ng",
                "-m",
                "-v",
                f"en+{recipe.variant}",
                "-p",
                str(recipe.pitch),
                "-s",
                str(recipe.speed),
                "-a",
                str(recipe.amplitude),
                "-g",
                str(recipe.word_gap),
                "-w",
                str(raw),
                ssml,
            ]
        )
        _run(
            [
                "sox",
                "-V1",
                str(raw),
                "-b",
                "32",
                "-e",
                "floating-point",
                str(shaped),
                *_effects(recipe),
            ]
        )
        samples, rate = sf.read(shaped, dtype="float64")
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    samples = _finish(samples, recipe)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(out_path, samples, rate, subtype="PCM_16")
    return out_path


def synthesize_many(
    recipes: list[VoiceRecipe], folder: Path, suffix: str = ".flac", jobs: int = 2
) -> list[Path]:
    """Render several recipes in parallel; file names are `<id><suffix>`."""
    require_tools()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(lambda r: synthesize(r, folder / f"{r.id}{suffix}"), recipes))


def random_recipes(count: int, seed: int, prefix: str = "voice") -> list[VoiceRecipe]:
    """A spread of recipes over pitch, pace, roughness, noise, band and loudness."""
    rng = np.random.default_rng(seed)
    variants = ["m1", "m2", "m3", "m4", "m5", "m7", "croak", "grandpa", "whisper", "f1", "f3"]
    weights = np.array([3, 3, 3, 2, 2, 2, 3, 3, 1, 1, 1], dtype=float)
    recipes = []
    for index in range(count):
        band = rng.choice(["full", "telephone", "lowpass"], p=[0.75, 0.15, 0.10])
        recipes.append(
            VoiceRecipe(
                id=f"{prefix}-{index:03d}",
                text=LINES[index % len(LINES)],
                variant=str(rng.choice(variants, p=weights / weights.sum())),
                pitch=int(rng.integers(5, 90)),
                speed=int(rng.integers(115, 235)),
                amplitude=100,
                word_gap=int(rng.choice([0, 0, 0, 2, 5])),
                prosody_range=int(rng.choice([30, 80, 100, 140, 200])),
                tempo=float(rng.choice([1.0, 1.0, 1.0, 0.85, 1.15])),
                reverb=int(rng.choice([0, 0, 0, 0, 30, 70])),
                band=str(band),
                lowpass_hz=int(rng.integers(2200, 4200)),
                drive_db=float(rng.choice([0, 0, 0, 0, 8, 14])),
                snr_db=None if rng.random() < 0.45 else float(rng.integers(5, 45)),
                level_db=float(rng.uniform(-32, -12)),
                seed=int(rng.integers(0, 2**31 - 1)),
            )
        )
    return recipes


def _effects(recipe: VoiceRecipe) -> list[str]:
    effects = ["gain", "-6"]
    if recipe.tempo != 1.0:
        effects += ["tempo", "-s", f"{recipe.tempo:.3f}"]
    if recipe.reverb:
        effects += ["reverb", str(recipe.reverb)]
    if recipe.band == "telephone":
        effects += ["sinc", "300-3400", "rate", "8000"]
    elif recipe.band == "lowpass":
        effects += ["lowpass", str(recipe.lowpass_hz)]
    effects += ["rate", str(SAMPLE_RATE), "channels", "1"]
    return effects


def _finish(samples: np.ndarray, recipe: VoiceRecipe) -> np.ndarray:
    """Set the speech level, drive into clipping, then add noise at the exact SNR."""
    active = _active_mask(samples)
    speech_rms = np.sqrt(np.mean(samples[active] ** 2)) if active.any() else 1e-9
    samples = samples * (10 ** (recipe.level_db / 20) / max(speech_rms, 1e-9))
    if recipe.drive_db > 0:
        samples = np.clip(samples * 10 ** (recipe.drive_db / 20), -1.0, 1.0)
    if recipe.snr_db is not None:
        rng = np.random.default_rng(recipe.seed)
        power = np.mean(samples[active] ** 2) if active.any() else np.mean(samples**2)
        noise = rng.standard_normal(len(samples)) * np.sqrt(power / 10 ** (recipe.snr_db / 10))
        samples = samples + noise
    return np.clip(samples, -1.0, 1.0)


def _active_mask(samples: np.ndarray, frame: int = 160) -> np.ndarray:
    usable = len(samples) // frame * frame
    power = (samples[:usable].reshape(-1, frame) ** 2).mean(axis=1) + 1e-20
    db = 10 * np.log10(power)
    frames = db > db.max() - 30
    mask = np.repeat(frames, frame)
    return np.concatenate([mask, np.zeros(len(samples) - usable, dtype=bool)])


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SynthesisError(f"{command[0]} failed: {result.stderr.strip() or result.returncode}")
