#!/usr/bin/env bash
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The conventions users bring from the built-ins (issue 14): a free-form run,
# strip_empty_ends, the module_defaults group, diff mode, and ansible-doc
# showing no internal option and documenting every key returned (returns.yml,
# check_docs.py). Each playbook's
# header says what it proves.
set -eux

inventory=${INVENTORY_PATH:-../../inventory}
work=$(mktemp -d "${OUTPUT_DIR:-/tmp}/conventions.XXXXXX")
trap 'rm -rf "$work"' EXIT
playbook() {
    ansible-playbook -i "$inventory" -e "work=$work" "$@"
}

python=$(command -v python || command -v python3)
ansible-doc --json asyncops.jobs.run asyncops.jobs.download asyncops.jobs.async_status >"$work/docs.json"
playbook returns.yml "$@"
"$python" check_docs.py "$work/docs.json" "$work/results.json"

playbook strip_empty_ends.yml "$@"
playbook module_defaults.yml "$@"
playbook diff.yml --diff "$@"
playbook diff.yml --check --diff "$@"

# free-form arguments of a collection module: ansible-core 2.19+ takes them from
# the action plugin's supports_raw_params; 2.17 and 2.18 refuse them when parsing
core_minor=$(ansible --version | sed -n '1s/.*core 2\.\([0-9]*\).*/\1/p')
if [ "${core_minor:-99}" -ge 19 ]; then
    playbook free_form.yml "$@"
else
    if playbook free_form.yml "$@" >"$work/free_form.log" 2>&1; then
        echo "FAIL: ansible-core 2.$core_minor ran a free-form asyncops.jobs.run; the docs say it refuses it" >&2
        exit 1
    fi
    if ! grep -q "has extra params" "$work/free_form.log"; then
        cat "$work/free_form.log" >&2
        echo "FAIL: not the parser's 'has extra params' error the docs name" >&2
        exit 1
    fi
    echo "OK: ansible-core 2.$core_minor refuses a free-form asyncops.jobs.run with 'has extra params', as documented"
fi
