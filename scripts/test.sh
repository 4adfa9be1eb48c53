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
# pytest on pytest-xdist workers (each with its own embedded server): the client and the
# server of one worker leave a core idle half the time. ODM_TEST_WORKERS=0 runs in-process.
workers=${ODM_TEST_WORKERS:-$(python -c 'import os; print(min(4, os.cpu_count() or 1))')}
echo "== pytest ($workers workers)"
set +e
if [ "$workers" -gt 0 ]; then pytest -q -n "$workers" "$@"; else pytest -q "$@"; fi
rc=$?
set -e
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi
exit "$rc"
