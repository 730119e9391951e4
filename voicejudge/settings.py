"""One `Settings` model for the whole toolkit, read from `VOICEJUDGE_*` environment variables.

Also owns the environment defaults that keep weave, wandb and Gradio offline and quiet. Some
are read when those libraries are first imported, so the CLI and the ranking app set them,
for as long as they run, before importing them; importing voicejudge changes nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from voicejudge.errors import ConfigError, validation_problems

OFFLINE_DEFAULTS: dict[str, str] = {
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


@contextmanager
def environment(values: Mapping[str, str], *, override: bool = False) -> Iterator[None]:
    """These variables for the length of the block (only where unset, unless `override`),
    then every one put back as it was."""
    saved = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if override or name not in os.environ:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, before in saved.items():
            if before is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = before


def offline_defaults() -> contextlib.AbstractContextManager[None]:
    """The offline-safe defaults for a block, leaving any value the user already chose."""
    return environment(OFFLINE_DEFAULTS)


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
