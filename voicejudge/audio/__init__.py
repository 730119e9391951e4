"""Everything voicejudge knows about sound: clips, features, quality, synthetic voices."""

from voicejudge.audio.clip import (
    AudioClip,
    AudioError,
    AudioNotFoundError,
    CorruptAudioError,
    EmptyAudioError,
    InvalidSamplesError,
    NotAudioError,
    SilentAudioError,
    TooLongError,
    TooShortError,
    load_audio,
)
from voicejudge.audio.features import (
    FEATURE_NAMES,
    NORMS,
    FeatureCache,
    Features,
    extract_features,
    z_scores,
)

__all__ = [
    "FEATURE_NAMES",
    "NORMS",
    "AudioClip",
    "AudioError",
    "AudioNotFoundError",
    "CorruptAudioError",
    "EmptyAudioError",
    "FeatureCache",
    "Features",
    "InvalidSamplesError",
    "NotAudioError",
    "SilentAudioError",
    "TooLongError",
    "TooShortError",
    "extract_features",
    "load_audio",
    "z_scores",
]
