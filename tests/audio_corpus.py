"""Audio files made inside the tests: known-parameter voices and a corpus of bad inputs."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import soundfile as sf


def tone(seconds: float = 1.0, rate: int = 16000, freq: float = 180.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))).astype(
        np.float32
    )


def write(path: Path, data: np.ndarray, rate: int, **kwargs: object) -> Path:
    sf.write(path, data, rate, **kwargs)
    return path


def good_files(folder: Path) -> dict[str, Path]:
    """Valid but unusual files: every one must load."""
    folder.mkdir(parents=True, exist_ok=True)
    stereo = np.stack([tone(rate=48000), tone(rate=48000, freq=220)], axis=1)
    files = {
        "pcm16_16k": write(folder / "pcm16.wav", tone(), 16000, subtype="PCM_16"),
        "stereo_24bit_48k": write(folder / "stereo24.wav", stereo, 48000, subtype="PCM_24"),
        "pcm_u8": write(folder / "u8.wav", tone(), 16000, subtype="PCM_U8"),
        "pcm32": write(folder / "pcm32.wav", tone(rate=22050), 22050, subtype="PCM_32"),
        "float32": write(folder / "float.wav", tone(), 16000, subtype="FLOAT"),
        "narrowband_8k": write(folder / "phone.wav", tone(rate=8000), 8000, subtype="PCM_16"),
        "flac": write(folder / "take.flac", tone(), 16000, subtype="PCM_16"),
        "ogg_vorbis": write(folder / "take.ogg", tone(), 16000, format="OGG", subtype="VORBIS"),
    }
    return files


def bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Files that must be refused, with a word the error message must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    valid = io.BytesIO()
    sf.write(valid, tone(), 16000, format="WAV", subtype="PCM_16")
    header_only = io.BytesIO()
    with wave.open(header_only, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
    nan = tone()
    nan[100] = np.nan
    inf = tone()
    inf[5] = np.inf
    cases = {
        "text_file": ("notes.wav", b"this is not audio at all, just words" * 20, "not an audio"),
        "empty_file": ("empty.wav", b"", "empty"),
        "truncated_wav": ("truncated.wav", valid.getvalue()[:30], "corrupt"),
        "png_image": ("image.wav", b"\x89PNG\r\n\x1a\n" + bytes(200), "not an audio"),
        "no_samples": ("header.wav", header_only.getvalue(), "no audio samples"),
    }
    files = {}
    for kind, (name, data, needle) in cases.items():
        path = folder / name
        path.write_bytes(data)
        files[kind] = (path, needle)
    files["too_short"] = (write(folder / "blip.wav", tone(0.1), 16000), "too short")
    files["too_long"] = (write(folder / "long.flac", tone(61.0), 16000), "longer than")
    files["nan_samples"] = (write(folder / "nan.wav", nan, 16000, subtype="FLOAT"), "NaN")
    files["inf_samples"] = (write(folder / "inf.wav", inf, 16000, subtype="FLOAT"), "NaN or inf")
    files["digital_silence"] = (
        write(folder / "silence.wav", np.zeros(16000, np.float32), 16000),
        "silence",
    )
    files["missing"] = (folder / "does-not-exist.wav", "no such file")
    subfolder = folder / "a-folder.wav"
    subfolder.mkdir(exist_ok=True)
    files["folder"] = (subfolder, "folder")
    return files
