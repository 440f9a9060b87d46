#!/usr/bin/env bash
# Integration test of the async_wrapper replacement (issue 12): every async: task of a play runs
# under the collection's supervisor once the callback is turned on the way the docs say,
# ANSIBLE_CALLBACKS_ENABLED=asyncops.jobs.supervise (appended with a comma to the list
# ansible-test already sets).
#
#  1. reference.yml with the callback OFF: the same tasks under ansible-core's own async_wrapper;
#     their results are written to JSON files, the reference of the key-by-key comparisons;
#  2. main.yml with the callback ON: the seed's get_url, a time limit on a shell that ignores
#     SIGTERM, the built-in's result key by key, a job killed from outside (lost), mode kill and
#     list, check mode, opting one task out, a become user, nothing left behind after poll: N;
#  3. progress.yml with the async_log callback too: progress under poll: N, seen in its log.
#
# A loopback HTTP server (the download target's files/range_server.py) serves the big file;
# it is stopped whatever happens.
set -euo pipefail

cd "$(dirname "$0")"
work=$(mktemp -d "${OUTPUT_DIR:-/tmp}/async_wrapper.XXXXXX")
mkdir "$work/www" "$work/ref"
mkfifo "$work/port"
python=$(command -v python || command -v python3)
"$python" ../download/files/range_server.py --root "$work/www" --port-file "$work/port" --log "$work/server.log" &
server=$!
release_watcher=
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    if [ -n "$release_watcher" ]; then
        kill "$release_watcher" 2>/dev/null || true
        wait "$release_watcher" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# The server writes its port into the FIFO once it listens. Opened read-write so that the
# read cannot hang if the server dies first (-t is a safety net only).
exec 3<>"$work/port"
read -r -t 60 port <&3
exec 3<&-

head -c 8388608 /dev/urandom > "$work/www/big.bin"

inventory=${INVENTORY_PATH:-../../inventory}
# a Python the unprivileged user of tasks/become.yml can run (not one under /root)
unpriv_python=${AOJ_UNPRIV_PYTHON:-/usr/bin/python3}
playbook() {  # playbook FILE [ARGS...]
    local file=$1
    shift
    ansible-playbook "$file" -i "$inventory" -e "work=$work" -e "server_port=$port" \
        -e "unpriv_python=$unpriv_python" "$@"
}

echo "=== the reference: ansible-core's own async_wrapper (callback off)"
playbook reference.yml "$@"

# --- from here on, as the docs say -------------------------------------------------------------------
export ANSIBLE_CALLBACKS_ENABLED="${ANSIBLE_CALLBACKS_ENABLED:+${ANSIBLE_CALLBACKS_ENABLED},}asyncops.jobs.supervise"

echo "=== supervised: ANSIBLE_CALLBACKS_ENABLED=$ANSIBLE_CALLBACKS_ENABLED"
playbook main.yml "$@" 2>&1 | tee "$work/main.out"
# the callback warns when ansible.legacy.async_wrapper does not resolve to the replacement
if grep -q 'async tasks are not supervised' "$work/main.out"; then
    echo "FAIL: the supervise callback says async tasks are not supervised" >&2
    exit 1
fi

echo "=== progress under poll: N, with the async_log callback too"
log="$work/async_log.jsonl"
release="$work/progress.release"
# the test module keeps running (at its last step) until the log has a poll event of it with
# progress, however loaded the machine is; the watcher always creates the file in the end
"$python" files/release_on_poll.py "$log" 'Report progress under poll' "$release" 120 &
release_watcher=$!
ANSIBLE_CALLBACKS_ENABLED="$ANSIBLE_CALLBACKS_ENABLED,asyncops.jobs.async_log" ASYNCOPS_ASYNC_LOG_PATH="$log" \
    playbook progress.yml -e "async_log=$log" -e "release_file=$release" "$@"
wait "$release_watcher"
release_watcher=

echo "async_wrapper: all scenarios passed"
