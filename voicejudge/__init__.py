"""voicejudge: align an audio LLM judge with one person's taste in voices, traced in W&B Weave."""

from voicejudge.settings import apply_safe_environment

apply_safe_environment()

from voicejudge.errors import (  # noqa: E402
    ConfigError,
    StoreError,
    TrackingError,
    VoiceJudgeError,
)
from voicejudge.settings import Settings, load_settings  # noqa: E402
from voicejudge.tracking import (  # noqa: E402
    BackendChoice,
    LocalTraceServer,
    close_tracking,
    init_tracking,
    resolve_backend,
)

__version__ = "0.1.0"

__all__ = [
    "BackendChoice",
    "ConfigError",
    "LocalTraceServer",
    "Settings",
    "StoreError",
    "TrackingError",
    "VoiceJudgeError",
    "__version__",
    "close_tracking",
    "init_tracking",
    "load_settings",
    "resolve_backend",
]
