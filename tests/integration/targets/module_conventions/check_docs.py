#!/usr/bin/env python
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What ansible-doc shows of the modules, doc fragments merged in: no internal option, and where the job dir comes from.

Reads ``ansible-doc --json MODULE...`` on stdin; exits 1 naming each miss.
"""

from __future__ import annotations

import json
import sys

MODULES = ['asyncops.jobs.run', 'asyncops.jobs.download', 'asyncops.jobs.async_status']


def misses(docs):
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


def main():
    found = misses(json.load(sys.stdin))
    for miss in found:
        print('FAIL: %s' % miss, file=sys.stderr)
    if found:
        sys.exit(1)
    print('OK: ansible-doc shows no internal option of %s' % ', '.join(MODULES))


if __name__ == '__main__':
    main()
