#!/usr/bin/env bash
# Sets up and runs the whole test suite on a fresh Debian machine (or this one):
# installs the MariaDB and PostgreSQL servers, graphviz and Chromium (with its driver) when missing, the
# package with its test extras into the project's virtual environment (.venv), then runs
# mypy --strict, ruff, the import layers and the test suite (pytest last, so its summary closes the output).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_NEED=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || APT_NEED+=(mariadb-server)
command -v dot >/dev/null 2>&1 || APT_NEED+=(graphviz)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || APT_NEED+=(postgresql)  # pytest-postgresql's server
[ -x /usr/bin/chromium ] || APT_NEED+=(chromium)          # typedj web's browser tests
[ -x /usr/bin/chromedriver ] || APT_NEED+=(chromium-driver)
. .ci/venv.sh '[test]'
python -m pip install -q --no-deps -r tests/elements.txt  # see the file

# datajoint-python 0.14, the interoperability tests' peer, in a venv of its own (kept between runs)
PEER="${TYPEDJ_DJ014_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/typedj/peer-datajoint-0.14}"
if ! "$PEER/bin/python" -c "import datajoint" >/dev/null 2>&1; then
    rm -rf "$PEER"
    { python -m venv "$PEER" && "$PEER/bin/pip" install -q 'datajoint==0.14.10'; } \
        || echo "warning: the datajoint 0.14 peer did not install; its tests will be skipped" >&2
fi

python -m mypy typedj
python -m ruff check typedj tests
lint-imports                                              # the layers ([tool.importlinter])
python -m pytest -q "$@"
