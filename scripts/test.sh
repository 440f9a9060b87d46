#!/usr/bin/env bash
# The test command of asyncops.jobs.
#
#   ./scripts/test.sh [STAGE...]     STAGE: sanity lint types units integration browser runner
#                                    build molecule compat (default: all, in that order)
#
# Sets up everything it needs (Debian packages, .venv, a staged copy of the
# collection), runs each stage, keeps going after a failure, and ends with a
# summary: one line per step with PASS/FAIL and seconds, then
# "N passed, N failed". Exits non-zero if any step failed.
#
# Logs: tests/output/pipeline/<step>.log. Tunables (environment):
#   ASYNCOPS_TEST_DIR        persistent work dir (default /tmp/asyncops-jobs-test)
#   ASYNCOPS_UNITS_PYTHONS   Pythons for units          (default "3.9 3.13"; "all": 3.9-3.14 found)
#   ASYNCOPS_INTEGRATION_PYTHON                         (default 3.13)
#   ASYNCOPS_COMPAT_UNITS_PYTHONS                       (default "3.8 3.12")
#   ASYNCOPS_COMPAT_INTEGRATION_PYTHON  target Python   (default 3.8)
#   ASYNCOPS_KEEP_TMP=1      keep the run's temp dir
set -euo pipefail

SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
# shellcheck source=scripts/lib/env.sh
source "$(dirname "$SELF")/lib/env.sh"
ROOT=$ASYNCOPS_ROOT

ALL_STAGES=(sanity lint types units integration browser runner build molecule compat)
APT_PACKAGES=(openssh-server sudo shellcheck cron acl python3)
# pip warnings caused by this machine's pip.conf, not by the tests
NOISE="^WARNING: Location 'file:///opt/pypi"

export ASYNCOPS_TEST_DIR=${ASYNCOPS_TEST_DIR:-${TMPDIR:-/tmp}/asyncops-jobs-test}
export MAIN_VENV=$ROOT/.venv
export COMPAT_VENV=$ROOT/.venv-2.17
# ansible-test runs in these staged copies; they persist between runs so that
# the virtual environments ansible-test makes under tests/output are reused
export MAIN_COLL=$ASYNCOPS_TEST_DIR/main/ansible_collections/asyncops/jobs
export COMPAT_COLL=$ASYNCOPS_TEST_DIR/compat/ansible_collections/asyncops/jobs
export LOG_DIR=$ROOT/tests/output/pipeline

# ---------------------------------------------------------------- helpers

banner() { printf '\n========== %s ==========\n' "$*"; }

# python_versions 3.9 3.10 ...: those that exist here (space separated)
python_versions() { asyncops_python_versions "$@"; }

# stage_copy VENV STAGE_ROOT [SRC]: copy the work tree (or SRC) to
# STAGE_ROOT/ansible_collections/asyncops/jobs, keeping the ansible-test venvs
# (tests/output/.tmp/delegation) of the last run unless VENV was rebuilt since.
stage_copy() {
    local venv=$1 root=$2 src=${3:-} coll keep
    coll=$root/ansible_collections/asyncops/jobs
    keep=$root/delegation
    rm -rf "$keep"
    if [[ -d $coll/tests/output/.tmp/delegation && -f $root/key && "$(cat "$root/key")" == "$(cat "$venv/.asyncops-key")" ]]; then
        mv "$coll/tests/output/.tmp/delegation" "$keep"
    fi
    asyncops_stage "$root" ${src:+"$src"} >/dev/null
    if [[ -d $keep ]]; then
        mkdir -p "$coll/tests/output/.tmp"
        mv "$keep" "$coll/tests/output/.tmp/delegation"
    fi
    cp "$venv/.asyncops-key" "$root/key"
}

has_unit_tests() {
    [[ -n $(find "$1/tests/unit" -type f \( -name 'test_*.py' -o -name '*_test.py' \) -print -quit 2>/dev/null) ]]
}

