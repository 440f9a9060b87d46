#!/usr/bin/env bash
# Starts a loopback HTTP server with Range support (files/range_server.py),
# runs the playbook against it, and stops it whatever happens.
set -eux

work=$(mktemp -d "${OUTPUT_DIR:-/tmp}/download.XXXXXX")
mkdir "$work/www"
mkfifo "$work/port"
: > "$work/server.log"
python=$(command -v python || command -v python3)
"$python" files/range_server.py --root "$work/www" --port-file "$work/port" --log "$work/server.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

# The server writes its port into the FIFO once it listens. Opened read-write
# so that the read cannot hang if the server dies first (-t is a safety net only).
exec 3<>"$work/port"
read -r -t 60 port <&3
exec 3<&-

# a Python the unprivileged user of tasks/trust.yml can run (not one under /root)
unpriv_python=${AOJ_UNPRIV_PYTHON:-/usr/bin/python3}
playbook=(ansible-playbook -i "${INVENTORY_PATH:-../../inventory}" main.yml -e "server_port=$port" -e "work=$work"
          -e "unpriv_python=$unpriv_python")

"${playbook[@]}" "$@"

# check mode: a background download and its wait pass --check; nothing is requested or written
check_mode() {
    local check_dir=$work/check
    mkdir "$check_dir"
    ansible-playbook -i "${INVENTORY_PATH:-../../inventory}" check_mode.yml --check -e "server_port=$port" \
        -e "check_dir=$check_dir" "$@"
    if [[ -n $(ls -A "$check_dir") ]]; then
        echo "FAIL: check mode left files in $check_dir: $(ls -A "$check_dir")" >&2
        exit 1
    fi
    if grep -q check-mode "$work/server.log"; then
        echo "FAIL: check mode requested the file" >&2
        exit 1
    fi
    rmdir "$check_dir"
    echo "OK: check mode requested nothing and wrote nothing"
}
check_mode "$@"

# ansible-core 2.18+ no longer runs modules on Python 3.8; 2.17 does.
py38=${ASYNCOPS_PY38:-/root/.pyenv/versions/3.8.18/bin/python3}
core_minor=$(ansible --version | sed -n '1s/.*core 2\.\([0-9]*\).*/\1/p')
if [ -x "$py38" ] && [ "${core_minor:-99}" -lt 18 ]; then
    "${playbook[@]}" -e ansible_python_interpreter="$py38" -e download_parts=async,resume,changed,checksum -e download_dir_name=dl-py38 "$@"
    check_mode -e ansible_python_interpreter="$py38" "$@"
fi
