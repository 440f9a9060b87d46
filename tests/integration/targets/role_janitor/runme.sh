#!/usr/bin/env bash
# Integration test of the asyncops.jobs.janitor role against localhost.
#
# Works in a scratch job directory (ansible_async_dir), never in ~/.ansible_async.
# Adds one uniquely named entry to the crontab of the user running the test and
# removes it at the end, whatever happens.
set -euo pipefail

cd "$(dirname "$0")"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/role_janitor.XXXXXX")
name="asyncops-janitor-test-$$"
export ANSIBLE_ROLES_PATH=  # the role must come from the collection
common=(-i "${INVENTORY_PATH:-../../inventory}" -e "scratch=$scratch" -e "janitor_name=$name" "$@")

cleanup() {
    local rc=$?
    ansible-playbook cleanup.yml "${common[@]}" || rc=1
    rm -rf "$scratch"
    exit "$rc"
}
trap cleanup EXIT

# PLAY RECAP of testhost must show changed=0 and failed=0
assert_unchanged() {
    if ! grep -Eq '^testhost +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0 ' "$1"; then
        echo "FAIL: $2 changed something (see the PLAY RECAP above)" >&2
        exit 1
    fi
    echo "OK: $2 changed nothing"
}

# records of every kind, two running jobs (this collection's and core's)
ansible-playbook prepare.yml "${common[@]}"

# prune now and install the cron entry
ansible-playbook janitor.yml "${common[@]}" -e '{"janitor_schedule": true}' | tee "$scratch/run1.log"
if ! grep -Eq '^testhost +: ok=[0-9]+ +changed=[1-9]' "$scratch/run1.log"; then
    echo "FAIL: the first run changed nothing" >&2
    exit 1
fi
ansible-playbook check_pruned.yml "${common[@]}"

# idempotence: nothing left to prune, cron entry and script in place
ansible-playbook janitor.yml "${common[@]}" -e '{"janitor_schedule": true}' | tee "$scratch/run2.log"
assert_unchanged "$scratch/run2.log" "the second run"

# the installed script, run by hand exactly as cron runs it
ansible-playbook check_script.yml "${common[@]}"

# an age in words: the role, the module and the script read ages with the one parser
ansible-playbook janitor.yml "${common[@]}" -e '{"janitor_schedule": true, "janitor_max_age": "2hours"}'
ansible-playbook check_max_age.yml "${common[@]}"

# a bad age fails the role before anything changes, with or without a prune now
for prune_now in true false; do
    if ansible-playbook janitor.yml "${common[@]}" \
            -e "{\"janitor_schedule\": true, \"janitor_max_age\": \"7x\", \"janitor_prune_now\": $prune_now}" \
            >"$scratch/bad-age.log" 2>&1; then
        cat "$scratch/bad-age.log"
        echo "FAIL: the role took janitor_max_age 7x (janitor_prune_now $prune_now)" >&2
        exit 1
    fi
    if ! grep -q "invalid max_age '7x'" "$scratch/bad-age.log"; then
        cat "$scratch/bad-age.log"
        echo "FAIL: no clear error for janitor_max_age 7x (janitor_prune_now $prune_now)" >&2
        exit 1
    fi
    echo "OK: janitor_max_age 7x refused (janitor_prune_now $prune_now)"
done
ansible-playbook check_max_age.yml "${common[@]}" --tags cron

# the systemd branch: units rendered into a scratch directory
ansible-playbook check_systemd_units.yml "${common[@]}"

# removal, twice
ansible-playbook janitor.yml "${common[@]}" -e janitor_state=absent | tee "$scratch/absent1.log"
ansible-playbook check_absent.yml "${common[@]}"
ansible-playbook janitor.yml "${common[@]}" -e janitor_state=absent | tee "$scratch/absent2.log"
assert_unchanged "$scratch/absent2.log" "the second removal"
