# Sourced by the project's scripts: creates .venv once and installs odm[dev] into it
# (again whenever pyproject.toml changes).
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  echo "== installing odm[dev] into .venv"
  # this machine's pip configuration names local index folders that may be absent: hide
  # those warnings only; pip's own exit status still decides (pipefail)
  set -o pipefail
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 \
    | { grep -v "^WARNING: Location 'file:" || true; }
  touch .venv/.installed
fi
export PATH="$PWD/.venv/bin:$PATH"
