"""Who may rank: the ranking app's logins, read from options, a file or the environment, and
checked with a lockout so that passwords cannot be guessed at speed.

A login name is the rater name its answers are stored under, so it follows the same rule as
any rater name. Passwords never need to appear on a command line: `--auth-file` and the
`VOICEJUDGE_AUTH` variable keep them out of the process list.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from voicejudge.errors import ConfigError, VoiceJudgeError
from voicejudge.labels.feedback import rater_name

AUTH_VARIABLE = "VOICEJUDGE_AUTH"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def check_exposure(host: str, share: bool, logins: dict[str, str]) -> None:
    """Refuse to serve beyond this machine without logins."""
    if (share or host not in LOCAL_HOSTS) and not logins:
        where = "a public share link" if share else f"host {host}"
        raise ConfigError(
            f"Refusing to serve the ranking app on {where} without logins: add "
            "--auth-file FILE (lines of USER:PASS), set VOICEJUDGE_AUTH, or --auth USER:PASS."
        )


def read_logins(
    pairs: Iterable[str] = (), file: Path | None = None, environ: dict[str, str] | None = None
) -> dict[str, str]:
    """Login name -> password from `USER:PASS` options, a file of such lines and the
    `VOICEJUDGE_AUTH` variable (lines of `USER:PASS`); a name given twice is an error."""
    entries: list[tuple[str, str]] = [(f"--auth {pair.partition(':')[0]}", pair) for pair in pairs]
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: cannot read the logins ({exc}).") from None
        entries += _lines(text, str(file))
    value = (os.environ if environ is None else environ).get(AUTH_VARIABLE, "")
    entries += _lines(value, AUTH_VARIABLE)
    logins: dict[str, str] = {}
    for where, line in entries:
        user, _, password = line.partition(":")
        if not user.strip() or not password:
            raise ConfigError(f"{where}: a login looks like USER:PASSWORD.")
        try:
            name = rater_name(user)
        except VoiceJudgeError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if name in logins:
            raise ConfigError(f"{where}: the login {name!r} is given twice.")
        logins[name] = password
    return logins


def _lines(text: str, source: str) -> list[tuple[str, str]]:
    return [
        (f"{source}, line {number}", line.strip())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


@dataclass
class LoginCheck:
    """Checks a login in constant time; after `max_failures` wrong passwords in a row a name is
    locked for `lockout_s` (doubling with each further lockout, up to `max_lockout_s`), and
    when wrong passwords for any names arrive faster than `max_failures_per_minute`, every
    login waits a minute. Gradio calls it with (username, password)."""

    logins: dict[str, str]
    max_failures: int = 5
    lockout_s: float = 30.0
    max_lockout_s: float = 900.0
    max_failures_per_minute: int = 30
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, _Failures] = field(default_factory=dict, init=False)
    _lockouts: dict[str, int] = field(default_factory=dict, init=False)
    _recent: list[float] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __call__(self, username: str, password: str) -> bool:
        now = self.clock()
        with self._lock:
            self._recent = [t for t in self._recent if now - t < 60]
            key = username if username in self.logins else ""  # unknown names share one count
            failures = self._failures.setdefault(key, _Failures())
            if now < failures.locked_until or len(self._recent) >= self.max_failures_per_minute:
                return False
            expected = self.logins.get(username)
            # compare against something even for an unknown name, so timing tells nothing
            ok = hmac.compare_digest((expected or "\0").encode(), password.encode())
            ok = ok and expected is not None
            if ok:
                self._failures.pop(key, None)
                return True
            self._recent.append(now)
            failures.count += 1
            if failures.count >= self.max_failures:
                times = self._lockouts.get(key, 0)
                self._lockouts[key] = times + 1
                failures.locked_until = now + min(self.lockout_s * 2**times, self.max_lockout_s)
                failures.count = 0
            return False
