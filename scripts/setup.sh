#!/usr/bin/env bash
# Installs what clustersim needs to build and test, from Debian's packages only.
# Idempotent: installs only what is missing. Works on a minimal Debian 12 as root
# (or with sudo available).
set -euo pipefail

PKGS=(
  # toolchain
  g++ clang cmake ninja-build make git ca-certificates
  # libraries
  libboost-graph-dev libcli11-dev nlohmann-json3-dev catch2 pybind11-dev pybind11-json-dev python3-dev
  # python side (the module's sweeps, tests, plots, notebooks)
  python3 python3-numpy python3-pandas python3-tqdm python3-distributed python3-pytest python3-matplotlib
  python3-nbconvert python3-ipykernel
  # sanitizer runtimes for clang
  libclang-rt-14-dev
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing missing Debian packages: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "setup: error: packages are missing (${missing[*]}) and this is not root (no password-less sudo either)." >&2
    echo "setup: install them with: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get update -q >&2; then
  echo "setup: error: 'apt-get update' failed - is the network or the package mirror reachable?" >&2
  exit 1
fi
if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
  echo "setup: error: 'apt-get install ${missing[*]}' failed (see above)." >&2
  exit 1
fi
