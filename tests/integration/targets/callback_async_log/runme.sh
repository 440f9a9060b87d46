#!/usr/bin/env bash
# Copyright (c) 2025, asyncops.jobs developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Runs real playbooks with the asyncops.jobs.async_log callback enabled in an ansible.cfg and
# checks its JSON-lines log and its console output (check.py holds the checks).

set -euo pipefail

TARGET_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="${OUTPUT_DIR:-$(mktemp -d)}/callback_async_log"
PYTHON="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}"
CHECK=("${PYTHON}" "${TARGET_DIR}/check.py")

rm -rf "${WORK}"
mkdir -p "${WORK}"
ASYNC_DIR="${WORK}/async"

# No colors in captured output; the checks read plain text.
export ANSIBLE_NOCOLOR=1
export ANSIBLE_FORCE_COLOR=0
# ansible-test enables its own callbacks through the environment, which would hide the ini setting
# under test: keep them, but through the ini file.
EXTRA_CALLBACKS="${ANSIBLE_CALLBACKS_ENABLED:-}"
unset ANSIBLE_CALLBACKS_ENABLED
# the scenarios choose their stdout callback and result format themselves
unset ANSIBLE_STDOUT_CALLBACK ANSIBLE_CALLBACK_RESULT_FORMAT ANSIBLE_LOAD_CALLBACK_PLUGINS
for name in $(env | sed -n 's/^\(ASYNCOPS_ASYNC_LOG_[A-Z_]*\)=.*/\1/p'); do
    unset "${name}"
done

# asyncops-delegate: a second name for this machine, for tasks delegated to another host
cat > "${WORK}/inventory" <<EOF
localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}" ansible_async_dir=${ASYNC_DIR}
asyncops-delegate ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}" ansible_async_dir=${ASYNC_DIR}
EOF

# write_cfg FILE LOG_PATH [extra lines for the [callback_async_log] section...]
write_cfg() {
    local file="$1" log="$2"
    shift 2
    {
        echo "[defaults]"
        echo "callbacks_enabled = asyncops.jobs.async_log${EXTRA_CALLBACKS:+,${EXTRA_CALLBACKS}}"
        echo "stdout_callback = default"
        echo "retry_files_enabled = false"
        echo
        echo "[callback_async_log]"
        echo "log_path = ${log}"
        for line in "$@"; do
            echo "${line}"
        done
    } > "${file}"
}

INI_LOG="${WORK}/ini.jsonl"
write_cfg "${WORK}/ansible.cfg" "${INI_LOG}"
write_cfg "${WORK}/ansible-off.cfg" "${WORK}/ini-off.jsonl" "console = false" "recap = false" "unreaped_warning = false"
write_cfg "${WORK}/ansible-quiet.cfg" "${WORK}/ini-quiet.jsonl" "progress_bar = false" "quiet_without_progress = true"
export ANSIBLE_CONFIG="${WORK}/ansible.cfg"

# play NAME PLAYBOOK [ansible-playbook args...]: run a playbook, console (stdout+stderr) to WORK/NAME.out
play() {
    local name="$1" playbook="$2"
    shift 2
    echo "=== ${name}: ${playbook} $*"
    ansible-playbook -i "${WORK}/inventory" "${TARGET_DIR}/${playbook}" "$@" > "${WORK}/${name}.out" 2>&1 || {
        cat "${WORK}/${name}.out"
        echo "FAILED: ansible-playbook ${playbook} ($name)"
        return 1
    }
    cat "${WORK}/${name}.out"
}

# check SCENARIO ARGS...: see check.py
check() {
    "${CHECK[@]}" "$@"
}

# release_when LOG FILE EVENT TASK COUNT [progress]: in the background, create FILE once LOG has
# COUNT more EVENT events of TASK. Test jobs run until their FILE exists, so they last exactly as long as
# the checks need (enough polls or retries to look at), however loaded the machine is.
RELEASES=0
release_when() {
    local log="$1" offset
    shift
    offset="$(stat -c %s "${log}" 2>/dev/null || echo 0)"
    "${CHECK[@]}" release "${log}" "${offset}" "$@" &
    RELEASES=$((RELEASES + 1))
}
new_release() {
    echo "${WORK}/release-${RELEASES}-$1"
}
cleanup_background() {
    local pids
    pids="$(jobs -p)"
    if [ -n "${pids}" ]; then
        # shellcheck disable=SC2086
        kill ${pids} 2>/dev/null || true
    fi
}
trap cleanup_background EXIT

