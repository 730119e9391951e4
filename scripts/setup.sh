#!/usr/bin/env bash
# Set up everything voicejudge needs on a fresh Debian machine: system packages, then a
# virtualenv with the package and its dev tools. Safe to re-run; `make` calls it when needed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

# Debian packages used by voicejudge and its tests: espeak-ng and sox synthesize voices;
# chattr (e2fsprogs) makes a folder unwritable even for root in the store-permission test;
# chromium runs the ranking app in a real browser (driven by Python playwright, no download).
DEBIAN_PACKAGES=(espeak-ng sox e2fsprogs chromium)

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "Installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "Please install these Debian packages first: ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]"
touch "$VENV/.voicejudge-installed"
echo "voicejudge is installed in $VENV"
