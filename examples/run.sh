#!/usr/bin/env bash
# The quick start on a fresh Debian machine with Python 3.11: installs typedj from this
# checkout with what it needs, then runs examples/quickstart.py on the embedded database
# (a SQLite file; no database server). Its database, diagram and output land in
# examples/output/. Graphviz (for the diagram) is installed when apt can; without it the
# diagram is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
need=()
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
command -v dot >/dev/null 2>&1 || need+=(graphviz)
if [ ${#need[@]} -gt 0 ]; then
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null; } \
        || echo "could not install ${need[*]} with apt; continuing" >&2
fi

export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1
python3 -m pip install -q -e .

mkdir -p examples/output
cd examples/output
unset TYPEDJ_DATABASE_URL DJ_HOST
python3 ../quickstart.py
