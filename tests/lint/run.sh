#!/usr/bin/env bash
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The lint test: ansible-lint's args rule must report a misspelled option on
# every module of the collection and must not report the same task spelled
# right (input: typos/typos.yml; its header says how tasks are named).
#
#   tests/lint/run.sh [PLAYBOOK]
#
# The collection is the one ANSIBLE_COLLECTIONS_PATH leads to (a dir holding
# ansible_collections/asyncops/jobs); unset, this tree is linked into a temp
# dir. ansible-lint is taken from PATH (or $ANSIBLE_LINT). Exits 0 when every
# "Typo" task is reported with its word and no "Twin" task is, 1 otherwise
# (each miss named), 2 when ansible-lint itself fails.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
playbook=$(realpath "${1:-$here/typos/typos.yml}")
lint=${ANSIBLE_LINT:-ansible-lint}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [[ -z ${ANSIBLE_COLLECTIONS_PATH:-} ]]; then
    mkdir -p "$tmp/collections/ansible_collections/asyncops"
    ln -s "$root" "$tmp/collections/ansible_collections/asyncops/jobs"
    export ANSIBLE_COLLECTIONS_PATH=$tmp/collections
fi
echo "linting $playbook with the collection of ANSIBLE_COLLECTIONS_PATH=$ANSIBLE_COLLECTIONS_PATH" >&2

# codeclimate JSON on stdout; exit 0 (only warnings: args is an experimental
# rule) or 2 (violations) are both results, anything else is a failure to run
rc=0
NO_COLOR=1 "$lint" -c "$here/ansible-lint.yml" --format=json "$playbook" >"$tmp/findings.json" 2>"$tmp/stderr" || rc=$?
if ((rc != 0 && rc != 2)); then
    cat "$tmp/stderr" >&2
    echo "FAIL: ansible-lint exited $rc" >&2
    exit 2
fi

python3 - "$playbook" "$tmp/findings.json" <<'PY'
import json
import re
import sys

playbook, findings_path = sys.argv[1:]
with open(playbook) as f:
    names = re.findall(r'^\s*- name: ((?:Typo|Twin) .*?)\s*$', f.read(), re.MULTILINE)
with open(findings_path) as f:
    findings = json.load(f)

# the codeclimate body of a task finding is "Task/Handler: <task name>"
by_task = {}
for finding in findings:
    task = finding.get('content', {}).get('body', '').partition('Task/Handler: ')[2]
    by_task.setdefault(task, []).append(finding)

problems = []
for finding in findings:
    # a module the linter could not resolve means it did not see the collection
    if finding['check_name'].startswith(('syntax-check', 'load-failure', 'internal-error')):
        problems.append('%s: %s' % (finding['check_name'], finding['description']))
for name in names:
    args = [f['description'] for f in by_task.get(name, []) if f['check_name'].startswith('args')]
    if name.startswith('Typo '):
        word = name.split()[1]
        if not any(word in message for message in args):
            problems.append('not reported by the args rule: %r (findings: %s)' % (name, args or 'none'))
        else:
            print('ok: %r reported: %s' % (name, args[0][:120]))
    elif args:
        problems.append('correct twin reported by the args rule: %r: %s' % (name, args))
    else:
        print('ok: %r not reported' % name)
if not any(n.startswith('Typo ') for n in names):
    problems.append('no "Typo" task in %s' % playbook)
for problem in problems:
    print('FAIL: ' + problem)
sys.exit(1 if problems else 0)
PY