# --- scenarios, options from ansible.cfg (log_path from the ini file) -------------------------------

# async: N, poll: M (with a loop of polled jobs); the yaml result format of the default stdout callback
REL="$(new_release polled)"
release_when "${INI_LOG}" "${REL}" poll 'Sleep with polling' 3
ANSIBLE_CALLBACK_RESULT_FORMAT=yaml play polled polled.yml -e "release_file=${REL}"
check polled "${INI_LOG}" "${WORK}/polled.out" 3

# poll: 0 and an until loop around ansible.builtin.async_status, then mode: cleanup
REL="$(new_release until)"
release_when "${INI_LOG}" "${REL}" retry 'Wait for the job' 2
play until poll0_until.yml -e "release_file=${REL}"
check until "${INI_LOG}" "${WORK}/until.out"

# a job that outlives its time limit: the controller's synthesized failure
play timeout timeout.yml
check timeout "${INI_LOG}" "${WORK}/timeout.out"

# a job that fails
play failed failed.yml
check failed "${INI_LOG}" "${WORK}/failed.out"

# a job that is never collected; once the job has ended (as the note above it says), the cleanup task printed in
# the recap is run and removes the record
if ansible-doc -t module asyncops.jobs.async_status > /dev/null 2>&1; then
    HAVE_ASYNCOPS_STATUS=yes
    CLEANUP_MODULE=asyncops.jobs.async_status
else
    HAVE_ASYNCOPS_STATUS=no
    CLEANUP_MODULE=ansible.builtin.async_status
    echo "NOTE: asyncops.jobs.async_status not present yet: running the printed cleanup task with ${CLEANUP_MODULE}"
fi
play unreaped unreaped.yml
UNREAPED_JID="$(check unreaped "${INI_LOG}" "${WORK}/unreaped.out" "${ASYNC_DIR}" "${WORK}/cleanup.yml" "${CLEANUP_MODULE}")"
cat "${WORK}/cleanup.yml"
ansible-playbook -i "${WORK}/inventory" "${WORK}/cleanup.yml" > "${WORK}/cleanup.out" 2>&1 || {
    cat "${WORK}/cleanup.out"
    exit 1
}
check record_gone "${ASYNC_DIR}" "${UNREAPED_JID}"

# jobs that report progress: polls and until-loop retries carry it; progress bar on the console
REL="$(new_release progress-polled)"
release_when "${INI_LOG}" "${REL}" poll 'Work in steps with polling' 2 progress
REL2="$(new_release progress-until)"
release_when "${INI_LOG}" "${REL2}" retry 'Wait for the steps' 2 progress
play progress progress.yml -e "release_polled=${REL}" -e "release_until=${REL2}"
check progress "${INI_LOG}" "${WORK}/progress.out" bar yes

# every run appended to the same 0600 file
check file "${INI_LOG}" 6

# --- options from ansible.cfg: everything off ---------------------------------------------------------
ANSIBLE_CONFIG="${WORK}/ansible-off.cfg" play ini-off unreaped.yml
check silent "${WORK}/ini-off.jsonl" "${WORK}/ini-off.out" unreaped.yml

# --- options from ansible.cfg: progress_bar off, quiet_without_progress on ----------------------------
REL="$(new_release ini-quiet-progress)"
release_when "${WORK}/ini-quiet.jsonl" "${REL}" poll 'Work in steps with polling' 2 progress
ANSIBLE_CONFIG="${WORK}/ansible-quiet.cfg" play ini-quiet-progress progress.yml -e steps=2 -e with_until=false \
    -e "release_polled=${REL}"
check progress "${WORK}/ini-quiet.jsonl" "${WORK}/ini-quiet-progress.out" nobar no
REL="$(new_release ini-quiet-polled)"
release_when "${WORK}/ini-quiet.jsonl" "${REL}" poll 'Sleep with polling' 1
ANSIBLE_CONFIG="${WORK}/ansible-quiet.cfg" play ini-quiet-polled polled.yml -e min_seconds=1 -e with_loop=false \
    -e "release_file=${REL}"
check quiet "${WORK}/ini-quiet.jsonl" "${WORK}/ini-quiet-polled.out" polled.yml

# --- options from the environment (they win over ansible.cfg) ----------------------------------------
BEFORE="$(check lines "${INI_LOG}")"
ASYNCOPS_ASYNC_LOG_PATH="${WORK}/env.jsonl" ASYNCOPS_ASYNC_LOG_CONSOLE=false ASYNCOPS_ASYNC_LOG_RECAP=false \
    ASYNCOPS_ASYNC_LOG_UNREAPED_WARNING=false play env-off unreaped.yml
