#!/usr/bin/env bash
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The async_log timeline in a real browser: runs real playbooks with the callback writing its JSON-lines log and
# its timeline page, then loads each page in headless chromium (check_timeline.py) and checks it against the log.
#
#   cwd: a collection root; ANSIBLE_COLLECTIONS_PATH: holds ansible_collections/asyncops/jobs;
#   PATH: ansible-playbook and a python with selenium; ASYNCOPS_ARTIFACTS: where pages, logs and screenshots go
#   (default tests/output/browser). Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian's chromium and
#   chromium-driver).

set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ARTIFACTS="${ASYNCOPS_ARTIFACTS:-tests/output/browser}"
HOSTS="${ASYNCOPS_BROWSER_HOSTS:-200}"

die() {
    echo "FAILED: $*" >&2
    exit 1
}

[[ -n ${ANSIBLE_COLLECTIONS_PATH:-} ]] || die "ANSIBLE_COLLECTIONS_PATH is not set (it must hold ansible_collections/asyncops/jobs)"
command -v ansible-playbook > /dev/null || die "ansible-playbook is not on PATH"
PYTHON="$(command -v python || command -v python3)" || die "no python on PATH"
"${PYTHON}" -c 'import selenium' 2> /dev/null || die "${PYTHON} cannot import selenium"
for tool in "${ASYNCOPS_CHROMIUM:-/usr/bin/chromium}" "${ASYNCOPS_CHROMEDRIVER:-/usr/bin/chromedriver}"; do
    [[ -x ${tool} ]] || die "${tool} is missing (apt-get install chromium chromium-driver)"
done
ansible-doc -t callback asyncops.jobs.async_log 2> /dev/null | grep -q timeline_path ||
    die "the asyncops.jobs.async_log callback found through ANSIBLE_COLLECTIONS_PATH=${ANSIBLE_COLLECTIONS_PATH} has no timeline_path option"

mkdir -p "${ARTIFACTS}"
ARTIFACTS="$(cd "${ARTIFACTS}" && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/asyncops-browser.XXXXXX")"
trap 'rm -rf "${WORK}"' EXIT

# the callback's options come from the ansible.cfg written here, and nothing else
unset ANSIBLE_CALLBACKS_ENABLED ANSIBLE_STDOUT_CALLBACK ANSIBLE_CALLBACK_RESULT_FORMAT ANSIBLE_LOAD_CALLBACK_PLUGINS
for name in $(env | sed -n 's/^\(ASYNCOPS_ASYNC_LOG_[A-Z_]*\)=.*/\1/p'); do
    unset "${name}"
done
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0

# write_cfg NAME: WORK/NAME.cfg that logs to ARTIFACTS/NAME.jsonl and writes the page ARTIFACTS/NAME.html
write_cfg() {
    local name="$1"
    rm -f "${ARTIFACTS}/${name}.jsonl" "${ARTIFACTS}/${name}.html" "${ARTIFACTS}/${name}.png"
    cat > "${WORK}/${name}.cfg" <<EOF
[defaults]
callbacks_enabled = asyncops.jobs.async_log
stdout_callback = default
retry_files_enabled = false
forks = 50

[connection]
pipelining = true

[callback_async_log]
log_path = ${ARTIFACTS}/${name}.jsonl
timeline_path = ${ARTIFACTS}/${name}.html
EOF
}

# play NAME INVENTORY PLAYBOOK [extra cfg lines...]: one run; its console goes to ARTIFACTS/NAME.out
play() {
    local name="$1" inventory="$2" playbook="$3" started
    shift 3
    write_cfg "${name}"
    for line in "$@"; do
        echo "${line}" >> "${WORK}/${name}.cfg"
    done
    started="$(date +%s%N)"
    ANSIBLE_CONFIG="${WORK}/${name}.cfg" ansible-playbook -i "${inventory}" "${HERE}/${playbook}" \
        > "${ARTIFACTS}/${name}.out" 2>&1 || {
        tail -n 60 "${ARTIFACTS}/${name}.out"
        die "ansible-playbook ${playbook} failed (console: ${ARTIFACTS}/${name}.out)"
    }
    [[ -s ${ARTIFACTS}/${name}.html ]] || die "${playbook}: the callback wrote no timeline to ${ARTIFACTS}/${name}.html"
    grep -qF "asyncops.jobs.async_log: timeline written to ${ARTIFACTS}/${name}.html" "${ARTIFACTS}/${name}.out" ||
        die "${playbook}: the console does not say where the timeline was written (${ARTIFACTS}/${name}.out)"
    echo "${name}: ${playbook} ran in $((($(date +%s%N) - started) / 1000000)) ms; page $(stat -c %s "${ARTIFACTS}/${name}.html") bytes"
}

# targets run the venv's (or the controller's) python; every job record stays in WORK
cat > "${WORK}/fates.ini" <<EOF
[fates]
localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}" ansible_async_dir=${WORK}/async/fates
EOF
{
    echo "[many]"
    for ((i = 1; i <= HOSTS; i++)); do
        printf 'h%03d\n' "${i}"
    done
    echo "[many:vars]"
    echo "ansible_connection=local"
    echo "ansible_python_interpreter=\"{{ ansible_playbook_python }}\""
    echo "ansible_async_dir=${WORK}/async/many/{{ inventory_hostname }}"
} > "${WORK}/many.ini"

started="$(date +%s)"
play fates "${WORK}/fates.ini" fates.yml
play many "${WORK}/many.ini" many.yml "console = false"

# check NAME ARGS...: the page of run NAME against its log, in chromium
check() {
    local name="$1"
    shift
    "${PYTHON}" "${HERE}/check_timeline.py" --page "${ARTIFACTS}/${name}.html" --log "${ARTIFACTS}/${name}.jsonl" \
        --screenshot "${ARTIFACTS}/${name}.png" "$@" || die "the timeline of the ${name} run (see above)"
}
check fates --expect-states succeeded,failed,timeout,killed,lost,uncollected --click-all \
    --expect-field 'timeout:message:time limit' --expect-field 'killed:message:killed' --expect-field 'failed:rc:3' \
    --expect-field 'uncollected:cleanup:' --expect-field 'succeeded:progress:100'
check many --expect-jobs "$((HOSTS * 5))" --expect-states succeeded,failed
echo "browser: passed in $(($(date +%s) - started)) s; pages, logs and screenshots in ${ARTIFACTS}"
