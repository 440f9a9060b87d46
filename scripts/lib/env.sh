#!/usr/bin/env bash
# Shared environment helpers for scripts/test.sh, scripts/demo.sh, benchmarks/run.
#
#   source scripts/lib/env.sh
#   venv=$(asyncops_venv)                 # .venv with tests/requirements/tools.txt
#   coll=$(asyncops_stage "$tmpdir")      # <tmpdir>/ansible_collections/asyncops/jobs
#
# Every function prints only its result on stdout; progress goes to stderr.
# shellcheck shell=bash

ASYNCOPS_ROOT=${ASYNCOPS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
ASYNCOPS_PYENV_ROOT=${PYENV_ROOT:-/root/.pyenv}

asyncops_log() { printf '>>> %s\n' "$*" >&2; }
asyncops_die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# Newest interpreter pythonX.Y: pyenv installs first (their shims only resolve
# the global version), then PATH.
asyncops_find_python() {
    local ver=$1 cand
    cand=$(find "$ASYNCOPS_PYENV_ROOT/versions" -maxdepth 3 -path "*/versions/$ver.*/bin/python$ver" 2>/dev/null | sort -V | tail -n1)
    if [[ -z $cand ]]; then
        cand=$(command -v "python$ver" 2>/dev/null || true)
        # a pyenv shim for a non-global version exists but does not run
        if [[ -n $cand ]] && ! "$cand" -c '' 2>/dev/null; then cand=''; fi
    fi
    [[ -n $cand ]] && printf '%s\n' "$cand"
}

# First usable Python among the given versions, in order.
asyncops_find_python_of() {
    local ver
    for ver in "$@"; do
        asyncops_find_python "$ver" && return 0
    done
    return 1
}

# Controller Python for ansible-core 2.21 (3.12+; 3.13 preferred).
asyncops_controller_python() {
    local preferred=$ASYNCOPS_PYENV_ROOT/versions/3.13.0/bin/python3
    if [[ -x $preferred ]]; then
        printf '%s\n' "$preferred"
        return 0
    fi
    asyncops_find_python_of 3.13 3.12 3.14 3.15 3.16 3.17 3.18 3.19 ||
        asyncops_die "no controller Python (3.12 or newer) found; install one (e.g. pyenv install 3.13) and retry"
}

asyncops_hash() { cat "$@" | sha256sum | cut -d' ' -f1; }

# asyncops_make_venv DIR PYTHON REQUIREMENTS...
# Creates DIR (or reuses it when the Python and the requirement files are the
# same as when it was made) and prints DIR.
asyncops_make_venv() {
    local dir=$1 python=$2 key
    shift 2
    key="$("$python" -c 'import sys; print(sys.version)' | head -n1) $(asyncops_hash "$@")"
    if [[ -x $dir/bin/python && -f $dir/.asyncops-key && "$(cat "$dir/.asyncops-key")" == "$key" ]]; then
        asyncops_log "reusing $dir"
    else
        asyncops_log "creating $dir with $python ($*)"
        rm -rf "$dir"
        "$python" -m venv "$dir"
        "$dir/bin/python" -m pip install -qq --upgrade pip >&2
        local req args=()
        for req in "$@"; do args+=(-r "$req"); done
        "$dir/bin/python" -m pip install -qq "${args[@]}" >&2
        printf '%s\n' "$key" >"$dir/.asyncops-key"
    fi
    printf '%s\n' "$dir"
}

# The main tool venv: .venv in the repo root with tests/requirements/tools.txt.
asyncops_venv() {
    local python
    python=$(asyncops_controller_python) || return 1
    asyncops_make_venv "$ASYNCOPS_ROOT/.venv" "$python" "$ASYNCOPS_ROOT/tests/requirements/tools.txt"
}

# asyncops_stage DIR [SRC]: copy the work tree (uncommitted and untracked
# files included, ignored ones not), or the tree SRC, to
# DIR/ansible_collections/asyncops/jobs, where ansible-test wants it, and
# print that path.
asyncops_stage() {
    local dest=$1/ansible_collections/asyncops/jobs src=${2:-$ASYNCOPS_ROOT}
    rm -rf "$dest"
    mkdir -p "$dest"
    if [[ -e $src/.git ]] && command -v git >/dev/null; then
        # what a fresh clone plus the uncommitted work would hold
        git -C "$src" ls-files -z --cached --others --exclude-standard |
            tar -C "$src" --null --files-from=- --ignore-failed-read -cf - 2>/dev/null |
            tar -C "$dest" -xf -
    else
        tar -C "$src" -cf - \
            --exclude=./.git --exclude='./.venv*' --exclude=./.cache \
            --exclude=./tests/output --exclude=./tests/integration/inventory \
            --exclude=./benchmarks/results --exclude=./scripts/.state \
            --exclude='./asyncops-jobs-*.tar.gz' \
            --exclude=__pycache__ --exclude=.pytest_cache --exclude='*.pyc' \
            . | tar -C "$dest" -xf -
    fi
    printf '%s\n' "$dest"
}

# asyncops_python_links BINDIR: pythonX.Y symlinks for every installed X.Y,
# so ansible-test finds all of them on PATH. Prints BINDIR.
asyncops_python_links() {
    local bin=$1 minor py
    mkdir -p "$bin"
    for minor in 8 9 10 11 12 13 14; do
        if py=$(asyncops_find_python "3.$minor"); then
            [[ $py == "$bin/python3.$minor" ]] || ln -sfn "$py" "$bin/python3.$minor"
        fi
    done
    printf '%s\n' "$bin"
}

# asyncops_python_versions V...: those of the given versions that exist here.
asyncops_python_versions() {
    local ver found=()
    for ver in "$@"; do
        asyncops_find_python "$ver" >/dev/null && found+=("$ver")
    done
    printf '%s\n' "${found[*]}"
}

# asyncops_ansible_test_offline VENV: ansible-test bootstraps pip into each venv
# it creates by downloading a get-pip script from a host that is not reachable
# here. It looks in ~/.ansible/test/cache/get_pip_<ver>.py first, so put a
# stand-in there that installs pip from wheels fetched from PyPI.
asyncops_ansible_test_offline() {
    local venv cache=$HOME/.ansible/test/cache
    venv=$(cd "$1" && pwd)
    local wheels=$cache/asyncops-wheels pkgs
    mkdir -p "$wheels"
    # pip (and for older cores setuptools, wheel) pinned by this ansible-test
    pkgs=$(cd / && "$venv/bin/python" - <<'PY'
import types
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._util.target.common.constants import CONTROLLER_PYTHON_VERSIONS, REMOTE_ONLY_PYTHON_VERSIONS
pkgs = set()
for version in REMOTE_ONLY_PYTHON_VERSIONS + CONTROLLER_PYTHON_VERSIONS:
    pkgs.update(f'{n}=={v}' for n, v in get_venv_packages(types.SimpleNamespace(version=version)).items())
print(' '.join(sorted(pkgs)))
PY
)
    local pkg name version missing=()
    for pkg in $pkgs; do
        name=${pkg%%==*} version=${pkg#*==}
        compgen -G "$wheels/$name-$version-*.whl" >/dev/null || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        asyncops_log "fetching ${missing[*]} for ansible-test's pip bootstrap"
        "$venv/bin/python" -m pip download -qq --no-deps --only-binary=:all: \
            -d "$wheels" "${missing[@]}" >&2
    fi
    for pkg in $pkgs; do
        [[ $pkg == pip==* ]] || continue
        version=${pkg#pip==}
        # replaced atomically: another ansible-test may be reading it
        sed -e "s|@WHEELS@|$wheels|" -e "s|@PIP_VERSION@|$version|" \
            "$ASYNCOPS_ROOT/scripts/lib/get_pip_offline.py" >"$cache/get_pip.$$.tmp"
        mv -f "$cache/get_pip.$$.tmp" "$cache/get_pip_${version//./_}.py"
    done
}

# asyncops_apt_ensure PKG...: install the Debian packages that are missing
# (apt-get update first, only when something is missing).
asyncops_apt_ensure() {
    local pkg missing=() sudo=() log
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    command -v apt-get >/dev/null || asyncops_die "missing packages ${missing[*]} and no apt-get"
    ((EUID == 0)) || sudo=(sudo)
    asyncops_log "installing ${missing[*]}"
    log=$(mktemp)
    if ! { "${sudo[@]}" apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        asyncops_die "could not install ${missing[*]}"
    fi
    rm -f "$log"
}
