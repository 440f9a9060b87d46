#!/usr/bin/env bash
# Integration test of the asyncops.jobs.parallel role against localhost.
# Jobs run in a scratch job directory (ansible_async_dir), never in ~/.ansible_async.
set -euo pipefail

cd "$(dirname "$0")"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/role_parallel.XXXXXX")
export ANSIBLE_ROLES_PATH=  # the role must come from the collection
common=(-i "${INVENTORY_PATH:-../../inventory}" -e "scratch=$scratch" "$@")

cleanup() {
    local rc=$?
    ansible-playbook cleanup.yml "${common[@]}" || rc=1
    rm -rf "$scratch"
    exit "$rc"
}
trap cleanup EXIT

# concurrency bound, results, failures, fail fast, time limits
ansible-playbook main.yml "${common[@]}"

# check mode: nothing runs
ansible-playbook creates.yml "${common[@]}" --check
for f in made.1 made.2 made.3; do
    if [[ -e $scratch/$f ]]; then
        echo "FAIL: check mode left $scratch/$f" >&2
        exit 1
    fi
done
# check mode: the role launches and waits to its end; nothing runs, nothing is written
mkdir "$scratch/check"
ansible-playbook check_mode.yml "${common[@]}" -e "check_dir=$scratch/check" --check
if [[ -n $(ls -A "$scratch/check") ]]; then
    echo "FAIL: check mode left files in $scratch/check: $(ls -A "$scratch/check")" >&2
    exit 1
fi
echo "OK: check mode ran nothing"

# creates: the second run changes nothing
ansible-playbook creates.yml "${common[@]}" | tee "$scratch/creates1.log"
if ! grep -Eq '^testhost +: ok=[0-9]+ +changed=[1-9][0-9]* +unreachable=0 +failed=0 ' "$scratch/creates1.log"; then
    echo "FAIL: the first run with creates changed nothing" >&2
    exit 1
fi
ansible-playbook creates.yml "${common[@]}" | tee "$scratch/creates2.log"
if ! grep -Eq '^testhost +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0 ' "$scratch/creates2.log"; then
    echo "FAIL: the second run with creates changed something" >&2
    exit 1
fi
echo "OK: the second run with creates changed nothing"
