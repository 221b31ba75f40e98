#!/usr/bin/env bash
# Sets up and runs the whole test suite on a fresh Debian machine (or this one):
# installs the MariaDB server and graphviz when missing, the package with its test
# extras into the project's virtual environment (.venv), then runs mypy --strict, ruff
# and the test suite (pytest last, so its summary closes the output).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_NEED=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || APT_NEED+=(mariadb-server)
command -v dot >/dev/null 2>&1 || APT_NEED+=(graphviz)
. .ci/venv.sh '[test]'
python -m pip install -q --no-deps -r tests/elements.txt  # see the file

python -m mypy typedj
python -m ruff check typedj tests
python -m pytest -q "$@"
