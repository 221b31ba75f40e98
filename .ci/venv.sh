# Sourced by examples/run.sh and tests/run.sh: installs the apt packages given in
# APT_NEED (plus python3-venv when venv is missing), then creates and activates the
# project's virtual environment (.venv, or $TYPEDJ_VENV) and installs typedj into it
# with the extras in $1. Idempotent: a second run reinstalls only when pyproject.toml
# changed, so it takes a second or two.
venv_dir=${TYPEDJ_VENV:-.venv}
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || APT_NEED+=(python3-venv)
if [ ${#APT_NEED[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${APT_NEED[@]}" >/dev/null; } \
        || echo "could not install ${APT_NEED[*]} with apt" >&2
fi
[ -x "$venv_dir/bin/python" ] || python3 -m venv "$venv_dir"
# shellcheck disable=SC1091
. "$venv_dir/bin/activate"
export PIP_DISABLE_PIP_VERSION_CHECK=1
stamp="$venv_dir/.typedj-installed-$1"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    python -m pip install -q -e ".$1"
    touch "$stamp"
fi
