"""scripts/setup.sh: the demo setup installs no system package, the test setup installs the
test-only Debian packages quietly, and a setup that cannot install says what to do.

The machine is a stand-in: apt-get, dpkg-query, id, sudo, python3 and the virtualenv's python are
small scripts that record how they were called, so nothing is installed here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP = ROOT / "scripts" / "setup.sh"
TEST_ONLY_PACKAGES = "espeak-ng sox e2fsprogs chromium tmux"
SYSTEM_TOOLS = ("bash", "sh", "grep", "mktemp", "rm", "touch", "dirname", "mkdir", "ln")


def stub(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def machine(
    tmp_path: Path,
    *,
    uid: int = 0,
    sudo: bool = False,
    apt_fails: bool = False,
    fresh: bool = False,
) -> dict:
    """A Debian machine with nothing installed (`fresh`: not even the virtualenv), recording
    apt-get, sudo and pip calls."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in SYSTEM_TOOLS:
        (tools / tool).symlink_to(shutil.which(tool))
    stub(tools, "dpkg-query", "exit 1")
    stub(tools, "id", f"echo {uid}")
    apt_chatter = 'i=0; while [ $i -lt 40 ]; do echo "Setting up package-$i ..."; i=$((i+1)); done'
    stub(
        tools,
        "apt-get",
        f'echo "$*" >> {tmp_path}/apt-get.calls\n{apt_chatter}\nexit {100 if apt_fails else 0}',
    )
    if sudo:
        stub(tools, "sudo", f'echo "$*" >> {tmp_path}/sudo.calls\nexec "$@"')
    stub(tools, "venv-python", f'echo "$*" >> {tmp_path}/pip.calls')
    # Debian's python3 without python3-venv: no ensurepip, so it cannot make a virtualenv.
    stub(
        tools,
        "python3",
        f'[ "$1" = -c ] && exit 1\nmkdir -p "$3/bin"\nln -s {tools}/venv-python "$3/bin/python"',
    )
    venv = tmp_path / "venv"
    if not fresh:
        (venv / "bin").mkdir(parents=True)
        (venv / "bin" / "python").symlink_to(tools / "venv-python")
    return {"PATH": str(tools), "VENV": str(venv), "TMPDIR": str(tmp_path), "PYTHON": "python3"}


def run_setup(mode: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [shutil.which("bash"), str(SETUP), mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def calls(tmp_path: Path, tool: str) -> str:
    path = tmp_path / f"{tool}.calls"
    return path.read_text() if path.exists() else ""


def test_demo_setup_installs_the_package_and_no_debian_package(tmp_path: Path) -> None:
    env = machine(tmp_path)
    result = run_setup("demo", env)
    assert result.returncode == 0, result.stderr
    assert calls(tmp_path, "apt-get") == ""
    pip = calls(tmp_path, "pip")
    assert "-e ." in pip and "[dev]" not in pip
    venv = Path(env["VENV"])
    assert (venv / ".voicejudge-demo").exists() and not (venv / ".voicejudge-test").exists()


def test_demo_setup_on_a_fresh_machine_installs_only_python3_venv(tmp_path: Path) -> None:
    env = machine(tmp_path, fresh=True)
    result = run_setup("demo", env)
    assert result.returncode == 0, result.stderr
    assert calls(tmp_path, "apt-get").splitlines()[-1] == (
        "install -y -qq --no-install-recommends python3-venv"
    )
    assert "-e ." in calls(tmp_path, "pip")
    assert (Path(env["VENV"]) / ".voicejudge-demo").exists()


def test_test_setup_installs_the_test_only_packages_quietly(tmp_path: Path) -> None:
    env = machine(tmp_path)
    result = run_setup("test", env)
    assert result.returncode == 0, result.stderr
    assert f"install -y -qq --no-install-recommends {TEST_ONLY_PACKAGES}" in calls(
        tmp_path, "apt-get"
    )
    assert "Setting up" not in result.stdout + result.stderr
    assert len(result.stdout.splitlines()) <= 3
    assert "-e .[dev]" in calls(tmp_path, "pip")
    assert (Path(env["VENV"]) / ".voicejudge-test").exists()
    assert not list(tmp_path.glob("voicejudge-apt.*"))  # the log is kept only on failure


def test_test_setup_without_root_goes_through_sudo(tmp_path: Path) -> None:
    result = run_setup("test", machine(tmp_path, uid=1000, sudo=True))
    assert result.returncode == 0, result.stderr
    assert calls(tmp_path, "sudo").startswith("sh -c")
    assert "chromium" in calls(tmp_path, "apt-get")


def test_without_root_or_sudo_it_says_what_to_run_as_root(tmp_path: Path) -> None:
    result = run_setup("test", machine(tmp_path, uid=1000))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: as root, run: apt-get install --no-install-recommends {TEST_ONLY_PACKAGES}"
    )
    assert calls(tmp_path, "pip") == ""


def test_a_failing_apt_get_is_one_error_line_naming_its_log(tmp_path: Path) -> None:
    result = run_setup("test", machine(tmp_path, apt_fails=True))
    assert result.returncode == 1
    [message] = result.stderr.splitlines()
    assert message.startswith(f"error: apt-get could not install {TEST_ONLY_PACKAGES}")
    log = Path(message.rsplit(" ", 1)[1])
    assert "Setting up" in log.read_text()


@pytest.mark.parametrize("mode", ["", "everything"])
def test_an_unknown_mode_prints_the_usage(tmp_path: Path, mode: str) -> None:
    result = run_setup(mode, machine(tmp_path))
    assert result.returncode == 2
    assert "usage: scripts/setup.sh demo|test" in result.stderr
    assert calls(tmp_path, "apt-get") == calls(tmp_path, "pip") == ""


@pytest.mark.parametrize(("target", "mode"), [("demo", "demo"), ("test", "test")])
def test_make_runs_the_setup_of_its_own_target(tmp_path: Path, target: str, mode: str) -> None:
    planned = subprocess.run(
        ["make", "-n", "-B", "-C", str(ROOT), target, f"VENV={tmp_path / 'venv'}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    setups = [line for line in planned.splitlines() if "scripts/setup.sh" in line]
    assert setups == [f"VENV={tmp_path / 'venv'} bash scripts/setup.sh {mode}"]
