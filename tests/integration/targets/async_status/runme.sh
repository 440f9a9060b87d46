#!/usr/bin/env bash
# Integration test of asyncops.jobs.async_status against localhost (as root).
#
#  1. drop-in: a playbook written for ansible.builtin.async_status passes as it is and
#     with the module name swapped by sed; and key by key (dropin_compare.yml): the same
#     finished jobs of real modules polled with both modules give the same top-level keys
#     and values, ours adding only `asyncops` (as root and as an unprivileged user);
#  2. main.yml (every mode, built-in and supervised jobs, become, delegate_to, HOME,
#     bad input), with pipelining on and off (extra vars: ansible-test's inventory sets
#     ansible_pipelining, which wins over ANSIBLE_PIPELINING);
#  3. one status call is one round trip with pipelining on;
#  4. the same against asyncops.jobs.run, when that module exists.
set -euo pipefail

cd "$(dirname "$0")"
base=$(mktemp -d "${TMPDIR:-/tmp}/async_status.XXXXXX")
trap 'rm -rf "$base"' EXIT
inventory=${INVENTORY_PATH:-../../inventory}
# a Python the unprivileged user of become.yml can run (not one under /root)
unpriv_py=${AOJ_UNPRIV_PYTHON:-/usr/bin/python3}

run() {  # run SCRATCH PLAYBOOK [ARGS...]
    local scratch=$1 playbook=$2
    shift 2
    mkdir -p "$scratch"
    ansible-playbook "$playbook" -i "$inventory" -e "scratch=$scratch" -e "unpriv_py=$unpriv_py" "$@"
}

echo "=== drop-in: the built-in"
run "$base/dropin1" dropin_builtin.yml "$@"

echo "=== drop-in: the same playbook with asyncops.jobs.async_status"
sed 's/ansible\.builtin\.async_status/asyncops.jobs.async_status/g' dropin_builtin.yml > "$base/dropin_asyncops.yml"
if grep -q 'ansible\.builtin\.async_status' "$base/dropin_asyncops.yml" ||
   [[ $(grep -c 'asyncops\.jobs\.async_status' "$base/dropin_asyncops.yml") -lt 10 ]]; then
    echo "FAIL: the sed did not swap the module name" >&2
    exit 1
fi
run "$base/dropin2" "$base/dropin_asyncops.yml" "$@"

echo "=== drop-in: key by key"
run "$base/dropin_compare" dropin_compare.yml "$@"

echo "=== main, pipelining on"
run "$base/pipe_on" main.yml -e ansible_pipelining=true "$@" | tee "$base/main_on.log"
echo "=== main, pipelining off (the parts where the transport matters: temp files, become, delegation)"
run "$base/pipe_off" main.yml -e ansible_pipelining=false --tags core,dirs,become "$@" | tee "$base/main_off.log"
grep -h 'MEASURE' "$base/main_on.log" "$base/main_off.log" | sed 's/^ *"msg": //' || true

echo "=== round trips of one status call"
mkdir -p "$base/rt"
rt_jid="j$RANDOM$RANDOM.42"
rt_dir="$HOME/.ansible_async"
[[ -d $rt_dir ]] || mkdir -m 0700 "$rt_dir"
printf '{"rc": 0, "changed": false}' > "$rt_dir/$rt_jid"
trap 'rm -rf "$base" "$rt_dir/$rt_jid"' EXIT
count_exec() { grep -c '> EXEC ' "$1" || true; }
run "$base/rt" roundtrip.yml -vvv -e ansible_pipelining=true -e "rt_jid=$rt_jid" "$@" > "$base/rt_on.log"
sed 's/asyncops\.jobs\.async_status/ansible.builtin.async_status/; s/failed_when: .*/failed_when: st is failed/' roundtrip.yml > "$base/rt_builtin.yml"
run "$base/rt" "$base/rt_builtin.yml" -vvv -e ansible_pipelining=true -e "rt_jid=$rt_jid" "$@" > "$base/rt_builtin.log"
run "$base/rt" roundtrip.yml -vvv -e ansible_pipelining=false -e "rt_jid=$rt_jid" "$@" > "$base/rt_off.log"
ours=$(count_exec "$base/rt_on.log")
builtin=$(count_exec "$base/rt_builtin.log")
echo "MEASURE remote commands per status call: asyncops.jobs.async_status $ours (pipelining on)," \
     "$(count_exec "$base/rt_off.log") (pipelining off); ansible.builtin.async_status $builtin (pipelining on)"
if [[ $ours -ne 1 || $builtin -le $ours ]]; then
    echo "FAIL: a status call with pipelining should be one round trip (got $ours; the built-in $builtin)" >&2
    exit 1
fi

echo "=== asyncops.jobs.run"
if ansible-doc asyncops.jobs.run > /dev/null 2>&1; then
    run "$base/run" with_run.yml "$@"
else
    echo "SKIP: asyncops.jobs.run is not available; its part of the test did not run"
fi
