#!/usr/bin/env bash
# The whole test suite on a fresh machine: makes .venv, installs odm with its dev extra,
# then runs ruff, mypy --strict, the documentation build and pytest (mock + embedded server
# backends).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
echo "== ruff"; ruff check odm tests examples benchmarks; ruff format --check odm
echo "== mypy --strict odm"; mypy odm
echo "== mkdocs build --strict"
site=$(mktemp -d)
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet --site-dir "$site"
rm -rf "$site"
echo "== pytest"
set +e
pytest -q "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi
exit "$rc"
