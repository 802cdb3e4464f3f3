#!/usr/bin/env bash
# Installs what is missing, builds clustersim (Release, g++: the command and
# the Python module, build/release-gcc/python), and runs one scenario,
# printing its summary. Extra arguments go to `clustersim run`.
#   bash scripts/run.sh scenarios/raft-leader-crash.json [--seed N] [--json] ...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" release-gcc clustersim clustersim_python
exec "$root/build/release-gcc/clustersim" run "$@"
