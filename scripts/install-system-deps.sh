#!/usr/bin/env bash
# Debian packages the tests and benchmarks need. Installs only what is missing;
# says clearly what to do when it cannot (no root, no apt).
set -euo pipefail
# dockerd and debootstrap: the image tests build the images (stand-in bases from Debian
# packages where no registry answers) and run them in Debian's engine; nginx runs MLflow's
# auth proxy config in front of a real MLflow
declare -A want=([prometheus]=prometheus [chromium]=chromium [wrk]=wrk [dockerd]=docker.io
                 [debootstrap]=debootstrap [nginx]=nginx)
missing=()
for cmd in "${!want[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${want[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "missing: ${missing[*]} (install them with your package manager)" >&2; exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
  || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
