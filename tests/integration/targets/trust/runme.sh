#!/usr/bin/env bash
# Integration test of the trust rules (issue 11): async dirs, records, sidecars and
# processes another user could have planted are refused with a clear error, and nothing
# is read, written or signalled outside the job. Runs every check as root and as an
# unprivileged become user (aoj_trust, created and removed by main.yml).
set -euo pipefail

cd "$(dirname "$0")"
base=$(mktemp -d "${TMPDIR:-/tmp}/trust.XXXXXX")
chmod 0755 "$base"  # the unprivileged user reaches its own part below it
trap 'rm -rf "$base"' EXIT
inventory=${INVENTORY_PATH:-../../inventory}
# a Python the unprivileged user can run (not one under /root)
unpriv_py=${AOJ_UNPRIV_PYTHON:-/usr/bin/python3}

ansible-playbook main.yml -i "$inventory" -e "scratch=$base" -e "unpriv_py=$unpriv_py" "$@"
