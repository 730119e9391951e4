#!/usr/bin/env bash
# Set up voicejudge on a fresh Debian machine; `make` calls it when needed and it is safe to re-run.
#   setup.sh demo   a virtualenv with the package: all the demo needs (its voices are package data)
#   setup.sh test   also the dev tools and the Debian packages only the tests use
#   setup.sh bench  also MLflow, which the tracing benchmark measures against
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-}"
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

case "$MODE" in
  demo)
    REQUIREMENT="."
    DEBIAN_PACKAGES=()
    ;;
  test | bench)
    if [ "$MODE" = bench ]; then REQUIREMENT=".[dev,bench]"; else REQUIREMENT=".[dev]"; fi
    # espeak-ng and sox synthesize voices with known parameters; chattr (e2fsprogs) makes a
    # folder unwritable even for root; chromium runs the ranking app in a real browser (driven
    # by Python playwright, no download); tmux is a real 80-column terminal.
    DEBIAN_PACKAGES=(espeak-ng sox e2fsprogs chromium tmux)
    ;;
  *)
    echo "usage: scripts/setup.sh demo|test|bench" >&2
    exit 2
    ;;
esac

# Debian's python3 makes virtualenvs only with python3-venv installed.
if [ ! -x "$VENV/bin/python" ] && ! "$PYTHON" -c "import ensurepip" 2>/dev/null; then
  DEBIAN_PACKAGES+=(python3-venv)
fi

# Run a command with its output in LOG, kept (and named) only when the command fails.
quietly() {
  local log="$1" failure="$2"
  shift 2
  if ! "$@" >"$log" 2>&1; then
    echo "error: $failure; its output is in $log" >&2
    exit 1
  fi
  rm -f "$log"
}

install_debian_packages() {
  local package missing=() as_root=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
      missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: install these packages with your system's package manager: ${missing[*]}" >&2
    exit 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "error: as root, run: apt-get install --no-install-recommends ${missing[*]}" >&2
      exit 1
    fi
    as_root=(sudo)
  fi
  echo "Installing Debian packages: ${missing[*]}"
  quietly "$(mktemp -t voicejudge-apt.XXXXXX.log)" "apt-get could not install ${missing[*]}" \
    "${as_root[@]}" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "$@"' apt "${missing[@]}"
}

install_debian_packages "${DEBIAN_PACKAGES[@]}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
echo "Installing voicejudge ($REQUIREMENT) into $VENV"
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)
quietly "$VENV/voicejudge-pip.log" "pip could not upgrade itself" "${PIP[@]}" --upgrade pip
quietly "$VENV/voicejudge-pip.log" "pip could not install voicejudge ($REQUIREMENT)" \
  "${PIP[@]}" -c constraints.txt -e "$REQUIREMENT"
touch "$VENV/.voicejudge-demo"
if [ "$MODE" != demo ]; then
  touch "$VENV/.voicejudge-test"
fi
if [ "$MODE" = bench ]; then
  touch "$VENV/.voicejudge-bench"
fi
echo "voicejudge is installed in $VENV ($MODE setup)"
