#!/usr/bin/env bash
# The benchmarks on a fresh machine: makes .venv (scripts/env.sh), installs odm with its
# bench extra (Beanie, ODMantic, matplotlib), then runs every task for every contender.
#   bash scripts/bench.sh                 # 10k documents, 5 rounds, iterate 100k
#   bash scripts/bench.sh --quick         # a fast look
# Reports: benchmarks/results/latest.{json,md,png}
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
if [ ! -f .venv/.bench-installed ] || [ pyproject.toml -nt .venv/.bench-installed ]; then
  python -m pip install -q --disable-pip-version-check -e ".[bench]"
  touch .venv/.bench-installed
fi
python -m benchmarks.run "$@"
