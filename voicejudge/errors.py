"""Errors a user can cause: each names the thing that is wrong and how to fix it."""


class VoiceJudgeError(Exception):
    """Base of every error voicejudge raises for bad input, configuration or state."""


class StoreError(VoiceJudgeError):
    """The embedded trace store cannot be opened, read or written."""


class TrackingError(VoiceJudgeError):
    """Traces cannot go where they were asked to (hosted W&B unreachable or refused)."""


class ConfigError(VoiceJudgeError):
    """A setting or environment variable has a value voicejudge cannot use."""
