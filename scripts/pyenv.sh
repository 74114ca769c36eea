#!/usr/bin/env bash
# Prints the path of a Python that has pyarrow and duckdb (from PyPI), creating a virtual
# environment for it in the cache folder on first use. Tests use pyarrow as a real Arrow client
# (Parquet files written by another implementation, Arrow IPC streams sent over TCP); the
# ingestion benchmark runs DuckDB beside Darwin.
# usage: PY=$(scripts/pyenv.sh)
set -euo pipefail
venv=${DARWIN_PYENV:-${XDG_CACHE_HOME:-$HOME/.cache}/darwin-pyenv}
lock="$venv.lock"
mkdir -p "$(dirname "$venv")"
exec 9>"$lock"
flock 9
if ! "$venv/bin/python" -c 'import pyarrow, duckdb' 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check pyarrow duckdb >&2
fi
echo "$venv/bin/python"
