#!/usr/bin/env bash
# Set up everything the workbench needs on a fresh Debian/Ubuntu machine with
# Python 3.11: a virtualenv in .venv with the pinned packages of
# pyproject.toml, and (with --system) Debian's chromium for the browser tests
# and the dashboards' screenshots, and bcftools (speid variants' VCF output is
# read back with it in tests/test_variants.py). Idempotent: a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is needed, found {sys.version.split()[0]}"'

if [ "${1:-}" = "--system" ] && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/bcftools ]; }; then
  echo "== installing Debian's chromium (browser tests) and bcftools (VCF read-back test)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium bcftools >/dev/null
fi

stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "== creating .venv and installing the pinned packages (a few minutes the first time)"
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test,docs]'
  .venv/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
  rm -f .venv/.installed-*; touch "$stamp"
fi
bash scripts/voila_config.sh .venv/bin/python   # voila skips jupytext's lab extension
echo "== environment ready: $(.venv/bin/python --version), $(.venv/bin/python -c 'import keras, tensorflow as tf; print(f"keras {keras.__version__}, tensorflow {tf.__version__}")' 2>/dev/null)"
