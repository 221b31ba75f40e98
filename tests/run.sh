#!/usr/bin/env bash
# Sets up and runs the whole test suite on a fresh Debian machine (or this one):
# installs the MariaDB server and graphviz when missing, the package with its test
# extras, then runs mypy --strict, ruff and the test suite (pytest last, so its summary
# closes the output).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v dot >/dev/null 2>&1 || need+=(graphviz)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1
python3 -m pip install -q -e '.[test]'

python3 -m mypy typedj
python3 -m ruff check typedj tests
python3 -m pytest -q "$@"
