# Sourced by the project's scripts: creates .venv once and installs odm[dev] into it.
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"
  touch .venv/.installed
fi
export PATH="$PWD/.venv/bin:$PATH"
