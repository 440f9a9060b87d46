#!/usr/bin/env bash
# The demo of asyncops.jobs: README's first command.
#
#   ./scripts/demo.sh
#
# Builds and installs the collection tarball with ansible-galaxy into a temp
# collections path, serves a generated file over loopback, and runs
# examples/demo.yml against localhost with the async_log callback enabled; it
# leaves the JSON-lines log and the timeline page in the temp dir it names.
# The first run also creates .venv (the same one scripts/test.sh uses).
set -euo pipefail

# shellcheck source=scripts/lib/env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/env.sh"
ROOT=$ASYNCOPS_ROOT
SERVER=$ROOT/tests/integration/targets/download/files/range_server.py
DEMO_SIZE_MB=${DEMO_SIZE_MB:-32}
DEMO_RATE=${DEMO_RATE:-12000000}   # bytes a second: a few seconds per download

if [[ ! -f $ROOT/.venv/.asyncops-key ]]; then
    asyncops_log "first run: installing the tools into .venv (a few minutes, once)"
fi
venv=$(asyncops_venv)
export PATH=$venv/bin:$PATH

work=$(mktemp -d "${TMPDIR:-/tmp}/asyncops-demo.XXXXXX")
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work/www" "$work/dest" "$work/build" "$work/async"
}
trap cleanup EXIT

asyncops_log "building and installing the collection tarball"
mkdir -p "$work/build" "$work/collections"
ansible-galaxy collection build "$ROOT" --output-path "$work/build" >&2
ansible-galaxy collection install "$work"/build/asyncops-jobs-*.tar.gz -p "$work/collections" --force >&2

asyncops_log "generating a ${DEMO_SIZE_MB} MB file and serving it on 127.0.0.1"
mkdir -p "$work/www" "$work/dest"
head -c "$((DEMO_SIZE_MB * 1024 * 1024))" /dev/urandom >"$work/www/demo.iso"
(cd "$work/www" && sha256sum demo.iso >demo.iso.sha256)
mkfifo "$work/port"
python3 "$SERVER" --root "$work/www" --port-file "$work/port" --log "$work/http.log" &
server_pid=$!
read -r port <"$work/port"
rm -f "$work/port"

log=$work/async_log.jsonl
timeline=$work/timeline.html
cat >"$work/ansible.cfg" <<CFG
[defaults]
collections_path = $work/collections
callbacks_enabled = asyncops.jobs.async_log
interpreter_python = auto_silent
retry_files_enabled = false

[callback_async_log]
log_path = $log
timeline_path = $timeline
CFG

asyncops_log "running examples/demo.yml"
ANSIBLE_CONFIG=$work/ansible.cfg ansible-playbook -i localhost, "$ROOT/examples/demo.yml" \
    -e "demo_url=http://127.0.0.1:$port" -e "demo_dir=$work/dest" -e "demo_rate=$DEMO_RATE"

printf '\nThe JSON-lines log of every async event: %s\n' "$log"
printf 'Look at it with: python3 -m json.tool --json-lines %s | less\n' "$log"
printf 'The timeline of every job (one self-contained page; open it in a browser): %s\n' "$timeline"