check silent "${WORK}/env.jsonl" "${WORK}/env-off.out" unreaped.yml
check count "${INI_LOG}" "${BEFORE}"
check file "${WORK}/env.jsonl" 1

REL="$(new_release env-nobar)"
release_when "${INI_LOG}" "${REL}" poll 'Work in steps with polling' 2 progress
ASYNCOPS_ASYNC_LOG_PROGRESS_BAR=false play env-nobar progress.yml -e steps=2 -e with_until=false \
    -e "release_polled=${REL}"
check progress "${INI_LOG}" "${WORK}/env-nobar.out" nobar no

# console lines and recap on stderr, beside another stdout callback
echo "=== env-stderr: polled.yml (stdout and stderr apart)"
ASYNCOPS_ASYNC_LOG_CONSOLE_STREAM=stderr ANSIBLE_STDOUT_CALLBACK=minimal \
    ansible-playbook -i "${WORK}/inventory" "${TARGET_DIR}/polled.yml" -e min_seconds=2 -e with_loop=false \
    > "${WORK}/env-stderr.stdout" 2> "${WORK}/env-stderr.stderr" || {
    cat "${WORK}/env-stderr.stdout" "${WORK}/env-stderr.stderr"
    exit 1
}
cat "${WORK}/env-stderr.stdout" "${WORK}/env-stderr.stderr"
check streams "${WORK}/env-stderr.stdout" "${WORK}/env-stderr.stderr"

# --- options from variables (extra vars) --------------------------------------------------------------
play vars-off unreaped.yml -e asyncops_async_log_recap=false -e asyncops_async_log_unreaped_warning=false
check no_recap "${INI_LOG}" "${WORK}/vars-off.out" unreaped.yml

# --- asyncops.jobs.async_status: until loop, wait, kill, cleanup, lost, prune --------------------------
if [ "${HAVE_ASYNCOPS_STATUS}" = yes ]; then
    REL="$(new_release asyncops)"
    release_when "${INI_LOG}" "${REL}" retry 'Poll the first job with asyncops.jobs.async_status' 2
    play asyncops asyncops_status.yml -e "release_file=${REL}"
    check asyncops "${INI_LOG}" "${WORK}/asyncops.out"

    # a job whose own result has a "state": the job state logged is the job's, through both status modules
    play own-state own_state.yml -e "dir_path=${WORK}/own-state-dir"
    check own_state "${INI_LOG}" "${WORK}/own-state.out"

    # tasks with no_log: censored ends still end their jobs, nothing they hide is logged or printed
    SECRET="s3cr3t-$$-$RANDOM"
    REL="$(new_release no-log-polled)"
    release_when "${INI_LOG}" "${REL}" poll 'Sleep with polling and no_log' 1
    REL2="$(new_release no-log-steps)"
    release_when "${INI_LOG}" "${REL2}" poll 'Report secret progress with no_log' 2
    play no-log no_log.yml -e "secret=${SECRET}" -e "release_polled=${REL}" -e "release_steps=${REL2}"
    check no_log "${INI_LOG}" "${WORK}/no-log.out" "${SECRET}"

    # batch launches (asyncops.jobs.run with batch, the parallel role): every job of the batch is a job of its launch
    play batch batch.yml
    check batch "${INI_LOG}" "${WORK}/batch.out"

    # a lookup after a cleanup, the files ansible.builtin.async_status mode=cleanup leaves, delegation; the task the
    # recap prints for the files left is run and removes them
    play untruths untruths.yml
    LEFT_JID="$(check untruths "${INI_LOG}" "${WORK}/untruths.out" "${ASYNC_DIR}" "${WORK}/remove-left.yml")"
    cat "${WORK}/remove-left.yml"
    ansible-playbook -i "${WORK}/inventory" "${WORK}/remove-left.yml" > "${WORK}/remove-left.out" 2>&1 || {
        cat "${WORK}/remove-left.out"
        exit 1
    }
    check files_gone "${ASYNC_DIR}" "${LEFT_JID}"

    # check mode: launches that start nothing (asyncops.jobs.run returns a check-mode jid)
    play check-mode check_mode.yml --check
    check check_mode "${INI_LOG}" "${WORK}/check-mode.out"
else
    echo "SKIP: asyncops.jobs.async_status not present yet"
fi

echo "callback_async_log: all checks passed"
