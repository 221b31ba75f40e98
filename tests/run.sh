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

# datajoint-python 0.14, the interoperability tests' peer, in a venv of its own (kept between runs)
PEER="${TYPEDJ_DJ014_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/typedj/peer-datajoint-0.14}"
if ! "$PEER/bin/python" -c "import datajoint" >/dev/null 2>&1; then
    rm -rf "$PEER"
    { python3 -m venv "$PEER" && "$PEER/bin/pip" install -q 'datajoint==0.14.10'; } \
        || echo "warning: the datajoint 0.14 peer did not install; its tests will be skipped" >&2
fi

python3 -m mypy typedj
python3 -m ruff check typedj tests
python3 -m pytest -q "$@"
