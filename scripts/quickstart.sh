#!/usr/bin/env bash
# The main job on a fresh machine: makes .venv, installs odm from this checkout, runs the
# quickstart on a throwaway embedded server (embedded://?temporary=true, removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
exec python examples/quickstart.py "$@"
