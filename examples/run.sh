#!/usr/bin/env bash
# The quick start on a fresh Debian machine with Python 3.11: installs typedj from this
# checkout into the project's virtual environment (.venv) with what it needs, then runs
# examples/quickstart.py on the embedded database (a SQLite file; no database server). Its database, diagram and output land in
# examples/output/. Graphviz (for the diagram) is installed when apt can; without it the
# diagram is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_NEED=()
command -v dot >/dev/null 2>&1 || APT_NEED+=(graphviz)
. .ci/venv.sh '[diagrams]'

mkdir -p examples/output
cd examples/output
unset TYPEDJ_DATABASE_URL DJ_HOST
python ../quickstart.py
