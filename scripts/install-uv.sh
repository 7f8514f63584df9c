#!/usr/bin/env bash
# Installs uv for this user when it is missing (PyPI is reachable even where GitHub is not).
set -euo pipefail
if command -v uv >/dev/null 2>&1; then exit 0; fi
python3 -m pip install --user --quiet --disable-pip-version-check uv \
  || python3 -m pip install --quiet --disable-pip-version-check uv
command -v uv >/dev/null 2>&1 || { echo "uv was installed but is not on PATH (~/.local/bin)" >&2; exit 1; }
