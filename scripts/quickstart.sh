#!/usr/bin/env bash
# The main job on a fresh machine: makes .venv, installs odm, runs the quickstart on an embedded server.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
exec python examples/quickstart.py "$@"
