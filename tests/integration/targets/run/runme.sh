#!/usr/bin/env bash
# Runs the playbook with pipelining on (ansible-test's inventory default), then
# off, and, where the core in use still supports it, on a Python 3.8 target.
set -eux

playbook=(ansible-playbook -i "${INVENTORY_PATH:-../../inventory}" main.yml)
# ASYNCOPS_RUN_PARTS=basic,timeout runs only those task files (for development)
if [ -n "${ASYNCOPS_RUN_PARTS:-}" ]; then
    "${playbook[@]}" -e run_parts="$ASYNCOPS_RUN_PARTS" "$@"
    exit 0
fi

"${playbook[@]}" "$@"

# check mode: the start-then-wait pairs pass --check; nothing runs, nothing is written
check_mode() {
    local work
    work=$(mktemp -d "${TMPDIR:-/tmp}/run-check.XXXXXX")
    ansible-playbook -i "${INVENTORY_PATH:-../../inventory}" check_mode.yml --check -e "work=$work" "$@"
    for f in async made-one made-skip made-wait made-a made-b made-builtin; do
        if [[ -e $work/$f ]]; then
            echo "FAIL: check mode left $work/$f" >&2
            exit 1
        fi
    done
    # the built-in pair, for comparison, leaves the record of its check-mode run
    if [[ $(find "$work/builtin-async" -maxdepth 1 -type f -name 'j*' | wc -l) -ne 1 ]]; then
        echo "FAIL: the built-in pair in check mode did not leave the one record the docs describe" >&2
        exit 1
    fi
    rm -rf "$work"
    echo "OK: check mode ran nothing and wrote nothing in the job directory"
}
check_mode "$@"

ANSIBLE_PIPELINING=0 "${playbook[@]}" -e ansible_pipelining=false -e run_parts=basic,timeout,wait,become "$@"

# ansible-core 2.18+ no longer runs modules on Python 3.8; 2.17 does.
py38=${ASYNCOPS_PY38:-/root/.pyenv/versions/3.8.18/bin/python3}
core_minor=$(ansible --version | sed -n '1s/.*core 2\.\([0-9]*\).*/\1/p')
if [ -x "$py38" ] && [ "${core_minor:-99}" -lt 18 ]; then
    "${playbook[@]}" -e ansible_python_interpreter="$py38" -e run_parts=basic,timeout,wait,output,progress,kill,batch "$@"
    check_mode -e ansible_python_interpreter="$py38" "$@"
fi
