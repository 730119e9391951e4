"""One `Settings` model for the whole toolkit, read from `VOICEJUDGE_*` environment variables.

Also owns the environment defaults that keep weave, wandb and Gradio offline and quiet; they
must be in place before those libraries are first imported, so `voicejudge/__init__` applies
them before importing anything else.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from voicejudge.errors import ConfigError, validation_problems

SAFE_ENVIRONMENT: dict[str, str] = {
    # weave reports client errors to an outside service at exit.
    "WANDB_ERROR_REPORTING": "false",
    # weave's persistent response cache skips writes to a recreated store.
    "WEAVE_USE_SERVER_CACHE": "false",
    # An online wandb.init would call weave.init and replace the local trace client.
    "WANDB_DISABLE_WEAVE": "true",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}


def apply_safe_environment() -> None:
    """Set the offline-safe defaults, leaving any value the user already chose."""
    for name, value in SAFE_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


class Settings(BaseSettings):
    """Where voicejudge keeps its state and which project it traces to."""

    model_config = SettingsConfigDict(env_prefix="VOICEJUDGE_", extra="ignore")

    home: Path = Field(
        default=Path(".voicejudge"),
        description="Folder for the trace store and caches.",
    )
    project: str = Field(default="voicejudge", description="Weave project name.")
    entity: str = Field(
        default="local",
        description="Entity used in refs of the embedded store (hosted W&B uses your account).",
    )
    max_clip_seconds: float = Field(
        default=60.0, gt=0, description="Longest clip accepted, seconds."
    )
    gemini_timeout_s: float = Field(default=120.0, gt=0, description="Per-request timeout.")
    gemini_attempts: int = Field(default=5, ge=1, description="Tries per request (retries + 1).")
    gemini_retry_delay_s: float = Field(default=1.0, ge=0, description="First retry delay.")
    gemini_concurrency: int = Field(default=8, ge=1, description="Requests in flight per model.")
    gemini_cache: bool = Field(default=True, description="Reuse replies to identical requests.")

    @property
    def store_path(self) -> Path:
        """The embedded trace store file."""
        return self.home / "traces.db"

    @property
    def reply_cache(self) -> Path:
        """Folder of cached model replies, one JSON file per request hash."""
        return self.home / "cache" / "replies"

    @property
    def feature_cache(self) -> Path:
        """Folder of cached acoustic features, one JSON file per clip content hash."""
        return self.home / "cache" / "features"


def load_settings() -> Settings:
    """Read settings from the environment as it is now; a bad value is a `ConfigError`."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = validation_problems(
            exc, lambda loc: "VOICEJUDGE_" + "_".join(map(str, loc)).upper()
        )
        raise ConfigError(f"Invalid setting ({problems}). Fix or unset the variable.") from None
