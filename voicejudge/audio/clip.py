"""Loading and validating voice clips: `load_audio` turns a file or bytes into an `AudioClip`.

Every problem a user can cause (no such file, not audio, corrupt, empty, too short or long,
NaN samples, digital silence) raises an `AudioError` subclass that names the file.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from voicejudge.errors import VoiceJudgeError

MIN_DURATION_S = 0.3
DEFAULT_MAX_DURATION_S = 60.0
# A peak below -90 dBFS is no sound a person could hear: treat it as digital silence.
_SILENCE_PEAK = 10 ** (-90 / 20)


class AudioError(VoiceJudgeError):
    """A clip that cannot be used; the message names the file and what is wrong with it."""


class AudioNotFoundError(AudioError):
    """The file does not exist or is not a file."""


class NotAudioError(AudioError):
    """The data is not in an audio format voicejudge reads (WAV, FLAC, OGG)."""


class CorruptAudioError(AudioError):
    """The file looks like audio but cannot be decoded."""


class EmptyAudioError(AudioError):
    """The file holds no samples at all."""


class TooShortError(AudioError):
    """The clip is shorter than a listener can judge."""


class TooLongError(AudioError):
    """The clip is longer than the configured limit."""


class InvalidSamplesError(AudioError):
    """The clip contains NaN or infinite sample values."""


class SilentAudioError(AudioError):
    """The clip is digital silence."""


@dataclass(frozen=True, eq=False)
class AudioClip:
    """A validated mono clip: float32 samples in [-1, 1] at its own sample rate."""

    id: str
    samples: np.ndarray = field(repr=False)
    sample_rate: int
    sha256: str
    source: Path | None = None
    original_channels: int = 1
    _wav: list[bytes] = field(default_factory=list, repr=False, compare=False)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    def resampled(self, sample_rate: int) -> np.ndarray:
        """The samples at another rate (polyphase resampling), as float32."""
        return resample(self.samples, self.sample_rate, sample_rate)

    def to_wav_bytes(self) -> bytes:
        """16-bit PCM WAV of the mono samples, for models and players (encoded once)."""
        if not self._wav:
            buffer = io.BytesIO()
            sf.write(buffer, self.samples, self.sample_rate, format="WAV", subtype="PCM_16")
            self._wav.append(buffer.getvalue())
        return self._wav[0]

    def to_weave(self) -> object:
        """A `weave.Audio` for traced inputs and datasets (raw bytes would be dropped)."""
        import weave

        data = self.source_bytes_if_wav() or self.to_wav_bytes()
        # weave would try to read binary audio as base64 unless told not to.
        return weave.Audio(data=data, format="wav", validate_base64=False)

    def source_bytes_if_wav(self) -> bytes | None:
        """The original bytes when the source is a mono WAV file, so nothing is re-encoded."""
        if self.source is None or self.source.suffix.lower() != ".wav":
            return None
        if self.original_channels != 1:
            return None
        return self.source.read_bytes()


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    if from_rate == to_rate:
        return samples.astype(np.float32, copy=False)
    divisor = gcd(from_rate, to_rate)
    out = resample_poly(samples, to_rate // divisor, from_rate // divisor)
    return out.astype(np.float32)


def load_audio(
    source: str | Path | bytes,
    *,
    clip_id: str | None = None,
    name: str | None = None,
    max_duration_s: float = DEFAULT_MAX_DURATION_S,
) -> AudioClip:
    """Read WAV (PCM 8/16/24/32-bit or float), FLAC or OGG from a path or bytes, and validate it.

    `name` is how the clip is named in errors (defaults to the path, or "audio bytes"); the id
    defaults to the file name without its extension.
    """
    path: Path | None = None
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
        label = name or "audio bytes"
    else:
        path = Path(source)
        label = name or str(path)
        if not path.exists():
            raise AudioNotFoundError(f"{label}: no such file. Check the path.")
        if not path.is_file():
            raise AudioNotFoundError(f"{label}: is a folder, not an audio file.")
        data = path.read_bytes()
    if not data:
        raise EmptyAudioError(f"{label}: the file is empty (0 bytes).")
    samples, sample_rate = _decode(data, label)
    channels = samples.shape[1]
    mono = samples.mean(axis=1, dtype=np.float64).astype(np.float32)
    _validate(mono, sample_rate, label, max_duration_s)
    return AudioClip(
        id=clip_id or (path.stem if path else hashlib.sha256(data).hexdigest()[:12]),
        samples=mono,
        sample_rate=sample_rate,
        sha256=hashlib.sha256(data).hexdigest(),
        source=path.resolve() if path else None,
        original_channels=channels,
    )


def anonymous_wav(data: bytes, label: str = "audio bytes") -> bytes:
    """The audio as a WAV file with every channel at its own rate and depth, and none of the
    source's names or tags: what a blind listener may be sent."""
    samples, sample_rate = _decode(data, label)
    try:
        deep = sf.info(io.BytesIO(data)).subtype in {"PCM_24", "PCM_32", "FLOAT", "DOUBLE"}
    except (sf.LibsndfileError, RuntimeError):
        deep = False
    buffer = io.BytesIO()
    sf.write(
        buffer,
        np.clip(samples, -1.0, 1.0),
        sample_rate,
        format="WAV",
        subtype="PCM_24" if deep else "PCM_16",
    )
    return buffer.getvalue()


def _decode(data: bytes, label: str) -> tuple[np.ndarray, int]:
    try:
        samples, sample_rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except sf.LibsndfileError as exc:
        detail = str(exc).split(": ", 1)[-1]
        if "Format not recognised" in detail:
            raise NotAudioError(
                f"{label}: not an audio file voicejudge can read (use WAV, FLAC or OGG)."
            ) from None
        raise CorruptAudioError(
            f"{label}: the audio is corrupt or truncated ({detail.rstrip('.')})."
        ) from None
    except (RuntimeError, ValueError, TypeError) as exc:
        raise CorruptAudioError(f"{label}: the audio cannot be decoded ({exc}).") from None
    return samples, int(sample_rate)


def _validate(mono: np.ndarray, sample_rate: int, label: str, max_duration_s: float) -> None:
    if mono.size == 0:
        raise EmptyAudioError(f"{label}: the file contains no audio samples.")
    if not np.isfinite(mono).all():
        bad = int((~np.isfinite(mono)).sum())
        raise InvalidSamplesError(
            f"{label}: {bad} sample(s) are NaN or infinite; re-export the audio."
        )
    duration = mono.size / sample_rate
    if duration < MIN_DURATION_S:
        raise TooShortError(
            f"{label}: {duration:.2f} s is too short to judge (at least {MIN_DURATION_S} s)."
        )
    if duration > max_duration_s:
        raise TooLongError(
            f"{label}: {duration:.1f} s is longer than the {max_duration_s:g} s limit; trim it "
            "or raise the limit (VOICEJUDGE_MAX_CLIP_SECONDS)."
        )
    if float(np.abs(mono).max()) < _SILENCE_PEAK:
        raise SilentAudioError(f"{label}: the clip is digital silence.")