molecule_scenarios() {
    local f
    for f in "$MAIN_COLL"/extensions/molecule/*/molecule.yml; do
        [[ -f $f ]] && basename "$(dirname "$f")"
    done
}

# ------------------------------------------------------------------ steps
# Each runs in its own bash process (see run_step), with set -euo pipefail.

step_setup() {
    asyncops_apt_ensure "${APT_PACKAGES[@]}"
    mkdir -p /run/sshd
    asyncops_venv >/dev/null
    asyncops_ansible_test_offline "$MAIN_VENV"
    asyncops_python_links "$RUN_TMP/bin" >/dev/null
    stage_copy "$MAIN_VENV" "$ASYNCOPS_TEST_DIR/main"
    echo "staged $MAIN_COLL"
    ansible-test --version
}

step_sanity() {
    cd "$MAIN_COLL"
    ansible-test sanity --venv
}

step_lint_changelog() {
    cd "$MAIN_COLL"
    antsibull-changelog lint
}

step_lint_docs() {
    cd "$MAIN_COLL"
    antsibull-docs lint-collection-docs --plugin-docs .
}

# roles (production profile), the example playbook and the Molecule scenarios
step_lint_ansible() {
    cd "$MAIN_COLL"
    # offline: the linter cannot install this collection, so it must find the staged one
    NO_COLOR=1 ANSIBLE_COLLECTIONS_PATH=$ASYNCOPS_TEST_DIR/main ansible-lint roles examples extensions/molecule
}

# ansible-lint's args rule reports a misspelled option on every module, and not its correct twin (tests/lint)
step_lint_args() {
    cd "$MAIN_COLL"
    ANSIBLE_COLLECTIONS_PATH=$ASYNCOPS_TEST_DIR/main tests/lint/run.sh
}

# mypy (config: .mypy.ini) in two runs, since python_version is global: the
# code that runs on targets as their oldest Python, the controller code as the
# oldest controller Python of the ansible-core in $MAIN_VENV
step_types() {
    local pkg=ansible_collections.asyncops.jobs.plugins dir rc=0 controller=()
    local mypy=("$MAIN_VENV/bin/mypy" --cache-dir "$RUN_TMP/mypy-cache")
    cd "$MAIN_COLL"
    "${mypy[@]}" --version
    echo "target code (plugins/module_utils, plugins/modules) as Python 3.8:"
    "${mypy[@]}" --python-version 3.8 -p "$pkg.module_utils" -p "$pkg.modules" || rc=1
    for dir in action callback plugin_utils doc_fragments; do
        [[ ! -d plugins/$dir ]] || controller+=(-p "$pkg.$dir")
    done
    echo "controller code (plugins/{action,callback,plugin_utils,doc_fragments}) as Python 3.12:"
    "${mypy[@]}" --python-version 3.12 "${controller[@]}" || rc=1
    return "$rc"
}

step_units() {
    local python=$1
    cd "$MAIN_COLL"
    ansible-test units --venv --python "$python"
}

step_integration() {
    local python=$1
    cd "$MAIN_COLL"
    # the test machine is disposable: run the destructive targets too
    ansible-test integration --venv --python "$python" --allow-destructive --continue-on-error
}

# the async_log timeline pages of real runs, in headless chromium (tests/browser)
step_browser() {
    asyncops_apt_ensure chromium chromium-driver fonts-dejavu-core
    cd "$MAIN_COLL"
    ANSIBLE_COLLECTIONS_PATH=$ASYNCOPS_TEST_DIR/main ASYNCOPS_ARTIFACTS=$LOG_DIR/browser tests/browser/run.sh
}

# playbooks run through ansible-runner, as AWX runs them (tests/runner)
step_runner() {
    cd "$MAIN_COLL"
    ANSIBLE_COLLECTIONS_PATH=$ASYNCOPS_TEST_DIR/main ASYNCOPS_ARTIFACTS=$LOG_DIR/runner tests/runner/run.sh
}

step_build() {
    local dist=$RUN_TMP/dist collections=$RUN_TMP/collections smoke=$RUN_TMP/build-smoke tarball
    rm -rf "$dist" "$collections" "$smoke"
    cd "$MAIN_COLL"
    ansible-galaxy collection build --output-path "$dist"
    tarball=$(echo "$dist"/asyncops-jobs-*.tar.gz)
    if tar -tzf "$tarball" | grep -E '^(\.venv|\.cache|\.mypy_cache|\.git/|tests/output/)'; then
        echo "the tarball holds files of the work tree (see above): fix build_ignore in galaxy.yml" >&2
        return 1
    fi
    # not "tar | grep -q": grep quits at the match, tar dies of SIGPIPE and pipefail fails the test
    if ! grep -qx 'LICENSES/GPL-3.0-or-later.txt' <<<"$(tar -tzf "$tarball")"; then
        echo "the tarball lacks LICENSES/GPL-3.0-or-later.txt, the licence galaxy.yml names" >&2
        return 1
    fi
    ANSIBLE_COLLECTIONS_PATH=$collections ansible-galaxy collection install "$tarball" -p "$collections"
    # run from outside the source tree so that nothing but the installed copy
    # can resolve asyncops.jobs.*
    mkdir -p "$smoke"
    cp "$MAIN_COLL/tests/build/smoke.yml" "$MAIN_COLL/tests/build/ansible.cfg" "$smoke/"
    cd "$smoke"
    ANSIBLE_CONFIG=$smoke/ansible.cfg ANSIBLE_COLLECTIONS_PATH=$collections ansible-playbook smoke.yml
}

step_molecule() {
    local scenario=$1
    # molecule keeps its cache, ephemeral dirs and the collection its prerun
    # installs under HOME: give it one the run owns
    export HOME=$RUN_TMP/molecule-home
    mkdir -p "$HOME"
    if [[ ! -t 1 ]]; then
        export NO_COLOR=1 PY_COLORS=0 ANSIBLE_NOCOLOR=1
    fi
    cd "$MAIN_COLL"
    molecule_lock
    molecule test --scenario-name "$scenario"
}

# Scenarios share the harness's users, ports and state dir: one at a time on
# this machine, whoever runs them (another checkout's run, a run by hand with
# flock on the same file).
molecule_lock() {
    exec 8>"${AOJ_SSH_STATE_DIR:-/tmp/aoj-ssh}.lock"
    flock 8
}

# after a timeout the test sequence did not reach its destroy
step_molecule_destroy() {
    export HOME=$RUN_TMP/molecule-home
    cd "$MAIN_COLL"
    molecule_lock
    molecule destroy --scenario-name "$1"
}

step_compat_setup() {
    local python
    python=$(asyncops_find_python_of 3.12 3.11 3.10) ||
        asyncops_die "ansible-core 2.17 needs Python 3.10-3.12 for its controller; none found"
    asyncops_make_venv "$COMPAT_VENV" "$python" "$ROOT/tests/requirements/compat.txt" >/dev/null
    asyncops_ansible_test_offline "$COMPAT_VENV"
    # the same snapshot of the tree as the other stages
    stage_copy "$COMPAT_VENV" "$ASYNCOPS_TEST_DIR/compat" "$MAIN_COLL"
    PATH=$COMPAT_VENV/bin:$PATH ansible-test --version
}

step_compat_sanity() {
    cd "$COMPAT_COLL"
    PATH=$COMPAT_VENV/bin:$PATH ansible-test sanity --venv
}

step_compat_units() {
    cd "$COMPAT_COLL"
    PATH=$COMPAT_VENV/bin:$PATH ansible-test units --venv --python "$1"
}

step_compat_integration() {
    cd "$COMPAT_COLL"
    # --python below 3.10: ansible-test keeps its 3.12 controller, targets $1
    PATH=$COMPAT_VENV/bin:$PATH ansible-test integration --venv --python "$1" --allow-destructive --continue-on-error
}

# --------------------------------------------------------------- runner

RESULTS=()
PASSED=0
FAILED=0
LAST_RC=0

record() {
    local name=$1 rc=$2 secs=$3 note=${4:-} status=PASS
    if ((rc != 0)); then
        status=FAIL
        ((rc == 124)) && note="timed out${note:+; $note}"
        FAILED=$((FAILED + 1))
    else
        PASSED=$((PASSED + 1))
    fi
    RESULTS+=("$(printf '%-28s %s %6ss%s' "$name" "$status" "$secs" "${note:+   ($note)}")")
}

# run_step NAME TIMEOUT FUNCTION ARGS...: run FUNCTION in a fresh bash (so
# set -e holds inside it) under a timeout that ends its whole process group,
# log to $LOG_DIR and record the result. Never fails itself.
run_step() {
    local name=$1 limit=$2 start log rc
    shift 2
    log=$LOG_DIR/${name//\//_}.log
    banner "$name"
    start=$SECONDS
    set +e
    # 9>&-: what a test leaves running must not hold the run lock
    timeout --kill-after=30 "$limit" "$SELF" __step "$@" 9>&- 2>&1 | log_lines "$log"
    rc=${PIPESTATUS[0]}
    set -e
    LAST_RC=$rc
    record "$name" "$rc" $((SECONDS - start))
}

# log_lines FILE: copy stdin to FILE with the time before each line, and to
# stdout without the pip noise of this machine's pip.conf
log_lines() {
    local line now
    exec 3>"$1"
    while IFS= read -r line || [[ -n $line ]]; do
        printf -v now '%(%H:%M:%S)T' -1
        printf '%s %s\n' "$now" "$line" >&3
        [[ $line =~ $NOISE ]] || printf '%s\n' "$line"
    done
    exec 3>&-
}

skip_step() {
    banner "$1"
    echo "$2"
    record "$1" 0 0 "$2"
}

stage_sanity() { run_step sanity 40m step_sanity; }

stage_lint() {
    run_step lint/changelog 5m step_lint_changelog
    run_step lint/docs 10m step_lint_docs
    run_step lint/ansible 15m step_lint_ansible
    run_step lint/args 5m step_lint_args
}

stage_types() { run_step types 5m step_types; }

stage_units() {
    local python pythons
    if ! has_unit_tests "$MAIN_COLL"; then
        skip_step units "no unit tests yet"
        return
    fi
    pythons=${ASYNCOPS_UNITS_PYTHONS:-3.9 3.13}
    [[ $pythons != all ]] || pythons=$(python_versions 3.9 3.10 3.11 3.12 3.13 3.14)
    for python in $pythons; do
        run_step "units/$python" 15m step_units "$python"
    done
}

stage_integration() {
    run_step "integration/${ASYNCOPS_INTEGRATION_PYTHON:-3.13}" 30m step_integration "${ASYNCOPS_INTEGRATION_PYTHON:-3.13}"
}

stage_browser() { run_step browser 15m step_browser; }

stage_runner() { run_step runner 10m step_runner; }

stage_build() { run_step build 10m step_build; }

stage_molecule() {
    local scenario any=0
    for scenario in $(molecule_scenarios); do
        any=1
        run_step "molecule/$scenario" 20m step_molecule "$scenario"
        # a timeout, or a failed cleanup playbook, skips molecule's own destroy
        if ((LAST_RC != 0)); then
            timeout 5m "$SELF" __step step_molecule_destroy "$scenario" 9>&- || true
        fi
    done
    ((any)) || skip_step molecule "no scenarios"
}

stage_compat() {
    local python
    run_step compat/setup 15m step_compat_setup
    if ((LAST_RC != 0)); then
        return
    fi
    run_step compat/sanity 40m step_compat_sanity
    if has_unit_tests "$COMPAT_COLL"; then
        for python in ${ASYNCOPS_COMPAT_UNITS_PYTHONS:-3.8 3.12}; do
            run_step "compat/units/$python" 15m step_compat_units "$python"
        done
    else
        skip_step compat/units "no unit tests yet"
    fi
    python=${ASYNCOPS_COMPAT_INTEGRATION_PYTHON:-3.8}
    run_step "compat/integration/$python" 30m step_compat_integration "$python"
}

summary() {
    local line
    banner "summary ($((SECONDS / 60))m $((SECONDS % 60))s)"
    for line in "${RESULTS[@]}"; do
        echo "$line"
    done
    echo "logs: $LOG_DIR"
    echo "$PASSED passed, $FAILED failed"
}

cleanup() {
    if [[ -n ${RUN_TMP:-} && -z ${ASYNCOPS_KEEP_TMP:-} ]]; then
        rm -rf "$RUN_TMP"
    fi
}

usage() {
    echo "usage: $0 [${ALL_STAGES[*]}]" >&2
    exit 2
}

main() {
    local stages=("$@") stage known
    ((${#stages[@]})) || stages=("${ALL_STAGES[@]}")
    for stage in "${stages[@]}"; do
        known=0
        for s in "${ALL_STAGES[@]}"; do [[ $stage == "$s" ]] && known=1; done
        ((known)) || usage
    done

    mkdir -p "$ASYNCOPS_TEST_DIR" "$LOG_DIR"
    # one run at a time: runs share the staged copies, the SSH test users and ports
    exec 9>"$ASYNCOPS_TEST_DIR/lock"
    if ! flock -n 9; then
        echo "waiting for another scripts/test.sh run to finish..." >&2
        flock -w 3600 9 || asyncops_die "another scripts/test.sh run holds $ASYNCOPS_TEST_DIR/lock"
    fi
    RUN_TMP=$(mktemp -d "$ASYNCOPS_TEST_DIR/run.XXXXXX")
    export RUN_TMP
    trap cleanup EXIT
    rm -rf "$LOG_DIR"
    mkdir -p "$LOG_DIR"

    # pythonX.Y of every installed version first (ansible-test looks them up
    # on PATH; pyenv's shims only run the global one), then the tools
    export PATH=$RUN_TMP/bin:$MAIN_VENV/bin:$PATH

    run_step setup 30m step_setup
    if ((LAST_RC != 0)); then
        summary
        exit 1
    fi
    for stage in "${stages[@]}"; do
        "stage_$stage"
    done
    summary
    ((FAILED == 0))
}

if [[ ${1:-} == __step ]]; then
    shift
    "$@"
    exit
fi
main "$@"
