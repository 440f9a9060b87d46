#!/usr/bin/env bash
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Runs playbook.yml through `ansible-runner run`, as AWX runs a job, with the asyncops.jobs.async_log
# callback enabled the two ways AWX users enable it, and checks runner's artifacts (check_artifacts.py):
#   envvars     callbacks_enabled and the callback's options in env/envvars
#   ansible_cfg callbacks_enabled (async_log and supervise) and the options in project/ansible.cfg
#
# Called from a staged collection root with ANSIBLE_COLLECTIONS_PATH naming the collections root and
# ansible-runner, ansible-playbook and python on PATH. Outputs go to $ASYNCOPS_ARTIFACTS
# (default tests/output/runner): per run, runner's artifacts, the JSON-lines log and the timeline.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RANGE_SERVER=$HERE/../integration/targets/download/files/range_server.py
OUT=${ASYNCOPS_ARTIFACTS:-tests/output/runner}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PYTHON=$(command -v python)
# 6 MiB at 1 MiB/s: the download lasts about 6 s, polled (poll: 2) twice mid-way
PAYLOAD_SIZE=$((6 * 1024 * 1024))
DOWNLOAD_RATE=$((1024 * 1024))

fail() {
    echo "tests/runner: FAILED: $*" >&2
    exit 1
}

[[ -n ${ANSIBLE_COLLECTIONS_PATH:-} ]] || fail "ANSIBLE_COLLECTIONS_PATH is not set"
command -v ansible-runner >/dev/null || fail "ansible-runner is not on PATH"
echo "ansible-runner $(ansible-runner --version), $(ansible --version 2>/dev/null | sed -n 1p)"

# what the caller's environment would add or hide: each run sets its own
unset ANSIBLE_CONFIG ANSIBLE_CALLBACKS_ENABLED ANSIBLE_CALLBACK_WHITELIST ANSIBLE_STDOUT_CALLBACK \
    ANSIBLE_LOAD_CALLBACK_PLUGINS ANSIBLE_CALLBACK_RESULT_FORMAT
for name in $(env | sed -n 's/^\(ASYNCOPS_ASYNC_LOG_[A-Z_]*\)=.*/\1/p'); do
    unset "$name"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/asyncops-runner.XXXXXX")
server=
cleanup() {
    if [[ -n $server ]]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

mkdir "$WORK/www"
head -c "$PAYLOAD_SIZE" /dev/urandom > "$WORK/www/payload.bin"
PAYLOAD_SHA256=$(sha256sum "$WORK/www/payload.bin" | cut -d' ' -f1)
mkfifo "$WORK/port"
"$PYTHON" "$RANGE_SERVER" --root "$WORK/www" --port-file "$WORK/port" --log "$WORK/server.log" &
server=$!
# opened read-write so that the read cannot hang if the server dies first (-t is a safety net only)
exec 3<>"$WORK/port"
read -r -t 60 port <&3 || fail "the HTTP server did not start"
exec 3<&-

# make_private_data_dir NAME: a runner private data dir in $WORK/NAME, outputs in $OUT/NAME
make_private_data_dir() {
    local name=$1 pdd=$WORK/$1 out=$OUT/$1
    rm -rf "$out"
    mkdir -p "$pdd/project" "$pdd/inventory" "$pdd/env" "$out" "$WORK/async-$name"
    cp "$HERE/playbook.yml" "$pdd/project/playbook.yml"
    cat > "$pdd/inventory/hosts" <<INVENTORY
localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}" ansible_async_dir=$WORK/async-$name
INVENTORY
    cat > "$pdd/env/extravars" <<EXTRAVARS
server_port: $port
download_rate: $DOWNLOAD_RATE
download_dest: '$WORK/async-$name/payload.bin'
payload_size: $PAYLOAD_SIZE
payload_sha256: $PAYLOAD_SHA256
EXTRAVARS
    # a safety net only: the stage's own timeout is the limit
    cat > "$pdd/env/settings" <<SETTINGS
job_timeout: 150
SETTINGS
}

# run_runner NAME: ansible-runner run on $WORK/NAME; keeps its artifacts and console in $OUT/NAME
run_runner() {
    local name=$1 pdd=$WORK/$1 out=$OUT/$1 rc=0 start=$SECONDS
    echo "=== ansible-runner run ($name)"
    ansible-runner run "$pdd" -p playbook.yml --ident "$name" > "$out/runner-console.txt" 2>&1 || rc=$?
    cp -a "$pdd/artifacts/$name" "$out/artifacts"
    echo "ansible-runner ($name) exited $rc after $((SECONDS - start)) s; its console: $out/runner-console.txt"
    if ((rc != 0)); then
        tail -n 60 "$out/runner-console.txt"
        fail "ansible-runner run ($name) exited $rc"
    fi
}

# 1. callbacks enabled in env/envvars: what AWX users set as a job template's or settings' environment
make_private_data_dir envvars
cat > "$WORK/envvars/env/envvars" <<ENVVARS
ANSIBLE_COLLECTIONS_PATH: '$ANSIBLE_COLLECTIONS_PATH'
ANSIBLE_CALLBACKS_ENABLED: asyncops.jobs.async_log
ASYNCOPS_ASYNC_LOG_PATH: '$OUT/envvars/async_log.jsonl'
ASYNCOPS_ASYNC_LOG_TIMELINE_PATH: '$OUT/envvars/timeline.html'
ENVVARS
run_runner envvars

# 2. callbacks enabled in the project's ansible.cfg, with the supervisor
make_private_data_dir ansible_cfg
cat > "$WORK/ansible_cfg/env/envvars" <<ENVVARS
ANSIBLE_COLLECTIONS_PATH: '$ANSIBLE_COLLECTIONS_PATH'
ENVVARS
cat > "$WORK/ansible_cfg/project/ansible.cfg" <<CFG
[defaults]
callbacks_enabled = asyncops.jobs.async_log, asyncops.jobs.supervise

[callback_async_log]
log_path = $OUT/ansible_cfg/async_log.jsonl
timeline_path = $OUT/ansible_cfg/timeline.html
CFG
run_runner ansible_cfg

# --self-test: the checks must also fail on copies of these artifacts tampered with in the ways they look for
echo "=== checks"
failed=()
"$PYTHON" "$HERE/check_artifacts.py" --self-test --artifacts "$OUT/envvars/artifacts" --log "$OUT/envvars/async_log.jsonl" \
    --timeline "$OUT/envvars/timeline.html" --payload-size "$PAYLOAD_SIZE" || failed+=(envvars)
"$PYTHON" "$HERE/check_artifacts.py" --self-test --supervised --artifacts "$OUT/ansible_cfg/artifacts" \
    --log "$OUT/ansible_cfg/async_log.jsonl" --timeline "$OUT/ansible_cfg/timeline.html" --payload-size "$PAYLOAD_SIZE" \
    || failed+=(ansible_cfg)
((${#failed[@]} == 0)) || fail "the checks of the run(s) ${failed[*]} failed (see above; outputs in $OUT)"
echo "tests/runner: all checks passed in $SECONDS s"
