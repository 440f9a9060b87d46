#!/usr/bin/env python
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What ansible-doc shows of the modules, doc fragments merged in, against what they are and return.

    check_docs.py DOCS_JSON [RESULTS_JSON]

DOCS_JSON is ``ansible-doc --json`` of the three modules. Checked: no internal option is shown, each
module says that ansible_async_dir sets the job dir, and (with RESULTS_JSON, a map of module name to the
results returns.yml registered) every key a result has at the top level and under ``asyncops`` is
documented in RETURN. A result of async_status about one job carries that job's own keys, so for it the
RETURN of the module that started the job counts too. Exits 1 naming each miss.
"""

from __future__ import annotations

import json
import sys

MODULES = ['asyncops.jobs.run', 'asyncops.jobs.download', 'asyncops.jobs.async_status']
LAUNCHERS = ['asyncops.jobs.run', 'asyncops.jobs.download']
# what ansible-core itself puts into a task's result
CORE_KEYS = {'changed', 'failed', 'invocation', 'attempts', 'warnings', 'deprecations', 'skipped', 'skip_reason',
             '_ansible_no_log', 'exception', 'diff'}


def doc_misses(docs):
    if sorted(docs) != sorted(MODULES):
        return ['ansible-doc documented %s, not %s' % (sorted(docs), MODULES)]
    found = []
    for name in MODULES:
        doc = docs[name]['doc']
        internal = [option for option in doc.get('options') or {} if option.startswith('_')]
        if internal:
            found.append('%s shows internal options %s' % (name, internal))
        # the async dir reaches the module in its environment (ANSIBLE_ASYNC_DIR), set by ansible_async_dir
        if 'ansible_async_dir' not in json.dumps(doc):
            found.append('%s does not say that ansible_async_dir sets the job dir' % name)
    return found


def documented(docs, name):
    """The top-level keys and the keys under asyncops that RETURN of module ``name`` documents."""
    returns = docs[name].get('return') or {}
    return set(returns), set((returns.get('asyncops') or {}).get('contains') or {})


def return_misses(docs, results):
    found = []
    for name in MODULES:
        top, block = documented(docs, name)
        if name == 'asyncops.jobs.async_status':
            for launcher in LAUNCHERS:
                launcher_top, launcher_block = documented(docs, launcher)
                top |= launcher_top
                block |= launcher_block
        for result in results.get(name) or []:
            for key in sorted(set(result) - top - CORE_KEYS):
                found.append('%s returns %s, which its RETURN does not document' % (name, key))
            for key in sorted(set(result.get('asyncops') or {}) - block):
                found.append('%s returns asyncops.%s, which its RETURN does not document' % (name, key))
        if not results.get(name):
            found.append('no result of %s to check' % name)
    return sorted(set(found))


def main():
    with open(sys.argv[1]) as stream:
        docs = json.load(stream)
    found = doc_misses(docs)
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as stream:
            found += return_misses(docs, json.load(stream))
    for miss in found:
        print('FAIL: %s' % miss, file=sys.stderr)
    if found:
        sys.exit(1)
    checked = ', and documents every key they returned' if len(sys.argv) > 2 else ''
    print('OK: ansible-doc shows no internal option of %s%s' % (', '.join(MODULES), checked))


if __name__ == '__main__':
    main()
